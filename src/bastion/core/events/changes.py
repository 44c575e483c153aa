"""What an event says changed: each field's value before and after, as JSON.

Values are written as the REST API writes them (decimals as strings, datetimes
RFC 3339 with ``Z``), so a consumer reads an event's values exactly as it reads
records. ``write_only`` fields (secrets) never reach the log: their values are
replaced by :data:`REDACTED`. ``personal`` fields are set apart, to be stored
encrypted with the record's own key (see :mod:`bastion.core.events.personal`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import orjson

from bastion.blueprint import Resource

__all__ = [
    "ERASED",
    "REDACTED",
    "ChangeKind",
    "Changes",
    "EventFields",
    "changes_json",
    "read_changes",
]

REDACTED = "[redacted]"
"""The value a ``write_only`` field has in every event."""
ERASED = "[erased]"
"""The value of a personal field whose record's key was deleted (erasure)."""

ChangeKind = Literal["created", "updated", "deleted"]
Changes = dict[str, dict[str, Any]]
"""Field -> ``{"before": value, "after": value}``."""


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"cannot serialize {type(value).__name__}")


def changes_json(changes: Mapping[str, Any]) -> str:
    """``changes`` as canonical JSON text (keys sorted): what the log stores and hashes."""
    return orjson.dumps(
        changes, default=_default, option=orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z
    ).decode()


def read_changes(text: str | None) -> Changes:
    """The changes :func:`changes_json` wrote (``{}`` for none)."""
    return {} if not text else orjson.loads(text)


def _differs(before: Any, after: Any) -> bool:
    # ``1 == True`` and ``0.0 == -0.0`` in Python, not in the database or in JSON.
    return type(before) is not type(after) or before != after


@dataclass(frozen=True, slots=True)
class EventFields:
    """Which fields of one resource an event carries, and how."""

    fields: tuple[str, ...]
    redacted: frozenset[str]
    personal: frozenset[str]

    @classmethod
    def of(cls, resource: Resource) -> EventFields:
        """The event fields of ``resource``'s blueprint declaration."""
        return cls(
            fields=tuple(resource.fields),
            redacted=frozenset(n for n, f in resource.fields.items() if f.write_only),
            personal=frozenset(
                n for n, f in resource.fields.items() if f.personal and not f.write_only
            ),
        )

    def split(
        self, kind: ChangeKind, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
    ) -> tuple[Changes, Changes]:
        """(public changes, personal changes) from the record ``before`` and ``after``.

        A create lists every field (``before`` null), a delete every field
        (``after`` null), an update the fields whose value changed.
        """
        public: Changes = {}
        personal: Changes = {}
        old = before or {}
        new = after or {}
        for name in self.fields:
            was = old.get(name)
            now = new.get(name)
            if kind == "updated" and not _differs(was, now):
                continue
            if name in self.redacted:
                # Whether a secret is set at all is not told either: only which side exists.
                change = {
                    "before": None if before is None else REDACTED,
                    "after": None if after is None else REDACTED,
                }
            else:
                change = {"before": was, "after": now}
            (personal if name in self.personal else public)[name] = change
        return public, personal
