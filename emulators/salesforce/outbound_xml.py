"""The SOAP documents of an outbound message: the notifications envelope and the ACK check.

Written to match the real captures element for element (docs/salesforce.md#outbound-envelope): default
namespace on ``notifications``, ``sf:`` prefix declared on each ``sObject`` with
``xsi:type="sf:Case"``, ``Id`` first then the selected fields alphabetically, null fields
omitted, ``<SessionId xsi:nil="true"/>`` (session ids are gone since Feb 2026).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from lxml import etree

SOAPENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSD = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
OUTBOUND = "http://soap.sforce.com/2005/09/outbound"
SOBJECT = "urn:sobject.enterprise.soap.sforce.com"


def format_value(value: object) -> str:
    """Enterprise-WSDL text: dateTime ``...T10:02:47.000Z``, booleans lower-case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def render_notifications(
    *,
    org_id: str,
    action_id: str,
    enterprise_url: str,
    partner_url: str,
    notifications: Sequence[tuple[str, Mapping[str, object]]],
    fields: Sequence[str],
    sobject: str = "Case",
) -> bytes:
    """One POST body carrying ``(notification id, record)`` pairs (at most 100)."""
    if not 1 <= len(notifications) <= 100:
        raise ValueError("an outbound message carries 1..100 notifications")
    envelope = etree.Element(f"{{{SOAPENV}}}Envelope", nsmap={"soapenv": SOAPENV, "xsd": XSD, "xsi": XSI})
    body = etree.SubElement(envelope, f"{{{SOAPENV}}}Body")
    # lxml-stubs type nsmap keys as str, but None is lxml's key for a default namespace.
    root = etree.SubElement(body, f"{{{OUTBOUND}}}notifications", nsmap={None: OUTBOUND})  # type: ignore[dict-item]  # lxml-stubs reject the None (default namespace) key lxml accepts
    etree.SubElement(root, f"{{{OUTBOUND}}}OrganizationId").text = org_id
    etree.SubElement(root, f"{{{OUTBOUND}}}ActionId").text = action_id
    etree.SubElement(root, f"{{{OUTBOUND}}}SessionId").set(f"{{{XSI}}}nil", "true")
    etree.SubElement(root, f"{{{OUTBOUND}}}EnterpriseUrl").text = enterprise_url
    etree.SubElement(root, f"{{{OUTBOUND}}}PartnerUrl").text = partner_url
    selected = sorted(name for name in set(fields) if name != "Id")
    for notification_id, record in notifications:
        item = etree.SubElement(root, f"{{{OUTBOUND}}}Notification")
        etree.SubElement(item, f"{{{OUTBOUND}}}Id").text = notification_id
        sobj = etree.SubElement(item, f"{{{OUTBOUND}}}sObject", nsmap={"sf": SOBJECT})
        sobj.set(f"{{{XSI}}}type", f"sf:{sobject}")
        etree.SubElement(sobj, f"{{{SOBJECT}}}Id").text = str(record["Id"])
        for name in selected:
            value = record.get(name)
            if value is None:
                continue  # nulls are omitted, not xsi:nil (real captures)
            etree.SubElement(sobj, f"{{{SOBJECT}}}{name}").text = format_value(value)
    etree.indent(envelope, space=" ")
    # Salesforce writes the declaration with double quotes; lxml would use single ones.
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(envelope, encoding="UTF-8")


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def is_ack(status: int, body: bytes) -> bool:
    """Whether a listener's answer stops redelivery (docs/salesforce.md#outbound-acknowledgement).

    Only a 2xx whose SOAP body holds ``notificationsResponse/Ack`` = true counts; Ack false,
    a SOAP Fault, another status, or an unparseable body are all failed deliveries.
    """
    if not 200 <= status < 300:
        return False
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError:
        return False
    if root.tag != f"{{{SOAPENV}}}Envelope":
        return False
    ack = root.find(f"{{{SOAPENV}}}Body/{{{OUTBOUND}}}notificationsResponse/{{{OUTBOUND}}}Ack")
    return ack is not None and (ack.text or "").strip() in ("true", "1")
