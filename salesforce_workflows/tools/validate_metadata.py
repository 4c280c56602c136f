"""Offline schema check for this project's Salesforce source-format metadata files.

Source: adapted from the team's offline check (validate_metadata_xsd.py, written with the
Salesforce reference samples), extended to CustomField and PermissionSet files and to a
check that each file's root element is the type its name promises.

The sf CLI validates nothing offline (malformed XML "converts"; docs/salesforce.md#metadata),
so this validates each file against the XSD embedded in the Metadata API WSDL that ships
inside the simple-salesforce wheel (``simple_salesforce/metadata.wsdl``; 1.12.10 carries
Metadata API 63.0). It catches malformed XML, unknown elements, elements out of order (the
XSD uses ``xsd:sequence``), bad enum values and missing required elements. It does not catch
org-level problems (unknown objects or fields, permissions the org cannot grant); elements
added after API 63.0 would be reported as unknown.

usage: python validate_metadata.py FILE [FILE ...]   (exit 1 on any failure)
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from lxml import etree

XSD = "http://www.w3.org/2001/XMLSchema"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
MD = "http://soap.sforce.com/2006/04/metadata"

# File name ending -> the root element (metadata type) such a file must hold.
ROOT_BY_SUFFIX = {
    ".field-meta.xml": "CustomField",
    ".permissionset-meta.xml": "PermissionSet",
    ".flow-meta.xml": "Flow",
    ".workflow-meta.xml": "Workflow",
    "package.xml": "Package",
}


def load_schema() -> etree.XMLSchema:
    wsdl_bytes = resources.files("simple_salesforce").joinpath("metadata.wsdl").read_bytes()
    doc = etree.fromstring(wsdl_bytes)
    schema_el = doc.find(f"{{{WSDL}}}types/{{{XSD}}}schema")
    if schema_el is None:
        raise RuntimeError("metadata.wsdl holds no schema")
    for name in ROOT_BY_SUFFIX.values():  # the WSDL declares the types, not elements for them
        if schema_el.find(f"{{{XSD}}}element[@name='{name}']") is None:
            element = etree.SubElement(schema_el, f"{{{XSD}}}element")
            element.set("name", name)
            element.set("type", "tns:" + name)
    raw = etree.tostring(schema_el).decode()
    head, rest = raw.split(">", 1)
    if "xmlns:tns=" not in head:
        head = head.replace("<xsd:schema ", f'<xsd:schema xmlns:tns="{MD}" ', 1)
    return etree.XMLSchema(etree.fromstring((head + ">" + rest).encode()))


def problems(schema: etree.XMLSchema, path: str) -> list[str]:
    """What is wrong with one file; empty when it is valid."""
    expected = next((root for suffix, root in ROOT_BY_SUFFIX.items() if path.endswith(suffix)), None)
    if expected is None:
        return [f"unknown metadata file name (known endings: {', '.join(ROOT_BY_SUFFIX)})"]
    try:
        doc = etree.parse(path)
    except etree.XMLSyntaxError as exc:
        return [f"malformed XML: {exc}"]
    root = doc.getroot()
    if root.tag != f"{{{MD}}}{expected}":
        return [f"root element is {root.tag}, expected {expected} in namespace {MD}"]
    if schema.validate(doc):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def main(paths: list[str]) -> int:
    schema = load_schema()
    failed = 0
    for path in paths:
        found = problems(schema, path)
        if found:
            failed += 1
            print(f"FAIL {path}")
            for problem in found:
                print(f"     {problem}")
        else:
            print(f"OK   {path}")
    return 1 if failed or not paths else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__.strip().splitlines()[-1])
    sys.exit(main([str(Path(p)) for p in sys.argv[1:]]))
