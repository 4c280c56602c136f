"""The emulated org as one object: its users, data, tokens, faults and outbound sender.

Every write to a Case — through REST or the test API — goes through
:meth:`SalesforceEmulator.update_case`, the one place that runs assignment rules and fires
the two record-triggered outbound messages (owner changed; closed), like the org's Flows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import httpx

from emulators.faults import Faults

from . import fields, ids
from . import rest_errors as err
from .config import CASE_CLOSED, OWNER_CHANGED, TRIGGERS, SalesforceEmulatorConfig
from .directory import Directory
from .outbound import OutboundSender
from .outbound_xml import render_notifications
from .query import Cursors
from .records import Record, Records
from .tokens import TokenStore


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SalesforceEmulator:
    """State behind the emulator app (``app.state.emulator``)."""

    def __init__(self, config: SalesforceEmulatorConfig, *, http: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self.ids = ids.IdFactory(config.id_seed)
        self.faults: Faults = config.faults
        self.directory = Directory(self.ids)
        self.tokens = TokenStore(config.org_id, config.token_lifetime)
        self.records = Records(self.ids)
        self.cursors = Cursors(lambda: self.ids.new(ids.QUERY_LOCATOR), config.query_batch_size)
        self.api_usage = 0
        # Tests may replace the clock to reproduce a sample's timestamps.
        self.clock: Callable[[], datetime] = _utcnow
        self.action_ids = {t: config.action_ids.get(t) or self.ids.new(ids.ACTION) for t in TRIGGERS}
        self.integration_user = self.directory.add_user(
            "Integration User", config.jwt_username, config.jwt_username, is_integration=True
        )
        self.admin_user = self.directory.add_user(
            "Emulator Admin", "admin@emulator.example.com", "admin@emulator.example.com"
        )
        self.support_queue = self.directory.add_queue("Support Queue", "Support_Queue")
        # Where assignment rules put a Case (Sforce-Auto-Assign TRUE).
        self.assignment_owner_id = self.support_queue.id
        self.outbound = OutboundSender(
            config.outbound,
            render=self.render_outbound,
            new_id=lambda: self.ids.new(ids.NOTIFICATION),
            faults=self.faults,
            http=http,
        )

    def now(self) -> datetime:
        """Record timestamps have whole seconds, like every real capture (``.000Z``; unverified).

        Seen in captures, not stated by Salesforce (docs/salesforce.md#outbound-envelope).
        """
        return self.clock().astimezone(UTC).replace(microsecond=0)

    @property
    def public_url(self) -> str:
        return (self.config.instance_url or "https://emulator.my.salesforce.com").rstrip("/")

    # ---- Case writes ------------------------------------------------------------------
    def create_case(self, body: Mapping[str, object], *, user_id: str, auto_assign: bool) -> Record:
        """Insert a Case. Flows fire on update only, so a create sends no outbound message."""
        values = fields.check_write("Case", fields.CASE, body)
        self._check_owner(values)
        self._check_unique(values, None)
        owner = self.assignment_owner_id if auto_assign else str(values.get("OwnerId") or user_id)
        return self.records.new_case(values, owner_id=owner, user_id=user_id, now=self.now())

    def update_case(
        self, case_id: str, body: Mapping[str, object], *, user_id: str, auto_assign: bool
    ) -> Record:
        """Update a Case; assignment rules may change the owner.

        As Salesforce's do on REST writes (docs/salesforce.md#case-create-and-update).
        """
        case = self.records.case(case_id)
        if case is None:
            raise err.not_found()
        values = fields.check_write("Case", fields.CASE, body)
        self._check_owner(values)
        self._check_unique(values, case["Id"])
        if auto_assign:
            # Unverified: we let the rule win over an OwnerId in the same request.
            values["OwnerId"] = self.assignment_owner_id
        owner_before, closed_before = case["OwnerId"], bool(case["IsClosed"])
        self.records.update_case(case, values, user_id=user_id, now=self.now())
        if case["OwnerId"] != owner_before:
            self.outbound.enqueue(OWNER_CHANGED, case["Id"])
        if case["IsClosed"] and not closed_before:
            self.outbound.enqueue(CASE_CLOSED, case["Id"])
        return case

    def upsert_case(
        self, field_name: str, value: str, body: Mapping[str, object], *, user_id: str, auto_assign: bool
    ) -> tuple[Record, bool]:
        """Insert or update the Case whose external id ``field_name`` is ``value``; ``(case, created)``.

        As Salesforce's upsert (docs/salesforce.md#upsert-by-external-id): no match inserts
        (assignment rules as on create), one match updates (assignment rules as on any REST
        update: ``Sforce-Auto-Assign`` TRUE or absent reassigns, as the header is documented
        for updated Cases), several matches answer 300 and write nothing.
        """
        found = fields.lookup(fields.CASE, field_name)
        if found is None:
            raise err.not_found()
        name, spec = found
        if not spec.external_id:
            raise err.not_external_id(name, "Case")
        if any(key.lower() == name.lower() for key in body):
            raise err.external_id_in_body(name)
        matches = [c for c in self.records.cases.values() if fields.same_value(spec, c.get(name), value)]
        if len(matches) > 1:
            raise err.MultipleMatches("Case", [c["Id"] for c in matches])
        if matches:
            return self.update_case(matches[0]["Id"], body, user_id=user_id, auto_assign=auto_assign), False
        return self.create_case({**body, name: value}, user_id=user_id, auto_assign=auto_assign), True

    def change_owner(self, case_id: str, owner_id: str, *, by: str | None = None) -> Record:
        """An agent or admin reassigns the Case in the UI (no assignment rules)."""
        return self.update_case(
            case_id, {"OwnerId": owner_id}, user_id=by or self.admin_user.id, auto_assign=False
        )

    def close_case(self, case_id: str, *, status: str = "Closed", by: str | None = None) -> Record:
        return self.update_case(
            case_id, {"Status": status}, user_id=by or self.admin_user.id, auto_assign=False
        )

    def _check_owner(self, values: Mapping[str, object]) -> None:
        if "OwnerId" in values and not self.directory.is_owner(str(values["OwnerId"])):
            raise err.bad_reference("OwnerId")

    def _check_unique(self, values: Mapping[str, object], case_id: str | None) -> None:
        """A unique field's value may be held by one Case only (compared as the field compares)."""
        for name, value in values.items():
            spec = fields.CASE[name]
            if not spec.unique or value is None:
                continue
            for other in self.records.cases.values():
                if other["Id"] != case_id and fields.same_value(spec, other.get(name), value):
                    raise err.duplicate_value(name, other["Id"])

    # ---- Outbound ---------------------------------------------------------------------
    def render_outbound(self, trigger: str, items: list[tuple[str, str]]) -> bytes:
        """Build the envelope at send time from the records' current state."""
        org15 = self.config.org_id[:15]
        version = self.config.outbound_api_version
        return render_notifications(
            org_id=self.config.org_id,
            action_id=self.action_ids[trigger],
            enterprise_url=f"{self.public_url}/services/Soap/c/{version}/{org15}",
            partner_url=f"{self.public_url}/services/Soap/u/{version}/{org15}",
            # A record deleted before sending: "the notification contains no data" (its shape
            # is unverified, docs/salesforce.md#outbound-delivery); we send the Id alone (no
            # delete endpoint exists here, so this is theoretical).
            notifications=[(nid, self.records.cases.get(rid) or {"Id": rid}) for nid, rid in items],
            fields=self.config.outbound_fields.get(trigger, ()),
        )
