"""``tim-gateway events …`` and ``migrate``: what an operator types, what they see, what it exits with."""

from __future__ import annotations

import asyncio
import json

import pytest

from gateway import cli
from gateway.store import Store, database, open_store
from tests.support.environment import free_port


@pytest.fixture
def seeded(database_url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """An inbox with one dead and one done event; DATABASE_URL points the CLI at it."""
    monkeypatch.setenv("DATABASE_URL", database_url)

    async def seed() -> tuple[int, int]:
        store = open_store(database_url)
        try:
            await store.migrate()
            return await _one_dead_and_one_done(store)
        finally:
            await store.aclose()

    return asyncio.run(seed())


async def _one_dead_and_one_done(store: Store) -> tuple[int, int]:
    dead = await store.inbox.enqueue("salesforce", "04l1", "case.owner_changed", "500A", {"owner": "005B"})
    done = await store.inbox.enqueue("tencent", "g:1", "im.message", "500C", {})
    claimed = {event.id: event for event in await store.inbox.claim("w", 10, lease_seconds=30)}
    await store.inbox.dead_letter(claimed[dead.id], "w", 0.0, "Tencent 10010: group dismissed", blocks=False)
    await store.inbox.complete(claimed[done.id], "w", 0.0)
    return dead.id, done.id


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    return code, capsys.readouterr().out


def test_list_filters_by_state_and_shows_the_error(
    seeded: tuple[int, int], capsys: pytest.CaptureFixture[str]
) -> None:
    dead_id, _ = seeded
    code, out = _run(capsys, "events", "list", "--state", "dead")
    assert code == 0
    [header, row] = out.strip().splitlines()
    assert header.split()[:3] == ["ID", "STATE", "TRIES"]
    assert row.split()[:4] == [str(dead_id), "dead", "1", "case.owner_changed"]
    assert "Tencent 10010: group dismissed" in row


def test_list_filters_by_conversation_and_speaks_json(
    seeded: tuple[int, int], capsys: pytest.CaptureFixture[str]
) -> None:
    _, done_id = seeded
    code, out = _run(capsys, "events", "list", "--conversation", "500C", "--json")
    assert code == 0
    assert [event["id"] for event in json.loads(out)] == [done_id]


def test_show_prints_payload_and_attempts_and_missing_ids_exit_1(
    seeded: tuple[int, int], capsys: pytest.CaptureFixture[str]
) -> None:
    dead_id, _ = seeded
    code, out = _run(capsys, "events", "show", str(dead_id))
    assert code == 0
    assert '"owner": "005B"' in out and "#1 dead" in out and "dedupe key    04l1" in out
    assert _run(capsys, "events", "show", "999999") == (1, "no event with id 999999\n")


def test_retry_brings_a_dead_event_back_and_refuses_one_that_is_not_dead(
    seeded: tuple[int, int], capsys: pytest.CaptureFixture[str]
) -> None:
    dead_id, done_id = seeded
    assert _run(capsys, "events", "retry", str(dead_id)) == (0, f"event {dead_id} back to pending\n")
    code, _ = _run(capsys, "events", "retry", str(done_id))
    assert code == 1
    _, out = _run(capsys, "events", "list", "--state", "pending", "--json")
    assert [event["id"] for event in json.loads(out)] == [dead_id]


def test_retry_all_dead_reports_how_many(seeded: tuple[int, int], capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "events", "retry", "--all-dead") == (0, "1 dead event(s) back to pending\n")
    assert _run(capsys, "events", "retry", "--all-dead") == (1, "0 dead event(s) back to pending\n")


def test_drop_gives_up_on_a_dead_event_for_good(
    seeded: tuple[int, int], capsys: pytest.CaptureFixture[str]
) -> None:
    dead_id, _ = seeded
    code, out = _run(capsys, "events", "drop", str(dead_id))
    assert code == 0 and "dropped" in out
    _, listing = _run(capsys, "events", "list", "--json")
    assert {event["id"]: event["state"] for event in json.loads(listing)}[dead_id] == "done"
    assert _run(capsys, "events", "drop", str(dead_id))[0] == 1


def test_migrate_applies_then_reports_up_to_date(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert _run(capsys, "migrate") == (0, "applied 0001 inbox\n")
    assert _run(capsys, "migrate") == (0, "schema is up to date\n")


def test_events_refuse_to_touch_a_store_that_is_not_migrated(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert cli.main(["events", "list"]) == 2
    assert "run `tim-gateway migrate` first" in capsys.readouterr().err
    assert cli.main(["migrate"]) == 0  # and nothing was created behind the operator's back
    assert capsys.readouterr().out == "applied 0001 inbox\n"


def test_prune_refuses_a_window_shorter_than_salesforces_redelivery(
    seeded: tuple[int, int], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _run(capsys, "events", "prune", "--older-than-days", "1")
    assert code == 2 and "refusing to prune" in out
    assert _run(capsys, "events", "prune") == (0, "0 finished event(s) older than 14 days pruned\n")


@pytest.mark.parametrize("argv", [["migrate"], ["events", "list"]], ids=["migrate", "events-list"])
def test_an_unreachable_store_ends_in_one_line_and_its_password_never_shows(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # An invalid %-escape makes libpq quote the password in every connection error it reports.
    monkeypatch.setenv("DATABASE_URL", f"postgresql://gw:hunter%zz22secret@127.0.0.1:{free_port()}/gw")
    monkeypatch.setattr(database, "POOL_TIMEOUT_SECONDS", 1.0)
    code = cli.main(argv)
    captured = capsys.readouterr()
    assert code == 2
    assert "zz22secret" not in captured.out + captured.err
    logged = [json.loads(line) for line in captured.err.splitlines() if line.startswith("{")]
    assert any("[redacted]" in entry["message"] for entry in logged if entry["logger"] == "psycopg.pool")
    [final] = [line for line in captured.err.splitlines() if not line.startswith("{")]
    assert "store is unreachable" in final


@pytest.mark.parametrize("days", ["0", "nan", "inf"])
def test_prune_refuses_a_window_of_zero_or_not_a_number_and_deletes_nothing(
    days: str, seeded: tuple[int, int], capsys: pytest.CaptureFixture[str]
) -> None:
    _, done_id = seeded
    code, out = _run(capsys, "events", "prune", "--older-than-days", days)
    assert code == 2 and out.startswith("refusing to prune")
    _, listing = _run(capsys, "events", "list", "--state", "done", "--json")
    assert [event["id"] for event in json.loads(listing)] == [done_id]
