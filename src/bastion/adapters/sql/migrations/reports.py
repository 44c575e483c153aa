"""What planning, applying and inspecting migrations hand back to the caller."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["MigrationPlan", "MigrationStatus", "ProgressCallback", "RevisionInfo"]


@dataclass(frozen=True)
class MigrationPlan:
    """The revision planned from a blueprint change, for the user to read before applying."""

    revision: str | None
    """Id of the revision (``0002_1f0c9a3b7d2e``); ``None`` when nothing changed."""
    path: Path | None
    """The revision file written; ``None`` when nothing changed or with ``write=False``."""
    operations: list[str]
    """What the revision does, one line per change (``add column orders.note (VARCHAR(200))``)."""
    destructive: list[str]
    """The operations that can lose data (drops, type changes, making a column NOT NULL)."""
    sql: str
    """The SQL the revision runs on this database's dialect."""
    drift: list[str]
    """How the live database differs from what the last revision describes (hand changes)."""


@dataclass(frozen=True)
class RevisionInfo:
    """One revision file and whether the database has applied it."""

    id: str
    """The revision id, sortable: ``0001_3fa85f64c2b1``."""
    message: str
    """The first line of the revision's docstring."""
    applied: bool
    """Whether the database has applied it."""
    path: Path
    """The revision file."""


@dataclass(frozen=True)
class MigrationStatus:
    """Where a database stands against the revision files and the blueprint."""

    revisions: list[RevisionInfo]
    """Every revision, oldest first."""
    current: str | None
    """The revision the database is at; ``None`` before the first apply."""
    head: str | None
    """The newest revision file; ``None`` when there is none."""
    pending: list[str]
    """Ids of revisions not yet applied, oldest first."""
    unplanned: list[str]
    """Blueprint changes that no revision covers yet (run ``bastion migrate plan``)."""
    drift: list[str] = field(default_factory=list)
    """How the live schema departs from what the applied revisions describe: changes
    made by hand, or columns of the wrong type (``column orders.id is VARCHAR(36) in the
    database, UUID in the revisions``). Empty while revisions are pending."""


ProgressCallback = Callable[[RevisionInfo, int, int], None]
"""Called after each revision is applied with the revision, its 1-based position and the total."""
