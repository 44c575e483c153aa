"""The read cache's change feed on SQLite, without Redis: ``PRAGMA data_version``.

SQLite bumps a connection's ``data_version`` whenever *another* connection
(of this process or any other) commits to the file. One extra connection,
used for nothing else, is asked before every read; when the number moved,
some commit happened and the in-process tier is emptied. So several
workers (or a command-line tool writing meanwhile) never serve each other
stale records, at the price of coarse invalidation: any commit anywhere
empties every worker's cache.

The question is asked with the standard library's ``sqlite3`` straight from
the event loop: it reads a counter in the WAL index (shared memory) and
takes a few microseconds, far less than a hop to aiosqlite's thread.
"""

from __future__ import annotations

import sqlite3

from bastion.core.ports import ChangeListener

__all__ = ["SqliteChangeFeed"]


class SqliteChangeFeed:
    """Implements :class:`~bastion.core.ports.ChangeFeed` for one SQLite file."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._version: int | None = None
        self._listener: ChangeListener | None = None

    async def start(self, listener: ChangeListener) -> None:
        """Open the watching connection (autocommit: it must never hold a snapshot)."""
        self._listener = listener
        self._conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        self._version = self._read()

    async def stop(self) -> None:
        """Close the watching connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def poll(self) -> None:
        """Empty the cache if any connection committed since the last poll."""
        if self._conn is None:
            return
        version = self._read()
        if version != self._version:
            self._version = version
            if self._listener is not None:
                self._listener.changed(None)

    @property
    def live(self) -> bool:
        """Whether the watching connection is open."""
        return self._conn is not None

    def _read(self) -> int:
        assert self._conn is not None
        row = self._conn.execute("PRAGMA data_version").fetchone()
        return int(row[0])
