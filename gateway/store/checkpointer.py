"""Move SQLite's WAL checkpoints off the request path, as far as SQLite allows.

In WAL mode a commit only appends to the log; a *checkpoint* copies the log back into the
database file. Left automatic, that happens inside whichever commit finds the log longer than
the threshold, and every request waiting on that commit waits for the copy too. A background
thread with its own connection runs PASSIVE checkpoints instead, which never block the writer.

What it cannot do is shorten the log: SQLite rewinds the log to its start only when a write
transaction begins with every frame already copied, and under sustained load the writer has
always appended more since the last checkpoint began. So the log grows until it crosses
``BACKSTOP_PAGES``, and from then on a commit does checkpoint by itself, copying whatever the
background thread has not yet copied, which lets the next transaction rewind the log. Those
commits set the tail latency, and the interval bounds what they copy: with the background
thread every 0.1 s, such a commit has at most a tenth of a second's log left to copy, while an
idle checkpoint costs next to nothing. How this was traced, and what 1 s and 0.1 s measured:
``bench/NOTES.md``.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger("gateway.store")

BACKSTOP_PAGES = 10_000  # ~40 MB of log before a commit checkpoints (and so rewinds the log) by itself


class WalCheckpointer:
    def __init__(self, path: str, interval: float = 0.1) -> None:
        self._path = path
        self._interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpointer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        connection = sqlite3.connect(self._path, timeout=5, check_same_thread=True)
        try:
            while not self._stopping.wait(self._interval):
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:  # busy or I/O trouble: the next round tries again
                    log.warning("WAL checkpoint failed", extra={"error": str(exc)})
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            connection.close()
