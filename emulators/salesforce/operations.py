"""The names of the Salesforce emulator's operations, for the per-operation fault knobs.

``Faults.forced_errors_for`` and ``Faults.lose_answers`` (:mod:`emulators.faults`) are keyed
by these names:

- ``Case.create`` — ``POST …/sobjects/Case``
- ``Case.upsert`` — ``PATCH …/sobjects/Case/{externalIdField}/{value}``
- ``Case.update`` — ``PATCH …/sobjects/Case/{id}``
- ``Case.get`` — ``GET …/sobjects/Case/{id}``
- ``CaseComment.create``, ``CaseComment.get`` — ``POST …/sobjects/CaseComment``, ``GET …/{id}``
- ``ContentVersion.create``, ``ContentVersion.get`` — the same for files
- ``User.get`` — ``GET …/sobjects/User/{id}``
- ``query`` — ``GET …/query?q=…`` and every further page ``GET …/query/{locator}-{offset}``
- ``token`` — ``POST /services/oauth2/token``

The global knobs (``forced_errors``, ``error_ratio``, ``latency``) act on the REST calls only,
as before; the token endpoint is reached only by its own ``forced_errors_for["token"]``
queue (an OAuth ``error`` such as ``invalid_grant``, answered 400, or ``http:503`` for a bare
status) and ``lose_answers["token"]``.
"""

from __future__ import annotations

TOKEN = "token"  # noqa: S105 (an operation name, not a secret)
QUERY = "query"

OPERATIONS = frozenset(
    {
        "Case.create",
        "Case.upsert",
        "Case.update",
        "Case.get",
        "CaseComment.create",
        "CaseComment.get",
        "ContentVersion.create",
        "ContentVersion.get",
        "User.get",
        QUERY,
        TOKEN,
    }
)
