"""Salesforce REST error bodies: a JSON array of ``{message, errorCode, fields}``.

Every failure the emulator reports goes through :class:`ApiError`, so the shape stays the one
of the REST bodies in ``tests/fixtures/salesforce/`` (and ``fields`` is left out where the real
service leaves it out, e.g. INVALID_SESSION_ID and INVALID_FIELD; docs/salesforce.md#rest-errors).
"""

from __future__ import annotations

from starlette.responses import JSONResponse

# errorCode -> (HTTP status, message) for errors the emulator raises by fault injection.
# Unverified: UNABLE_TO_LOCK_ROW's HTTP status is not documented (docs/salesforce.md#rest-errors);
# a DML error on a single-record REST call comes back as 400, so that is what we send.
FAULT_ERRORS: dict[str, tuple[int, str]] = {
    "REQUEST_LIMIT_EXCEEDED": (403, "TotalRequests Limit exceeded."),
    "UNABLE_TO_LOCK_ROW": (400, "unable to obtain exclusive access to this record or 1 records"),
    "UNKNOWN_EXCEPTION": (
        500,
        "An unexpected error occurred. Please include this ErrorId if you contact support: "
        "1234567890-12345 (-1234567890)",
    ),
    # Unverified: the body of a 503 from Salesforce is not captured; this follows the REST shape.
    "SERVER_UNAVAILABLE": (503, "Server is unavailable"),
    "INVALID_SESSION_ID": (401, "Session expired or invalid"),
    "INSUFFICIENT_ACCESS": (403, "insufficient access rights on object id"),
}


class ApiError(Exception):
    """One REST error; rendered as ``[{"message", "errorCode"[, "fields"]}]``."""

    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        body: dict[str, object] = {"message": self.message, "errorCode": self.code}
        if self.fields is not None:
            body["fields"] = self.fields
        return JSONResponse([body], status_code=self.status, headers=headers)


def invalid_session() -> ApiError:
    """401 for a missing, unknown or expired bearer token (no ``fields`` key, like the sample)."""
    return ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")


def not_found(message: str = "The requested resource does not exist") -> ApiError:
    return ApiError(404, "NOT_FOUND", message)


# Automation that fails inside a write reports its own errorCode, with the cause only in the
# message, as in the DLRS issue (SFDO-Community/declarative-lookup-rollup-summaries#1241).
# "OUTER>CAUSE" injects one: e.g. "CANNOT_EXECUTE_FLOW_TRIGGER>UNABLE_TO_LOCK_ROW".
WRAPPED_MESSAGES: dict[str, str] = {
    "CANNOT_EXECUTE_FLOW_TRIGGER": (
        "We can't save this record because the \u201cCase_Owner_Changed\u201d process failed. Give your "
        "Salesforce admin these details. This error occurred when the flow tried to update "
        "records: {cause}: {detail}. You can look up ExceptionCode values in the SOAP API "
        "Developer Guide. Error ID: 1234567890-12345 (-1234567890)"
    ),
    "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY": (
        "CaseTrigger: execution of AfterUpdate caused by: System.DmlException: Update failed. "
        "First exception on row 0 with id 500000000000001AAA; first error: {cause}, {detail}: []"
    ),
}


def fault(code: str) -> ApiError:
    """The error an injected fault code stands for; unknown codes become 400s."""
    outer, _, cause = code.partition(">")
    if cause:
        detail = FAULT_ERRORS.get(cause, (400, cause.replace("_", " ").lower()))[1]
        template = WRAPPED_MESSAGES.get(outer, "{cause}: {detail}")
        return ApiError(400, outer, template.format(cause=cause, detail=detail), [])
    status, message = FAULT_ERRORS.get(code, (400, code.replace("_", " ").lower()))
    fields: list[str] | None = None if status in (401, 403, 500, 503) else []
    return ApiError(status, code, message, fields)


def read_only(field: str) -> ApiError:
    return ApiError(
        400,
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        f"Unable to create/update fields: {field}. Please check the security settings of this "
        "field and verify that it is read/write for your profile or permission set.",
        [field],
    )


def no_such_field(field: str, sobject: str) -> ApiError:
    return ApiError(400, "INVALID_FIELD", f"No such column '{field}' on sobject of type {sobject}")


def required_missing(fields: list[str]) -> ApiError:
    return ApiError(
        400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(fields)}]", fields
    )


def too_long(field: str, label: str, value: str, limit: int) -> ApiError:
    shown = value if len(value) <= 40 else value[:40] + "..."
    return ApiError(
        400, "STRING_TOO_LONG", f"{label}: data value too large: {shown} (max length={limit})", [field]
    )


def bad_picklist(field: str, value: object) -> ApiError:
    return ApiError(
        400,
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        f"{field}: bad value for restricted picklist field: {value}",
        [field],
    )


def malformed_id(field: str, label: str, value: object) -> ApiError:
    return ApiError(400, "MALFORMED_ID", f"{label}: id value of incorrect type: {value}", [field])


def bad_reference(field: str) -> ApiError:
    return ApiError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [field])


def duplicate_value(field: str, record_id: str) -> ApiError:
    """A unique field's value already held by another record (shape of a peer capture, unverified)."""
    return ApiError(
        400,
        "DUPLICATE_VALUE",
        f"duplicate value found: {field} duplicates value on record with id: {record_id}",
        [],
    )


def not_external_id(field: str, sobject: str) -> ApiError:
    """Upsert on a field that exists but is not an External ID (message seen in peers, unverified)."""
    return ApiError(
        400,
        "INVALID_FIELD",
        f"Field name provided, {field} is not an External ID or indexed field for {sobject}",
    )


def external_id_in_body(field: str) -> ApiError:
    """The upsert's external id field repeated in the body: documented as an error; its code
    and message are unverified (docs/salesforce.md#upsert-by-external-id)."""
    return ApiError(
        400,
        "INVALID_FIELD",
        f"The external ID field {field} is given in the URL; it must not be in the request body",
        [field],
    )


class MultipleMatches(ApiError):
    """HTTP 300: an upsert's external id matched several records; nothing was written.

    The documented body is "a list of the records that matched"; its exact shape is
    unverified, we send their REST URLs (docs/salesforce.md#upsert-by-external-id).
    """

    def __init__(self, sobject: str, record_ids: list[str]) -> None:
        super().__init__(300, "MULTIPLE_CHOICES", "external ID matches more than one record")
        self.sobject = sobject
        self.record_ids = record_ids
        self.version = "v65.0"  # the REST handler sets the request's version

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        base = f"/services/data/{self.version}/sobjects/{self.sobject}"
        return JSONResponse([f"{base}/{i}" for i in self.record_ids], status_code=300, headers=headers)
