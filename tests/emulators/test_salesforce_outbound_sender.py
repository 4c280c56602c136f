"""The emulator's Outbound Messages behave like Salesforce's (docs/salesforce.md, Outbound Messages).

Envelopes match the synthetic Case samples element for element; only a SOAP ``Ack`` true
stops redelivery; batches hold at most 100 notifications; duplicates, reordering, delays and
drops happen on demand; records are rendered with their data at send time.
"""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime
from pathlib import Path

import anyio
import pytest
from lxml import etree

from emulators.salesforce import CASE_CLOSED, OWNER_CHANGED, SalesforceEmulatorConfig
from emulators.salesforce.ids import is_valid
from emulators.salesforce.org import SalesforceEmulator
from emulators.salesforce.outbound_xml import is_ack
from tests.support.salesforce import Listener, emulator_app, fixture_bytes, outbound_schema

pytestmark = pytest.mark.anyio

OUT = "http://soap.sforce.com/2005/09/outbound"
SF = "urn:sobject.enterprise.soap.sforce.com"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SAMPLE_FIELDS = (
    "CaseNumber",
    "ClosedDate",
    "ContactId",
    "CreatedDate",
    "Description",
    "IsClosed",
    "LastModifiedById",
    "LastModifiedDate",
    "Origin",
    "OwnerId",
    "Priority",
    "Status",
    "Subject",
    "SuppliedEmail",
    "SuppliedName",
    "SuppliedPhone",
)
AGENT = "005xx000001AgNtAAK"
AGENT_2 = "005xx000001AgNuAAK"
INTEGRATION = "005xx000001IntUAAS"
QUEUE = "00Gxx000000ImQuEAK"


def fast_config(**outbound: object) -> SalesforceEmulatorConfig:
    config = SalesforceEmulatorConfig()
    config.outbound.url = "http://gateway.test"
    config.outbound.backoff_base = 0.01
    config.outbound.backoff_cap = 0.05
    for name, value in outbound.items():
        setattr(config.outbound, name, value)
    return config


def sample_config() -> SalesforceEmulatorConfig:
    """The org the synthetic samples come from."""
    config = fast_config()
    config.org_id = "00Dxx0000001gPFEAY"
    config.instance_url = "https://example-dev-ed.my.salesforce.com"
    config.action_ids = {OWNER_CHANGED: "04kxx00000IMownAAD", CASE_CLOSED: "04kxx00000IMclsAAD"}
    config.outbound_fields = dict.fromkeys((OWNER_CHANGED, CASE_CLOSED), SAMPLE_FIELDS)
    return config


def sample_people(emulator: SalesforceEmulator) -> None:
    directory = emulator.directory
    directory.add_user("Agent One", "agent1@example.com", "agent1@example.com", user_id=AGENT)
    directory.add_user("Agent Two", "agent2@example.com", "agent2@example.com", user_id=AGENT_2)
    directory.add_user("Integration", "int@example.com", "int@example.com", user_id=INTEGRATION)
    directory.add_queue("Chat Queue", "Chat_Queue", queue_id=QUEUE)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def seed_case_500xx000004CaSe(emulator: SalesforceEmulator, **changes: object) -> None:
    emulator.records.seed_case(
        {
            "Id": "500xx000004CaSeAAK",
            "CaseNumber": "00001026",
            "ContactId": "003xx000004TmiQAAS",
            "CreatedDate": at("2026-11-20T08:15:02"),
            "IsClosed": False,
            "LastModifiedById": INTEGRATION,
            "LastModifiedDate": at("2026-11-20T08:15:02"),
            "Origin": "Chat",
            "OwnerId": QUEUE,
            "Priority": "Medium",
            "Status": "Working",
            "Subject": "Refund request for order 8841",
            "SuppliedEmail": "li.wei@example.com",
            "SuppliedName": "Li Wei",
            **changes,
        }
    )


def canonical(element: etree._Element, skip_notification_ids: bool) -> object:
    """Tag, namespace map, attributes (xsi:type resolved to a QName), leaf text, children."""
    attrs: dict[str, str] = {}
    for name, raw in element.attrib.items():
        value = raw if isinstance(raw, str) else raw.decode()
        if name == f"{{{XSI}}}type":
            prefix, _, local = value.partition(":")
            value = f"{{{element.nsmap[prefix]}}}{local}"
        attrs[str(name)] = value
    children = [c for c in element if isinstance(c.tag, str)]
    text = None if children else (element.text or "")
    if skip_notification_ids and element.tag == f"{{{OUT}}}Id":
        text = "<notification id>"
    return (
        element.tag,
        dict(element.nsmap),
        attrs,
        text,
        [canonical(c, skip_notification_ids) for c in children],
    )


