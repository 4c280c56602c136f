"""``tim-gateway``: the one command operators and deploy files use.

Thin on purpose: each verb parses its arguments, loads the settings it needs, and calls one
function elsewhere. argparse (standard library) is enough for a handful of verbs and keeps the
dependency list short.

Exit codes: 0 success; 1 the verb ran but found nothing to act on (no such event, demo failed);
2 usage or configuration error (the message says which variable).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from gateway import observability, operator_cli, settings
from gateway.errors import ConfigurationError
from gateway.store import Store, StoreUnavailable, open_store

T = TypeVar("T")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tim-gateway", description=__doc__.splitlines()[0])
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    verbs.add_parser("serve", help="run the HTTP app and the embedded worker")
    verbs.add_parser("worker", help="run workers alone (several replicas share one PostgreSQL)")
    verbs.add_parser("migrate", help="apply pending schema migrations and exit")

    config = verbs.add_parser("config", help="inspect configuration")
    config_verbs = config.add_subparsers(dest="config_verb", required=True, metavar="ACTION")
    config_verbs.add_parser("check", help="validate the environment; print it with secrets masked")

    events = verbs.add_parser("events", help="inspect, retry or drop inbox events")
    event_verbs = events.add_subparsers(dest="events_verb", required=True, metavar="ACTION")
    listing = event_verbs.add_parser("list", help="list events")
    listing.add_argument("--state", choices=["pending", "running", "done", "dead"])
    listing.add_argument("--conversation", metavar="KEY")
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument("--json", action="store_true")
    show = event_verbs.add_parser("show", help="show one event with its attempts")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")
    retry = event_verbs.add_parser("retry", help="send dead events back to pending")
    target = retry.add_mutually_exclusive_group(required=True)
    target.add_argument("id", type=int, nargs="?")
    target.add_argument("--all-dead", action="store_true")
    drop = event_verbs.add_parser("drop", help="give up on a pending or dead event")
    drop.add_argument("id", type=int)
    prune = event_verbs.add_parser("prune", help="delete finished events older than the retention window")
    prune.add_argument("--older-than-days", type=float, help="default: GATEWAY_RETENTION_DAYS (14)")

    emulate = verbs.add_parser("emulate", help="run a Tencent IM or Salesforce emulator on loopback")
    emulate.add_argument("service", choices=["tencent", "salesforce"])
    emulate.add_argument("--port", type=int, required=True)
    emulate.add_argument("--host", default="127.0.0.1")
    emulate.add_argument("--callback-url", help="tencent: where third-party callbacks go")
    emulate.add_argument("--outbound-url", help="salesforce: the gateway's base URL for Outbound Messages")

    demo = verbs.add_parser("demo", help="play a whole support conversation on the emulators")
    demo.add_argument("--keep-running", action="store_true", help="leave everything up and print the URLs")
    demo.add_argument("--database-url", help="store for the demo's gateway (default: SQLite in a temp dir)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except ConfigurationError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    if args.verb == "serve":
        from gateway import runtime

        full = _configured(settings.Settings)
        runtime.serve(full)
        return 0
    if args.verb == "worker":
        from gateway import runtime

        runtime.work(_configured(settings.Settings))
        return 0
    if args.verb == "migrate":
        return _with_store(_configured(settings.StoreSettings), _migrate)
    if args.verb == "config":
        return _config_check()
    if args.verb == "events":
        return _events(args)
    if args.verb == "emulate":
        from emulators import serve as emulator_serve

        return emulator_serve.run(
            args.service,
            host=args.host,
            port=args.port,
            callback_url=args.callback_url,
            outbound_url=args.outbound_url,
        )
    if args.verb == "demo":
        from gateway import demo

        return demo.run(keep_running=args.keep_running, database_url=args.database_url)
    raise AssertionError(f"unhandled verb {args.verb}")


SettingsT = TypeVar("SettingsT", bound=settings.StoreSettings)


def _configured(kind: type[SettingsT]) -> SettingsT:
    """Load settings and set up logging with the secrets the redactor must scrub."""
    loaded = settings.load(kind)
    observability.configure_logging(loaded.log_level, loaded.secret_values())
    return loaded


def _config_check() -> int:
    from gateway import runtime

    try:
        loaded = settings.load(settings.Settings)
        # Import the plugins as serve would: "configuration OK" must mean serve gets past them.
        runtime.load_handler_plugins(loaded.gateway_handler_plugins)
    except ConfigurationError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    width = max(len(name) for name, _ in settings.describe_effective(loaded))
    for name, value in settings.describe_effective(loaded):
        print(f"{name:<{width}}  {value}")
    print("configuration OK")
    return 0


def _with_store(loaded: settings.StoreSettings, action: Callable[[Store], Awaitable[int]]) -> int:
    """Run ``action`` on the configured store; an unreachable store ends in one line, exit 2.

    Exit 2, as ``events …`` already answers a store it cannot use: the operator's next step is
    to check DATABASE_URL or the database, not to read a traceback. The driver's message may
    quote the URL's password, so it is scrubbed like a log line, and folded onto one line.
    """

    async def run() -> int:
        store = open_store(loaded.database_url, pool_size=2)
        try:
            return await action(store)
        finally:
            await store.aclose()

    try:
        return asyncio.run(run())
    except StoreUnavailable as exc:
        reason = " ".join(observability.RedactSecrets(loaded.secret_values()).scrub(str(exc)).split())
        print(f"the store is unreachable ({reason}); check DATABASE_URL and the database", file=sys.stderr)
        return 2


async def _migrate(store: Store) -> int:
    applied = await store.migrate()
    if applied:
        for migration in applied:
            print(f"applied {migration.version:04d} {migration.name}")
    else:
        print("schema is up to date")
    return 0


def _events(args: argparse.Namespace) -> int:
    loaded = _configured(settings.StoreSettings)

    async def action(store: Store) -> int:
        if not await store.is_ready():  # an operator's command never changes the schema
            print(
                "the store is unreachable or not migrated; run `tim-gateway migrate` first", file=sys.stderr
            )
            return 2
        if args.events_verb == "list":
            return await operator_cli.list_events(
                store,
                print,
                state=args.state,
                conversation=args.conversation,
                limit=args.limit,
                as_json=args.json,
            )
        if args.events_verb == "show":
            return await operator_cli.show_event(store, print, args.id, as_json=args.json)
        if args.events_verb == "retry":
            return await operator_cli.retry(store, print, args.id, all_dead=args.all_dead)
        if args.events_verb == "prune":
            # "is None", not "or": --older-than-days 0 must reach the floor check and be refused.
            days = loaded.gateway_retention_days if args.older_than_days is None else args.older_than_days
            return await operator_cli.prune(store, print, days)
        return await operator_cli.drop(store, print, args.id)

    return _with_store(loaded, action)


if __name__ == "__main__":
    sys.exit(main())
