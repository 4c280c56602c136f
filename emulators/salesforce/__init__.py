"""A Salesforce org in a box: OAuth, REST for Cases, and Outbound Messages, as an ASGI app.

Public entry points (the ``tim-gateway emulate salesforce`` verb wires these)::

    SalesforceEmulatorConfig.from_env(environ: Mapping[str, str], outbound_url: str | None)
        -> SalesforceEmulatorConfig
        # reads SF_CLIENT_ID, SF_CLIENT_SECRET, SF_ORG_ID (fresh 00D… id when absent),
        # SF_JWT_USERNAME, SF_JWT_CERT_FILE (emulator-only public certificate/key for JWT
        # bearer), SF_OUTBOUND_SECRET, optional SF_INSTANCE_URL
    create_app(config: SalesforceEmulatorConfig, *, http: httpx.AsyncClient | None = None)
        -> starlette.applications.Starlette
        # app.state.emulator is the SalesforceEmulator (tests: await emulator.outbound.drain())

Outbound messages go to ``{outbound_url}/salesforce/outbound/{trigger}`` (``?token=`` the
``SF_OUTBOUND_SECRET`` when set) for the triggers ``case-owner-changed`` and ``case-closed``.
The org is seeded with an integration user (username ``SF_JWT_USERNAME``; the Run-As user of
client credentials) and a "Support Queue" that assignment rules give new Cases to.

Endpoints: ``POST /services/oauth2/token``, ``GET /services/oauth2/userinfo``,
``/services/data/vXX.X/sobjects/{Case,CaseComment,ContentVersion,User}[/{id}]``,
``PATCH /services/data/vXX.X/sobjects/Case/IM_Ticket_Id__c/{value}`` (upsert),
``GET /services/data/vXX.X/query?q=`` (the SOQL subset of :mod:`.soql`, paged), and the JSON
test API under ``/_emulator`` (see :mod:`.control`; fault knobs per operation in
:mod:`.operations`). Nothing here imports :mod:`gateway`.
"""

from .app import create_app
from .config import CASE_CLOSED, OWNER_CHANGED, OutboundSettings, SalesforceEmulatorConfig
from .org import SalesforceEmulator

__all__ = [
    "CASE_CLOSED",
    "OWNER_CHANGED",
    "OutboundSettings",
    "SalesforceEmulator",
    "SalesforceEmulatorConfig",
    "create_app",
]
