"""Configuration of the Salesforce emulator: which org it pretends to be, and its knobs.

Kept apart from the app so the CLI (``tim-gateway emulate salesforce``) and tests build the
same object: the CLI from the environment, tests directly with the fields they care about.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from emulators.faults import Faults

from . import ids
from .operations import OPERATIONS

OWNER_CHANGED = "case-owner-changed"
CASE_CLOSED = "case-closed"
TRIGGERS = (OWNER_CHANGED, CASE_CLOSED)
MAX_QUERY_BATCH = 2000  # records per query page (docs/salesforce.md#soql-query)

# The fields our outbound messages send by default (Id always first, then alphabetical;
# docs/salesforce.md#outbound-envelope). Tests that compare against the fixture envelopes in
# tests/fixtures/salesforce/ configure those envelopes' list.
DEFAULT_OUTBOUND_FIELDS = (
    "CaseNumber",
    "ClosedDate",
    "IsClosed",
    "LastModifiedDate",
    "OwnerId",
    "Status",
    "Subject",
)


@dataclass
class OutboundSettings:
    """How the background sender delivers outbound messages (docs/salesforce.md#outbound-delivery).

    The defaults are Salesforce's: 60 s per attempt, exponential backoff capped at 2 h, and
    messages dropped after 24 h (the 30 s first interval is unverified). Tests shrink
    ``backoff_base``/``max_age`` to milliseconds.
    ``duplicate`` POSTs every batch that many times; ``reorder`` shuffles notifications
    before batching; ``delay`` postpones each first attempt; ``paused`` holds everything
    queued (so a test can make several changes land in one batch).
    """

    url: str | None = None
    secret: str | None = None
    batch_size: int = 100
    duplicate: int = 1
    reorder: bool = False
    delay: float = 0.0
    paused: bool = False
    backoff_base: float = 30.0
    backoff_cap: float = 7200.0
    max_age: float = 86400.0
    attempt_timeout: float = 60.0
    seed: int = 0


@dataclass
class SalesforceEmulatorConfig:
    """The emulated org.

    ``jwt_public_key_pem`` holds a PEM certificate or public key that verifies JWT bearer
    assertions; without it the JWT flow answers ``invalid_grant``. ``instance_url`` is the
    org's public My Domain URL, used in token answers and outbound message URLs; when unset,
    token answers use the URL the request came in on. ``faults`` are the emulator's live fault
    knobs (:mod:`emulators.faults`; operation names in :mod:`.operations`). A query answers
    at most ``query_batch_size`` records per page (Salesforce's 2,000, docs/salesforce.md#soql-query);
    tests lower it to page through a few records.
    """

    client_id: str = "emulator-client-id"
    # A well-known development secret, like the client id; real ones come from the env.
    client_secret: str | None = "emulator-client-secret"  # noqa: S105
    org_id: str = field(default_factory=ids.random_org_id)
    jwt_username: str = "integration.user@example.com"
    jwt_public_key_pem: str | None = None
    instance_url: str | None = None
    token_lifetime: float = 7200.0
    daily_api_limit: int = 100_000
    outbound_api_version: str = "65.0"
    outbound_fields: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: dict.fromkeys(TRIGGERS, DEFAULT_OUTBOUND_FIELDS)
    )
    action_ids: dict[str, str] = field(default_factory=dict)
    outbound: OutboundSettings = field(default_factory=OutboundSettings)
    id_seed: int | None = None
    faults: Faults = field(default_factory=Faults)
    query_batch_size: int = MAX_QUERY_BATCH

    def __post_init__(self) -> None:
        self.org_id = ids.to18(self.org_id)
        if not self.org_id.startswith(ids.ORGANIZATION):
            raise ValueError("SF_ORG_ID must start with 00D")
        if not 1 <= self.query_batch_size <= MAX_QUERY_BATCH:
            raise ValueError(f"query_batch_size must be 1 to {MAX_QUERY_BATCH}")
        self.faults.check(OPERATIONS)

    @classmethod
    def from_env(cls, environ: Mapping[str, str], outbound_url: str | None) -> SalesforceEmulatorConfig:
        """Build the config the way ``tim-gateway emulate salesforce`` does.

        Reads ``SF_CLIENT_ID``, ``SF_CLIENT_SECRET``, ``SF_ORG_ID`` (a fresh valid 00D… id
        when absent), ``SF_JWT_USERNAME``, ``SF_JWT_CERT_FILE`` (emulator-only: the public
        certificate matching the gateway's ``SF_JWT_PRIVATE_KEY_FILE``),
        ``SF_OUTBOUND_SECRET`` and, optionally, ``SF_INSTANCE_URL``.
        """
        config = cls()
        if value := environ.get("SF_CLIENT_ID"):
            config.client_id = value
        if value := environ.get("SF_CLIENT_SECRET"):
            config.client_secret = value
        if value := environ.get("SF_ORG_ID"):
            config.org_id = value
            config.__post_init__()
        if value := environ.get("SF_JWT_USERNAME"):
            config.jwt_username = value
        if value := environ.get("SF_JWT_CERT_FILE"):
            config.jwt_public_key_pem = Path(value).read_text(encoding="ascii")
        if value := environ.get("SF_INSTANCE_URL"):
            config.instance_url = value.rstrip("/")
        config.outbound.url = outbound_url
        config.outbound.secret = environ.get("SF_OUTBOUND_SECRET") or None
        return config
