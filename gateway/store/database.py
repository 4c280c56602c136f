"""Connections to SQLite or PostgreSQL behind one small, synchronous-in-a-thread interface.

Why synchronous drivers run on threads, rather than two async drivers: sqlite3 and psycopg 3
both speak the DB-API, so every store operation is written once, as a plain function over a
:class:`Transaction`, and runs unchanged on both stores. The event loop hands that function to
a thread that owns a connection, so a slow query never blocks HTTP handling.

SQLite gets exactly one connection and one thread: SQLite allows one writer at a time anyway,
and serialising in-process avoids ``database is locked`` between our own threads (WAL mode
still lets the CLI read from another process). PostgreSQL gets a psycopg pool and as many
threads as pooled connections.
"""

from __future__ import annotations

import asyncio
import operator
import re
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from gateway.store import queries
from gateway.store.checkpointer import BACKSTOP_PAGES, WalCheckpointer
from gateway.store.queries import Dialect

T = TypeVar("T")

# How long a PostgreSQL statement waits for a pooled connection before the store is declared
# unavailable (StoreUnavailable); the pool keeps reconnecting in the background meanwhile.
POOL_TIMEOUT_SECONDS = 15.0
Row = dict[str, Any]


class StoreUnavailable(Exception):
    """The database cannot be reached or refused the operation for reasons outside our control."""


class Transaction:
    """One open transaction; statements are named entries of ``queries.sql``."""

    def __init__(self, cursor: Any, statements: Mapping[str, str], dialect: Dialect) -> None:
        self._cursor = cursor
        self._statements = statements
        self.dialect = dialect

    def execute(self, statement: str, /, **params: Any) -> int:
        """Run a statement that returns no rows; return how many rows it changed."""
        self._cursor.execute(self._statements[statement], params)
        return int(self._cursor.rowcount)

    def fetchone(self, statement: str, /, **params: Any) -> Row | None:
        self._cursor.execute(self._statements[statement], params)
        row = self._cursor.fetchone()
        return None if row is None else dict(row)

    def fetchall(self, statement: str, /, **params: Any) -> list[Row]:
        self._cursor.execute(self._statements[statement], params)
        return [dict(row) for row in self._cursor.fetchall()]

    def fetchall_batch(
        self, statement: str, row_statement: str, rows: Sequence[Mapping[str, Any]], /
    ) -> list[tuple[Any, ...]]:
        """Run ``statement`` with its ``{rows}`` standing for ``row_statement`` once per row.

        One statement for many rows costs a fraction of one statement per row, and this is
        the hottest path of the gateway (every webhook), so the expanded statement takes
        positional parameters, compiled once per row count, and rows come back as tuples
        in the order of the statement's ``RETURNING`` list (``bench/ingest.py`` measures it).
        """
        self._execute_expanded(statement, row_statement, rows)
        # sqlite3.Row iterates over values; psycopg's dict rows over keys.
        if self.dialect == "postgresql":
            return [tuple(row.values()) for row in self._cursor.fetchall()]
        return [tuple(row) for row in self._cursor.fetchall()]

    def insert_batch(
        self, statement: str, row_statement: str, rows: Sequence[Mapping[str, Any]], /
    ) -> tuple[int, int]:
        """:meth:`fetchall_batch` for an ``INSERT`` without ``RETURNING``, on SQLite only.

        Returns how many rows it inserted and the rowid of the last of them (meaningless when
        none was). Reading rows back costs SQLite a step per row, and Python a release and
        retake of the GIL per step, which the event loop thread is often waiting for; what that
        cost on the webhook path is in ``bench/NOTES.md``.
        """
        if self.dialect != "sqlite":
            raise NotImplementedError("only SQLite reports the last rowid of a multi-row INSERT")
        self._execute_expanded(statement, row_statement, rows)
        return int(self._cursor.rowcount), int(self._cursor.lastrowid or 0)

    def _execute_expanded(
        self, statement: str, row_statement: str, rows: Sequence[Mapping[str, Any]]
    ) -> None:
        sql, take = _expand(
            self._statements[statement], self._statements[row_statement], len(rows), self.dialect
        )
        params: list[Any] = []
        for row in rows:
            params.extend(take(row))
        self._cursor.execute(sql, params)

    def execute_sql(self, sql: str) -> None:
        """Raw SQL without parameters: migrations only."""
        self._cursor.execute(sql)


