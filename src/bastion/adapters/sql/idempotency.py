"""Statements and conversions for ``bastion_idempotency_keys``, compiled once per store.

In-flight requests are told apart differently per database:

- PostgreSQL: ``pg_try_advisory_xact_lock`` on a 64-bit hash of scope and
  key, taken first in the transaction and released when it ends. A second
  request with the key finds it taken and is answered at once (409).
- SQLite: write transactions start with ``BEGIN IMMEDIATE``, which already
  excludes every other writer (in every process) until commit, so the lock
  is a no-op: a duplicate waits for the first to commit, then replays it.

Purging deletes a bounded number of expired rows; on PostgreSQL it skips rows
another transaction has locked, so two purges never wait on each other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from bastion.adapters.sql.codecs import decode_datetime_text, encode_datetime_text
from bastion.adapters.sql.schema import Dialect
from bastion.adapters.sql.statements import Compiled, compile_statement
from bastion.core.ports import IdempotencyRecord, StoredResponse

__all__ = ["IdempotencyStatements", "advisory_lock_key"]


def advisory_lock_key(scope: str, key: str) -> int:
    """The signed 64-bit PostgreSQL advisory lock key of ``(scope, key)``."""
    digest = hashlib.blake2b(
        scope.encode() + b"\0" + key.encode(), digest_size=8, person=b"bastion-idem"
    ).digest()
    return int.from_bytes(digest, "big", signed=True)


class IdempotencyStatements:
    """The compiled statements on the idempotency table, and its row conversions."""

    def __init__(self, table: sa.Table, dialect: Dialect) -> None:
        self._postgres = dialect == "postgresql"
        columns = list(table.columns)
        by_key = (table.c.scope == sa.bindparam("scope")) & (table.c.key == sa.bindparam("key"))
        self.select: Compiled = compile_statement(sa.select(*columns).where(by_key), dialect)
        insert = (postgresql.insert if self._postgres else sqlite.insert)(table).values(
            {c.name: sa.bindparam(c.name) for c in columns}
        )
        self.upsert: Compiled = compile_statement(
            insert.on_conflict_do_update(
                index_elements=[table.c.scope, table.c.key],
                set_={c.name: insert.excluded[c.name] for c in columns if not c.primary_key},
            ),
            dialect,
        )
        expired = (
            sa.select(table.c.scope, table.c.key)
            .where(table.c.expires_at < sa.bindparam("now"))
            .limit(sa.bindparam("limit"))
        )
        if self._postgres:
            expired = expired.with_for_update(skip_locked=True)
        self.purge: Compiled = compile_statement(
            table.delete().where(sa.tuple_(table.c.scope, table.c.key).in_(expired)), dialect
        )
        self.lock: str | None = "SELECT pg_try_advisory_xact_lock($1)" if self._postgres else None
        """``None`` where the write transaction itself excludes other writers (SQLite)."""

    def _encode_time(self, value: datetime) -> Any:
        return value if self._postgres else encode_datetime_text(value)

    def _decode_time(self, value: Any) -> datetime:
        if isinstance(value, datetime):
            return value.astimezone(UTC)
        return decode_datetime_text(value)

    def key_args(self, scope: str, key: str) -> list[Any]:
        """Arguments of :attr:`select` for one key."""
        return self.select.bind({"scope": scope, "key": key})

    def purge_args(self, now: datetime, limit: int) -> list[Any]:
        """Arguments of :attr:`purge`."""
        return self.purge.bind({"now": self._encode_time(now), "limit": limit})

    def record_args(self, record: IdempotencyRecord) -> list[Any]:
        """Arguments of :attr:`upsert` storing ``record``."""
        response = record.response
        return self.upsert.bind(
            {
                "scope": record.scope,
                "key": record.key,
                "endpoint": record.endpoint,
                "request_hash": record.request_hash,
                "status": response.status,
                "headers": orjson.dumps([list(pair) for pair in response.headers]).decode(),
                "body": response.body,
                "created_at": self._encode_time(record.created_at),
                "expires_at": self._encode_time(record.expires_at),
            }
        )

    def decode(self, row: Sequence[Any]) -> IdempotencyRecord:
        """The record of a row selected by :attr:`select`."""
        scope, key, endpoint, request_hash, status, headers, body, created_at, expires_at = row
        return IdempotencyRecord(
            scope=scope,
            key=key,
            endpoint=endpoint,
            request_hash=request_hash,
            response=StoredResponse(
                status=int(status),
                headers=tuple((str(name), str(value)) for name, value in orjson.loads(headers)),
                body=bytes(body),
            ),
            created_at=self._decode_time(created_at),
            expires_at=self._decode_time(expires_at),
        )