def assert_same_envelope(emitted: bytes, sample: bytes) -> None:
    ours = etree.fromstring(emitted)
    theirs = etree.fromstring(sample)
    for notification_id in ours.iterfind(f".//{{{OUT}}}Notification/{{{OUT}}}Id"):
        assert is_valid(notification_id.text)
        assert (notification_id.text or "").startswith("04l")
    assert canonical(ours, True) == canonical(theirs, True)


def notifications(body: bytes) -> list[tuple[str, dict[str, str]]]:
    root = etree.fromstring(body)
    found = []
    for item in root.iterfind(f".//{{{OUT}}}Notification"):
        sobject = item.find(f"{{{OUT}}}sObject")
        assert sobject is not None
        values = {etree.QName(f).localname: f.text or "" for f in sobject}
        found.append((item.findtext(f"{{{OUT}}}Id") or "", values))
    return found


# ---- ACK recognition --------------------------------------------------------------------
@pytest.mark.parametrize("name", ["ack-true-asplabs.xml", "ack-true-prefixed-jeffdonthemic.xml"])
def test_ack_samples_count_as_delivered(name: str) -> None:
    assert is_ack(200, fixture_bytes(name))


@pytest.mark.parametrize(
    ("status", "name"),
    [(200, "ack-false-jeffdonthemic.xml"), (400, "soap-fault-asplabs.xml"), (200, "soap-fault-asplabs.xml")],
)
def test_ack_false_and_fault_samples_are_failed_deliveries(status: int, name: str) -> None:
    assert not is_ack(status, fixture_bytes(name))


def test_a_true_ack_with_a_non_2xx_status_or_a_plain_200_is_not_an_ack() -> None:
    assert not is_ack(500, fixture_bytes("ack-true-asplabs.xml"))
    assert not is_ack(200, b'{"status": "OK"}')
    assert not is_ack(200, b"")


# ---- envelopes against the samples --------------------------------------------------------
async def test_owner_change_envelope_matches_the_single_owner_changed_sample() -> None:
    listener = Listener()
    _, emulator = emulator_app(sample_config(), http=listener.client())
    sample_people(emulator)
    seed_case_500xx000004CaSe(emulator)
    emulator.clock = lambda: at("2026-11-24T09:30:11")

    emulator.change_owner("500xx000004CaSeAAK", AGENT, by=INTEGRATION)
    await emulator.outbound.drain(5)

    assert len(listener.received) == 1
    assert_same_envelope(listener.received[0].body, fixture_bytes("synthetic-case-owner-changed-single.xml"))


async def test_two_owner_changes_in_one_post_match_the_batch_sample_with_nulls_omitted() -> None:
    listener = Listener()
    _, emulator = emulator_app(sample_config(), http=listener.client())
    sample_people(emulator)
    common = {"IsClosed": False, "Origin": "Chat", "Status": "New", "OwnerId": INTEGRATION}
    emulator.records.seed_case(
        common
        | {
            "Id": "500xx000004CaSfAAK",
            "CaseNumber": "00001027",
            "CreatedDate": at("2026-11-24T09:29:58"),
            "Priority": "High",
            "Subject": "订单未到 & 需要帮助 <urgent>",
        }
    )
    emulator.records.seed_case(
        common
        | {
            "Id": "500xx000004CaSgAAK",
            "CaseNumber": "00001028",
            "CreatedDate": at("2026-11-24T09:30:05"),
            "Priority": "Medium",
        }
    )
    emulator.clock = lambda: at("2026-11-24T09:31:40")
    emulator.outbound.pause()

    emulator.change_owner("500xx000004CaSfAAK", QUEUE, by=INTEGRATION)
    emulator.change_owner("500xx000004CaSgAAK", AGENT_2, by=INTEGRATION)
    emulator.outbound.resume()
    await emulator.outbound.drain(5)

    assert len(listener.received) == 1
    sample = fixture_bytes("synthetic-case-owner-changed-batch-queue-user-nulls.xml")
    assert_same_envelope(listener.received[0].body, sample)


async def test_closing_envelope_matches_the_case_closed_sample() -> None:
    listener = Listener()
    _, emulator = emulator_app(sample_config(), http=listener.client())
    sample_people(emulator)
    seed_case_500xx000004CaSe(emulator, OwnerId=AGENT, SuppliedEmail=None, SuppliedName=None)
    emulator.clock = lambda: at("2026-11-24T10:02:47")

    emulator.close_case("500xx000004CaSeAAK", by=AGENT)
    await emulator.outbound.drain(5)

    assert [r.path for r in listener.received] == ["/salesforce/outbound/case-closed"]
    assert_same_envelope(listener.received[0].body, fixture_bytes("synthetic-case-closed.xml"))