class Database(ABC):
    """Where the gateway's durable state lives."""

    dialect: Dialect

    def __init__(self, threads: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"store-{self.dialect}")
        self._statements = queries.load(self.dialect)

    async def run(self, work: Callable[[Transaction], T]) -> T:
        """Run ``work`` inside one transaction on a store thread: all of it commits, or none."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._run_in_thread, work)

    @abstractmethod
    def _run_in_thread(self, work: Callable[[Transaction], T]) -> T: ...

    @abstractmethod
    def _close_in_thread(self) -> None: ...

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close_in_thread)
        self._executor.shutdown(wait=False)  # idle by now; never block the event loop on it


class SQLiteDatabase(Database):
    dialect: Dialect = "sqlite"

    def __init__(self, path: str, *, checkpoint_in_background: bool = False) -> None:
        super().__init__(threads=1)
        self.path = path
        self._checkpoint_in_background = checkpoint_in_background
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._checkpointer: WalCheckpointer | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            connection.row_factory = sqlite3.Row
            # WAL: readers (the CLI, /readyz) never block the writer. NORMAL sync: a commit
            # survives a process crash; only an OS crash can lose the last transactions.
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA foreign_keys=ON")
            connection.execute("PRAGMA busy_timeout=30000")
            # A multi-row INSERT keeps a statement journal (to undo itself alone if a row fails)
            # and spills it to a temporary *file* past 64 KiB unless temporary storage is in
            # memory, and that file's I/O slowed every batch's INSERT (bench/NOTES.md). In
            # memory it holds one batch's pages, a few MB.
            connection.execute("PRAGMA temp_store=MEMORY")
            # Only a long-running process starts the checkpointer thread; a short one (the CLI)
            # keeps SQLite's own checkpoints, which cost it nothing it would notice.
            if self._checkpoint_in_background and self.path != ":memory:":
                connection.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
                self._checkpointer = WalCheckpointer(self.path)
                self._checkpointer.start()
            self._connection = connection
        return self._connection

    def _run_in_thread(self, work: Callable[[Transaction], T]) -> T:
        with self._lock:
            try:
                connection = self._connect()
                # IMMEDIATE takes the write lock up front, so two processes sharing the file
                # (serve + an operator's CLI) queue on busy_timeout instead of deadlocking.
                connection.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StoreUnavailable(f"sqlite: {exc}") from exc
            try:
                result = work(Transaction(connection.cursor(), self._statements, self.dialect))
                connection.execute("COMMIT")
            except BaseException as exc:
                if connection.in_transaction:  # SQLite may already have rolled back by itself
                    connection.execute("ROLLBACK")
                if isinstance(exc, sqlite3.OperationalError):  # locked, disk full, I/O error
                    raise StoreUnavailable(f"sqlite: {exc}") from exc
                raise
            return result

    def _close_in_thread(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class PostgresDatabase(Database):
    dialect: Dialect = "postgresql"

    def __init__(self, url: str, pool_size: int = 10) -> None:
        super().__init__(threads=pool_size)
        from psycopg_pool import ConnectionPool

        # check: a connection broken by a server restart is replaced, not handed out.
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            open=False,
            timeout=POOL_TIMEOUT_SECONDS,
            check=ConnectionPool.check_connection,
        )
        self._opened = False
        self._open_lock = threading.Lock()

    def _ensure_open(self) -> None:
        with self._open_lock:
            if not self._opened:
                # wait=False: a server that is down at start-up is retried in the background
                # (a pool whose first open timed out could never be opened again).
                self._pool.open(wait=False)
                self._opened = True

    def _run_in_thread(self, work: Callable[[Transaction], T]) -> T:
        import psycopg
        from psycopg.rows import dict_row
        from psycopg_pool import PoolTimeout

        try:
            self._ensure_open()
            with self._pool.connection() as connection, connection.cursor(row_factory=dict_row) as cursor:
                return work(Transaction(cursor, self._statements, self.dialect))
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise StoreUnavailable(f"postgresql: {exc}") from exc

    def _close_in_thread(self) -> None:
        self._pool.close()


# A row template's parameters, as each dialect's statements spell them (see queries.to_pyformat).
_ROW_PARAMETER = {"sqlite": re.compile(r":(\w+)"), "postgresql": re.compile(r"%\((\w+)\)s")}
_POSITIONAL = {"sqlite": "?", "postgresql": "%s"}


@lru_cache(maxsize=256)
def _expand(
    statement: str, row: str, count: int, dialect: Dialect
) -> tuple[str, Callable[[Mapping[str, Any]], tuple[Any, ...]]]:
    """The statement for ``count`` rows, and how to take one row's values in placeholder order."""
    names = _ROW_PARAMETER[dialect].findall(row)
    if not names:
        raise ValueError("a row template needs at least one parameter")
    positional = _ROW_PARAMETER[dialect].sub(_POSITIONAL[dialect], row)
    getter = operator.itemgetter(*names)
    take = getter if len(names) > 1 else (lambda values: (getter(values),))
    return statement.replace("{rows}", ", ".join([positional] * count)), take


def open_database(url: str, *, pool_size: int = 10, long_running: bool = False) -> Database:
    """``sqlite:///relative.db``, ``sqlite:////absolute.db`` or ``postgresql://…``.

    ``long_running`` (``serve``, ``worker``): SQLite's log is checkpointed by a background thread.
    """
    if url.startswith("sqlite:///"):
        return SQLiteDatabase(
            url.removeprefix("sqlite:///") or ":memory:", checkpoint_in_background=long_running
        )
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresDatabase(url, pool_size=pool_size)
    raise ValueError("DATABASE_URL must start with sqlite:/// or postgresql://")


def split_script(sql: str) -> Iterable[str]:
    """Statements of a migration file: split on ``;`` at line ends (our migrations keep it simple)."""
    statement: list[str] = []
    for line in sql.splitlines():
        if line.lstrip().startswith("--"):
            continue
        statement.append(line)
        if line.rstrip().endswith(";"):
            text = "\n".join(statement).strip().rstrip(";")
            if text:
                yield text
            statement = []
    tail = "\n".join(statement).strip()
    if tail:
        yield tail
