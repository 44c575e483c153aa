"""New revision files: rendered by Alembic's autogenerate renderer, written beside the others.

A revision file is deterministic: the same history and blueprint change give
the same bytes, id included (its hex part is a digest of the content), so a
plan re-run on another machine produces an identical file.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from alembic.autogenerate import render_python_code
from alembic.autogenerate.api import AutogenContext
from alembic.migration import MigrationContext
from alembic.operations import ops

from bastion.adapters.sql.migrations.history import History
from bastion.adapters.sql.migrations.signatures import sql_dialect
from bastion.adapters.sql.schema import Dialect

__all__ = ["RevisionFile", "render_revision", "write_revision"]

_TEMPLATE = '''"""{message}

Revision ID: {revision}
Revises: {down_revision}

Planned by Bastion from the blueprint; read it before `bastion migrate apply`.
BLUEPRINT_SNAPSHOT is the schema this revision leaves behind: later plans
compare the live database with it to report changes made by hand (drift).
"""

from alembic import op
import sqlalchemy as sa
{imports}
revision = {revision!r}
down_revision = {down_revision!r}
branch_labels = None
depends_on = None

BLUEPRINT_SNAPSHOT = {snapshot}


def upgrade() -> None:
{upgrade}


def downgrade() -> None:
{downgrade}
'''


_WIDTH = 99


@dataclass(frozen=True)
class RevisionFile:
    """A rendered revision, not yet written."""

    id: str
    path: Path
    source: str


def render_revision(
    *,
    history: History,
    upgrade: ops.UpgradeOps,
    downgrade: ops.DowngradeOps,
    dialect: Dialect,
    message: str,
    snapshot: dict[str, Any],
) -> RevisionFile:
    """Render the revision that follows ``history``'s head.

    Args:
        history: The existing revisions.
        upgrade: What the revision does.
        downgrade: What undoes it.
        dialect: The database's dialect (types and batch mode depend on it).
        message: One line saying what changed; it names the file too.
        snapshot: The blueprint snapshot after the revision.
    """
    imports: set[str] = set()
    upgrade_code = _render(upgrade, dialect, imports)
    downgrade_code = _render(downgrade, dialect, imports)
    head = history.head
    down_revision = head.id if head else None
    snapshot_text = _literal(snapshot, indent=0, used=len("BLUEPRINT_SNAPSHOT = "))
    digest = hashlib.sha256(
        "\0".join([down_revision or "", upgrade_code, downgrade_code, snapshot_text]).encode()
    ).hexdigest()[:12]
    number = 1 + max((int(r.id[:4]) for r in history.revisions if r.id[:4].isdigit()), default=0)
    revision = f"{number:04d}_{digest}"
    line = " ".join(message.replace('"""', "'''").replace("\\", "/").split())
    source = _TEMPLATE.format(
        message=line,
        revision=revision,
        down_revision=down_revision,
        imports="".join(f"{statement}\n" for statement in sorted(imports)),
        snapshot=snapshot_text,
        upgrade=upgrade_code,
        downgrade=downgrade_code,
    )
    path = history.directory / "versions" / f"{number:04d}_{_slug(line)}.py"
    return RevisionFile(id=revision, path=path, source=source)


def write_revision(revision: RevisionFile) -> None:
    """Write ``revision`` atomically, creating ``versions/`` if needed."""
    revision.path.parent.mkdir(parents=True, exist_ok=True)
    partial = revision.path.with_name(f".{revision.path.name}.partial")
    partial.write_text(revision.source, encoding="utf-8")
    os.replace(partial, revision.path)


def _render(
    container: ops.UpgradeOps | ops.DowngradeOps, dialect: Dialect, imports: set[str]
) -> str:
    contexts: list[AutogenContext] = []

    def spy(kind: str, obj: Any, autogen_context: AutogenContext) -> Literal[False]:
        # render_python_code keeps the imports a type needs (e.g. JSONB) in a
        # context it does not return; catching that context recovers them.
        contexts.append(autogen_context)
        return False

    code = render_python_code(
        container,
        render_as_batch=dialect == "sqlite",
        render_item=spy,
        migration_context=MigrationContext.configure(dialect=sql_dialect(dialect)),
    )
    for context in contexts[:1]:
        imports.update(context.imports)
    lines = [line for line in code.splitlines() if not line.strip().startswith("# ###")]
    body = "\n".join(line.rstrip() for line in lines).strip("\n")
    return body if body.strip() else "    pass"


def _literal(value: Any, *, indent: int, used: int) -> str:
    """``value`` as a Python literal, one item per line where it does not fit on one."""
    flat = repr(value)
    if used + len(flat) <= _WIDTH or not isinstance(value, dict | list) or not value:
        return flat
    pad = " " * (indent + 4)
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            prefix = f"{pad}{key!r}: "
            items.append(f"{prefix}{_literal(item, indent=indent + 4, used=len(prefix))},")
        opening, closing = "{", "}"
    else:
        items = [f"{pad}{_literal(item, indent=indent + 4, used=len(pad))}," for item in value]
        opening, closing = "[", "]"
    return "\n".join([opening, *items, " " * indent + closing])


def _slug(message: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40].rstrip("_") or "revision"