async def test_emitted_envelopes_validate_against_the_case_outbound_wsdl(tmp_path: Path) -> None:
    listener = Listener()
    _, emulator = emulator_app(sample_config(), http=listener.client())
    sample_people(emulator)
    seed_case_500xx000004CaSe(emulator)
    emulator.change_owner("500xx000004CaSeAAK", AGENT)
    emulator.close_case("500xx000004CaSeAAK")
    await emulator.outbound.drain(5)

    schema = outbound_schema(tmp_path)
    assert len(listener.received) == 2
    for received in listener.received:
        node = etree.fromstring(received.body).find(f".//{{{OUT}}}notifications")
        assert node is not None
        assert schema.validate(etree.ElementTree(node)), schema.error_log


# ---- delivery semantics ----------------------------------------------------------------
async def test_nacked_message_is_redelivered_until_acknowledged_then_stops() -> None:
    listener = Listener(script=[(200, fixture_bytes("ack-false-jeffdonthemic.xml")), (500, b"oops")])
    _, emulator = emulator_app(fast_config(), http=listener.client())
    case = emulator.create_case({"Subject": "s"}, user_id=emulator.integration_user.id, auto_assign=True)

    emulator.change_owner(case["Id"], emulator.admin_user.id)
    await emulator.outbound.drain(5)
    await _settle()

    assert len(listener.received) == 3
    assert len({n[0][0] for n in map(notifications, (r.body for r in listener.received))}) == 1
    assert [(d.status, d.acked) for d in emulator.outbound.log] == [(200, False), (500, False), (200, True)]


async def test_soap_fault_answer_is_retried() -> None:
    listener = Listener(script=[(400, fixture_bytes("soap-fault-asplabs.xml"))])
    _, emulator = emulator_app(fast_config(), http=listener.client())
    case = emulator.create_case({}, user_id=emulator.integration_user.id, auto_assign=True)

    emulator.close_case(case["Id"])
    await emulator.outbound.drain(5)

    assert [(d.status, d.acked) for d in emulator.outbound.log] == [(400, False), (200, True)]


async def test_notification_is_given_up_after_max_age() -> None:
    listener = Listener(script=[(500, b"down")] * 1000)
    _, emulator = emulator_app(fast_config(max_age=0.08), http=listener.client())
    case = emulator.create_case({}, user_id=emulator.integration_user.id, auto_assign=True)

    notification_id = emulator.outbound.enqueue(CASE_CLOSED, case["Id"])
    await emulator.outbound.drain(5)

    assert emulator.outbound.given_up == [notification_id]
    assert emulator.outbound.delivered == []
    assert len(listener.received) >= 2


async def test_backoff_grows_exponentially_up_to_the_cap() -> None:
    listener = Listener(script=[(500, b"down")] * 4)
    _, emulator = emulator_app(fast_config(backoff_base=0.05, backoff_cap=0.15), http=listener.client())
    case = emulator.create_case({}, user_id=emulator.integration_user.id, auto_assign=True)

    emulator.outbound.enqueue(CASE_CLOSED, case["Id"])
    await emulator.outbound.drain(5)

    stamps = [datetime.fromisoformat(d.at).timestamp() for d in emulator.outbound.log]
    gaps = [later - earlier for earlier, later in itertools.pairwise(stamps)]
    assert len(gaps) == 4
    assert 0.045 <= gaps[0] < 0.095  # base
    assert 0.095 <= gaps[1] < 0.145  # 2 x base
    assert 0.145 <= gaps[2] < 0.195  # 4 x base would be 0.2: capped at 0.15
    assert 0.145 <= gaps[3] < 0.3  # 8 x base would be 0.4


async def test_up_to_100_notifications_share_one_post_per_endpoint() -> None:
    listener = Listener()
    _, emulator = emulator_app(fast_config(paused=True), http=listener.client())
    user = emulator.integration_user.id
    for _ in range(250):
        case = emulator.create_case({}, user_id=user, auto_assign=True)
        emulator.change_owner(case["Id"], user)
    emulator.outbound.resume()
    await emulator.outbound.drain(5)

    sizes = sorted(len(notifications(r.body)) for r in listener.received)
    assert sizes == [50, 100, 100]
    assert len(emulator.outbound.delivered) == 250


