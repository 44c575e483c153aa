"""Personal data in the event log, encrypted per record so it can be erased.

The log is append-only and hash-chained, so personal data cannot be deleted
from it. Instead, each record whose ``personal`` fields appear in events gets
its own random key (Fernet: AES-128-CBC + HMAC-SHA256, from ``cryptography``),
stored in ``bastion_subject_keys`` (itself encrypted by the application's
secret box when there is one). Events store those fields encrypted under that
key (``sealed``), and the hash covers the ciphertext. Erasure deletes the key:
the data becomes unreadable (:data:`~bastion.core.events.changes.ERASED`) and
every hash still verifies.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken

from bastion.blueprint.events import SUBJECT_KEYS
from bastion.core.events.changes import ERASED, Changes, changes_json
from bastion.core.ids import new_id
from bastion.core.ports import Row, SecretBox, UnitOfWork
from bastion.core.query import Filter, QuerySpec

__all__ = ["SEALED", "SubjectKeys", "reveal", "seal", "subject_of"]

SEALED = {"sealed": True}
"""What the public changes hold for a personal field: its values are in ``sealed``."""


def subject_of(resource: str, record_id: Any) -> str:
    """The data subject of a record's events: ``orders/<id>`` (also its stream)."""
    return f"{resource}/{record_id}"


class SubjectKeys:
    """Creates, finds and deletes the per-record keys of personal data."""

    def __init__(self, box: SecretBox | None = None) -> None:
        self._box = box

    async def _row(self, uow: UnitOfWork, subject: str) -> Row | None:
        spec = QuerySpec(limit=1, filters=(Filter("subject", "eq", subject),))
        rows = await uow.fetch_page(SUBJECT_KEYS, spec)
        return rows[0] if rows else None

    def _unwrap(self, stored: str) -> Fernet:
        key = stored.encode("ascii")
        return Fernet(self._box.decrypt(key) if self._box is not None else key)

    async def find(self, uow: UnitOfWork, subject: str) -> Fernet | None:
        """The subject's key, or ``None`` (never created, or erased)."""
        row = await self._row(uow, subject)
        return None if row is None else self._unwrap(row["key"])

    async def find_many(self, uow: UnitOfWork, subjects: Collection[str]) -> dict[str, Fernet]:
        """The keys of those ``subjects`` that have one."""
        if not subjects:
            return {}
        spec = QuerySpec(limit=len(subjects), filters=(Filter("subject", "in", tuple(subjects)),))
        rows = await uow.fetch_page(SUBJECT_KEYS, spec)
        return {row["subject"]: self._unwrap(row["key"]) for row in rows}

    async def find_or_create(self, uow: UnitOfWork, subject: str) -> Fernet:
        """The subject's key, created (in ``uow``'s transaction) if it has none."""
        existing = await self.find(uow, subject)
        if existing is not None:
            return existing
        return await self.create(uow, subject)

    async def create(self, uow: UnitOfWork, subject: str) -> Fernet:
        """A new key for ``subject`` (which must have none: a new record), in ``uow``."""
        key, row = self.new(subject)
        await uow.insert(SUBJECT_KEYS, row)
        return key

    def new(self, subject: str) -> tuple[Fernet, Row]:
        """A new key for ``subject`` and its ``bastion_subject_keys`` row, not yet stored."""
        key = Fernet.generate_key()
        stored = self._box.encrypt(key) if self._box is not None else key
        now = datetime.now(UTC)
        row: Row = {
            "id": new_id(),
            "created_at": now,
            "updated_at": now,
            "version": 1,
            "subject": subject,
            "key": stored.decode("ascii"),
        }
        return Fernet(key), row

    async def erase(self, uow: UnitOfWork, subject: str) -> bool:
        """Delete the subject's key; ``False`` if it had none."""
        row = await self._row(uow, subject)
        if row is None:
            return False
        return await uow.delete(SUBJECT_KEYS, row["id"])


def seal(key: Fernet, changes: Changes) -> str:
    """``changes`` encrypted under ``key``, as stored in an event's ``sealed``."""
    return key.encrypt(changes_json(changes).encode("utf-8")).decode("ascii")


def reveal(
    changes: Changes, key: Fernet | None, sealed: str | None, *, event_type: str = ""
) -> Changes:
    """``changes`` with each personal field's values decrypted from ``sealed``, or
    :data:`~bastion.core.events.changes.ERASED` once the record's key is gone (a
    created event's ``before`` and a deleted event's ``after`` stay null: they always are)."""
    if sealed is None:
        return changes
    opened: Changes = {}
    if key is not None:
        try:
            opened = orjson.loads(key.decrypt(sealed.encode("ascii")))
        except InvalidToken:
            opened = {}
    erased = {
        "before": None if event_type.endswith(".created") else ERASED,
        "after": None if event_type.endswith(".deleted") else ERASED,
    }
    return {
        name: (opened.get(name, erased) if change == SEALED else change)
        for name, change in changes.items()
    }
