"""Field rules for the sObjects the gateway writes: what may be set, how long, which values.

Salesforce rejects bad writes with specific errorCodes (docs/salesforce.md#rest-errors); the gateway maps
those to permanent failures, so the emulator must produce them for the same inputs:
read-only fields, unknown fields, restricted picklists, string lengths, malformed ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from . import ids
from . import rest_errors as err


@dataclass(frozen=True)
class Field:
    """One field's rules, for writes and for SOQL.

    ``external_id``/``unique``/``case_sensitive`` are the custom-field attributes of those
    names. ``queryable`` False keeps a write-only field out of SOQL; ``filterable`` False keeps
    a long text area or base64 field out of WHERE and ORDER BY (unverified for
    Case.Description, whose reference lists no Filter property in our copy).
    """

    label: str
    kind: str  # string | picklist | reference | boolean | datetime | id | base64 | int
    writable: bool = True
    max_bytes: int | None = None  # limit in UTF-8 bytes (CaseComment.CommentBody)
    max_chars: int | None = None
    values: tuple[str, ...] = ()  # restricted picklist values
    prefixes: tuple[str, ...] = ()  # reference key prefixes
    external_id: bool = False
    unique: bool = False
    case_sensitive: bool = False
    queryable: bool = True
    filterable: bool = True


TICKET_ID = "IM_Ticket_Id__c"
TICKET_ID_LENGTH = 64
CASE_STATUSES = ("New", "Working", "Escalated", "Closed")
CLOSED_STATUSES = frozenset({"Closed"})

CASE: dict[str, Field] = {
    "Id": Field("Case ID", "id", writable=False),
    "CaseNumber": Field("Case Number", "string", writable=False),
    "IsClosed": Field("Closed", "boolean", writable=False),
    "ClosedDate": Field("Closed Date", "datetime", writable=False),
    "CreatedDate": Field("Created Date", "datetime", writable=False),
    "CreatedById": Field("Created By ID", "reference", writable=False),
    "LastModifiedDate": Field("Last Modified Date", "datetime", writable=False),
    "LastModifiedById": Field("Last Modified By ID", "reference", writable=False),
    "SystemModstamp": Field("System Modstamp", "datetime", writable=False),
    "IsDeleted": Field("Deleted", "boolean", writable=False),
    "Subject": Field("Subject", "string", max_chars=255),
    "Description": Field("Description", "string", max_chars=32000, filterable=False),
    "SuppliedName": Field("Web Name", "string", max_chars=80),
    "SuppliedEmail": Field("Web Email", "string", max_chars=80),
    "SuppliedPhone": Field("Web Phone", "string", max_chars=40),
    "SuppliedCompany": Field("Web Company", "string", max_chars=80),
    # Origin values are set per org (unverified which orgs restrict them,
    # docs/salesforce.md#case-create-and-update); we model an unrestricted picklist (any value).
    "Origin": Field("Case Origin", "string", max_chars=255),
    "Type": Field("Case Type", "string", max_chars=255),
    "Reason": Field("Case Reason", "string", max_chars=255),
    "Status": Field("Status", "picklist", values=CASE_STATUSES),
    "Priority": Field("Priority", "picklist", values=("High", "Medium", "Low")),
    "OwnerId": Field("Owner ID", "reference", prefixes=(ids.USER, ids.QUEUE)),
    "ContactId": Field("Contact ID", "reference", prefixes=(ids.CONTACT,)),
    "AccountId": Field("Account ID", "reference", prefixes=(ids.ACCOUNT,)),
    "ParentId": Field("Parent Case ID", "reference", prefixes=(ids.CASE,)),
    "Comments": Field("Internal Comments", "string", max_bytes=4000, queryable=False),  # write-only helper
    # The gateway's ticket key, as salesforce_workflows/ deploys it: Text(64), External ID,
    # Unique, case-insensitive: a UUID's hex digits "are case insensitive on input" (RFC 4122
    # section 3, now RFC 9562), so "ABC…" and "abc…" are one ticket and can never be two Cases.
    TICKET_ID: Field("IM Ticket ID", "string", max_chars=TICKET_ID_LENGTH, external_id=True, unique=True),
}

CASE_COMMENT: dict[str, Field] = {
    "Id": Field("Case Comment ID", "id", writable=False),
    "ParentId": Field("Parent ID", "reference", prefixes=(ids.CASE,)),
    "CommentBody": Field("Body", "string", max_bytes=4000),
    "IsPublished": Field("Published", "boolean"),
    "IsNotificationSelected": Field("Notification Selected", "boolean"),
    "CreatedDate": Field("Created Date", "datetime", writable=False),
    "CreatedById": Field("Created By ID", "reference", writable=False),
}

CONTENT_VERSION: dict[str, Field] = {
    "Id": Field("Content Version ID", "id", writable=False),
    "Title": Field("Title", "string", max_chars=255),
    "PathOnClient": Field("Path On Client", "string", max_chars=500),
    "VersionData": Field("Version Data", "base64", filterable=False),
    "Description": Field("Description", "string", max_chars=1000),
    "FirstPublishLocationId": Field("First Publish Location ID", "reference", prefixes=(ids.CASE, ids.USER)),
    "ContentDocumentId": Field("Content Document ID", "reference", writable=False),
    "ContentSize": Field("Size", "int", writable=False),
    "CreatedDate": Field("Created Date", "datetime", writable=False),
    "CreatedById": Field("Created By ID", "reference", writable=False),
}

# Users are read-only here (the directory owns them); the fields of User.record().
USER: dict[str, Field] = {
    "Id": Field("User ID", "id", writable=False),
    "Username": Field("Username", "string", writable=False),
    "Name": Field("Full Name", "string", writable=False),
    "FirstName": Field("First Name", "string", writable=False),
    "LastName": Field("Last Name", "string", writable=False),
    "Email": Field("Email", "string", writable=False),
    "IsActive": Field("Active", "boolean", writable=False),
    "FederationIdentifier": Field("SAML Federation ID", "string", writable=False),
}

SPECS: dict[str, dict[str, Field]] = {
    "Case": CASE,
    "CaseComment": CASE_COMMENT,
    "ContentVersion": CONTENT_VERSION,
    "User": USER,
}


def lookup(spec: Mapping[str, Field], name: str) -> tuple[str, Field] | None:
    """``(API name, Field)`` for ``name`` in any letter case (API names are case-insensitive)."""
    lowered = name.lower()
    return next(((key, f) for key, f in spec.items() if key.lower() == lowered), None)


def same_value(field: Field, a: object, b: object) -> bool:
    """Whether two values of ``field`` are equal, as Salesforce compares them.

    Strings compare case-insensitively unless the field is unique and case-sensitive
    (docs/salesforce.md#soql-query); ids on their 18-character form.
    """
    if isinstance(a, str) and isinstance(b, str):
        if field.kind in ("id", "reference"):
            return _id18(a) == _id18(b)
        if not (field.unique and field.case_sensitive):
            return a.casefold() == b.casefold()
    return a == b


def _id18(value: str) -> str:
    try:
        return ids.to18(value)
    except ValueError:
        return value


def check_write(sobject: str, spec: Mapping[str, Field], body: Mapping[str, object]) -> dict[str, object]:
    """Validate one create/update body against ``spec``; the first problem raises ApiError."""
    clean: dict[str, object] = {}
    for name, value in body.items():
        if name == "attributes":
            continue
        field = spec.get(name)
        if field is None:
            raise err.no_such_field(name, sobject)
        if not field.writable:
            raise err.read_only(name)
        clean[name] = _check_value(name, field, value)
    return clean


def _check_value(name: str, field: Field, value: object) -> object:
    if value is None:
        if field.kind == "picklist":
            raise err.bad_picklist(name, value)
        return None
    if field.kind == "boolean":
        if not isinstance(value, bool):
            raise err.ApiError(
                400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of boolean from {value!r}"
            )
        return value
    if not isinstance(value, str):
        raise err.ApiError(400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of string for {name}")
    if field.kind == "picklist" and value not in field.values:
        raise err.bad_picklist(name, value)
    if field.kind == "reference":
        try:
            full = ids.to18(value)
        except ValueError:
            raise err.malformed_id(name, field.label, value) from None
        if field.prefixes and not full.startswith(field.prefixes):
            raise err.malformed_id(name, field.label, value)
        return full
    if field.max_chars is not None and len(value) > field.max_chars:
        raise err.too_long(name, field.label, value, field.max_chars)
    if field.max_bytes is not None and len(value.encode("utf-8")) > field.max_bytes:
        raise err.too_long(name, field.label, value, field.max_bytes)
    return value


def to_json(value: object) -> object:
    """REST JSON rendering: datetimes as ``2026-11-24T10:02:47.000+0000``."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"
    return value