async def test_triggers_go_to_their_own_endpoint_with_the_secret_and_soap_headers() -> None:
    listener = Listener()
    _, emulator = emulator_app(fast_config(secret="s3cr/t", paused=True), http=listener.client())
    case = emulator.create_case({}, user_id=emulator.integration_user.id, auto_assign=True)
    emulator.change_owner(case["Id"], emulator.admin_user.id)
    emulator.close_case(case["Id"])
    emulator.outbound.resume()
    await emulator.outbound.drain(5)

    assert sorted(r.path for r in listener.received) == [
        "/salesforce/outbound/case-closed",
        "/salesforce/outbound/case-owner-changed",
    ]
    for received in listener.received:
        assert received.query == "token=s3cr%2Ft"
        assert received.headers["content-type"] == "text/xml; charset=utf-8"
        assert received.headers["soapaction"] == '""'
    assert all("s3cr" not in d.url for d in emulator.outbound.log)


async def test_duplicate_knob_delivers_each_notification_more_than_once() -> None:
    listener = Listener()
    _, emulator = emulator_app(fast_config(duplicate=2), http=listener.client())
    case = emulator.create_case({}, user_id=emulator.integration_user.id, auto_assign=True)

    emulator.close_case(case["Id"])
    await emulator.outbound.drain(5)

    ids = [notifications(r.body)[0][0] for r in listener.received]
    assert len(ids) == 2
    assert ids[0] == ids[1]


async def test_reorder_knob_delivers_notifications_out_of_queue_order() -> None:
    listener = Listener()
    _, emulator = emulator_app(fast_config(reorder=True, paused=True, seed=7), http=listener.client())
    user = emulator.integration_user.id
    queued: list[str] = []
    for _ in range(20):
        case = emulator.create_case({}, user_id=user, auto_assign=True)
        notification_id = emulator.outbound.enqueue(CASE_CLOSED, case["Id"])
        assert notification_id is not None
        queued.append(notification_id)
    emulator.outbound.resume()
    await emulator.outbound.drain(5)

    delivered = [nid for r in listener.received for nid, _ in notifications(r.body)]
    assert sorted(delivered) == sorted(queued)
    assert delivered != queued


async def test_delay_knob_postpones_the_first_attempt() -> None:
    listener = Listener()
    _, emulator = emulator_app(fast_config(delay=0.15), http=listener.client())
    case = emulator.create_case({}, user_id=emulator.integration_user.id, auto_assign=True)
    started = time.monotonic()

    emulator.close_case(case["Id"])
    await emulator.outbound.drain(5)

    assert time.monotonic() - started >= 0.15
    assert len(listener.received) == 1


async def test_dropped_deliveries_are_retried_like_lost_requests() -> None:
    listener = Listener()
    _, emulator = emulator_app(fast_config(), http=listener.client())
    emulator.faults.drop_ratio = 1.0
    case = emulator.create_case({}, user_id=emulator.integration_user.id, auto_assign=True)

    emulator.close_case(case["Id"])
    await _settle(0.05)
    emulator.faults.drop_ratio = 0.0
    await emulator.outbound.drain(5)

    assert emulator.outbound.log[0].error == "dropped"
    assert len(listener.received) == 1
    assert emulator.outbound.log[-1].acked


async def test_an_attempt_that_exceeds_the_timeout_fails_and_is_retried() -> None:
    listener = Listener(slow_first=1.0)
    _, emulator = emulator_app(fast_config(attempt_timeout=0.05), http=listener.client())
    case = emulator.create_case({}, user_id=emulator.integration_user.id, auto_assign=True)

    emulator.close_case(case["Id"])
    await emulator.outbound.drain(5)

    assert [d.error for d in emulator.outbound.log] == ["timeout", None]
    assert len(listener.received) == 2


async def test_notifications_carry_the_record_as_it_is_when_sent() -> None:
    listener = Listener()
    _, emulator = emulator_app(fast_config(paused=True), http=listener.client())
    user = emulator.integration_user.id
    case = emulator.create_case({"Subject": "old"}, user_id=user, auto_assign=True)
    emulator.change_owner(case["Id"], emulator.admin_user.id)
    emulator.change_owner(case["Id"], user)
    emulator.update_case(case["Id"], {"Subject": "new"}, user_id=user, auto_assign=False)

    emulator.outbound.resume()
    await emulator.outbound.drain(5)

    sent = notifications(listener.received[0].body)
    assert len(sent) == 2
    assert {values["OwnerId"] for _, values in sent} == {user}
    assert {values["Subject"] for _, values in sent} == {"new"}


async def test_without_an_outbound_url_nothing_is_queued() -> None:
    _, emulator = emulator_app(SalesforceEmulatorConfig())
    case = emulator.create_case({}, user_id=emulator.integration_user.id, auto_assign=True)

    emulator.close_case(case["Id"])

    assert emulator.outbound.pending() == []
    await emulator.outbound.drain(1)


async def _settle(seconds: float = 0.03) -> None:
    await anyio.sleep(seconds)
