"""The revision files of a project, read as one line of history, and where a database stands.

Revision files live in ``<migrations_dir>/versions/`` and are ordinary Alembic
revision modules; Alembic's :class:`~alembic.script.ScriptDirectory` reads them,
so no ``alembic.ini`` or ``env.py`` is needed in the user's project.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from bastion.adapters.sql.migrations.compare import VERSION_TABLE
from bastion.adapters.sql.migrations.errors import InvalidRevisionFiles, UnknownRevision
from bastion.adapters.sql.migrations.snapshot import (
    automatic_indexes_from_snapshot,
    blueprint_from_snapshot,
)
from bastion.adapters.sql.schema import IndexSpec
from bastion.blueprint import Blueprint

__all__ = ["History", "Revision", "database_revision", "load_history"]


@dataclass(frozen=True)
class Revision:
    """One revision file, loaded."""

    id: str
    down_revision: str | None
    message: str
    """The first paragraph of the module docstring, on one line."""
    path: Path
    module: ModuleType
    """The loaded module; its ``upgrade()`` runs through ``alembic.op``."""
    snapshot: Any
    """Its ``BLUEPRINT_SNAPSHOT``; ``None`` for a revision written by hand without one."""


@dataclass(frozen=True)
class History:
    """Every revision of a project, oldest first."""

    directory: Path
    revisions: list[Revision]
    script: ScriptDirectory | None
    """Alembic's view of the same files; ``None`` while there are none."""

    @property
    def head(self) -> Revision | None:
        """The newest revision."""
        return self.revisions[-1] if self.revisions else None

    def after(self, current: str | None) -> list[Revision]:
        """The revisions a database at ``current`` has not applied, oldest first.

        Raises:
            UnknownRevision: no revision file has the id ``current``.
        """
        if current is None:
            return list(self.revisions)
        ids = [revision.id for revision in self.revisions]
        if current not in ids:
            raise UnknownRevision(
                f"the database is at revision {current!r}, which no file in "
                f"{self.directory / 'versions'} has: restore the missing revision files "
                "(e.g. from version control) or point to the right migrations folder"
            )
        return self.revisions[ids.index(current) + 1 :]

    def schema(self) -> Blueprint:
        """The blueprint the newest snapshot describes (empty before the first revision)."""
        newest = self._newest_snapshot()
        if newest is None:
            return Blueprint()
        return blueprint_from_snapshot(newest.snapshot, revision=newest.id)

    def automatic_indexes(self) -> dict[str, list[IndexSpec]] | None:
        """The derived indexes the newest snapshot records, per table.

        ``{}`` before the first revision; ``None`` when the newest snapshot was
        written before snapshots recorded them.
        """
        newest = self._newest_snapshot()
        if newest is None:
            return {}
        return automatic_indexes_from_snapshot(newest.snapshot, revision=newest.id)

    def _newest_snapshot(self) -> Revision | None:
        for revision in reversed(self.revisions):
            if revision.snapshot is not None:
                return revision
        return None

    def tables(self) -> set[str]:
        """Every table a revision's snapshot has held: the tables Bastion created."""
        names: set[str] = set()
        for revision in self.revisions:
            if isinstance(revision.snapshot, dict):
                names.update(revision.snapshot.get("resources", {}))
        return names


def load_history(migrations_dir: Path) -> History:
    """Read the revision files under ``migrations_dir/versions``.

    Raises:
        InvalidRevisionFiles: a file cannot be loaded, or the files do not form
            one line (two revisions follow the same one).
    """
    if not (migrations_dir / "versions").is_dir():
        return History(directory=migrations_dir, revisions=[], script=None)
    script = ScriptDirectory(str(migrations_dir))
    try:
        heads = script.get_heads()
        scripts = list(script.walk_revisions())
    # Revision files are the user's Python: anything may go wrong while importing them.
    except Exception as exc:
        raise InvalidRevisionFiles(
            f"cannot read the revision files in {migrations_dir / 'versions'}: {exc}"
        ) from exc
    if len(heads) > 1:
        raise InvalidRevisionFiles(
            f"revisions {', '.join(sorted(heads))} each continue the same history (planned on "
            "two branches?); delete the newer revision file, then plan again"
        )
    revisions: list[Revision] = []
    for loaded in reversed(scripts):
        down = loaded.down_revision
        if isinstance(down, tuple | list):
            raise InvalidRevisionFiles(
                f"revision {loaded.revision} merges several revisions; Bastion keeps one line "
                "of history, so write it with a single down_revision"
            )
        doc = (loaded.module.__doc__ or "").strip()
        revisions.append(
            Revision(
                id=loaded.revision,
                down_revision=down,
                message=" ".join(doc.split("\n\n", 1)[0].split()),
                path=Path(loaded.path),
                module=loaded.module,
                snapshot=getattr(loaded.module, "BLUEPRINT_SNAPSHOT", None),
            )
        )
    return History(directory=migrations_dir, revisions=revisions, script=script)


def database_revision(connection: sa.Connection) -> str | None:
    """The revision the database behind ``connection`` is at (``None`` before any)."""
    context = MigrationContext.configure(
        connection=connection, opts={"version_table": VERSION_TABLE}
    )
    return context.get_current_revision()
