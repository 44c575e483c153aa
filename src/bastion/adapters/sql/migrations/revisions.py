"""New revision files: rendered by Alembic's autogenerate renderer, written beside the others.

A revision file is deterministic: the same history and blueprint change give
the same bytes, id included (its hex part is a digest of the content), so a
plan re-run on another machine produces an identical file.

It is also dialect-neutral: types carry their SQLite variant
(``sa.Uuid().with_variant(sa.String(length=36), "sqlite")``), operations are
written in batch mode (which SQLite needs and PostgreSQL runs as plain
``ALTER TABLE``), and what differs between the databases is chosen when the
revision runs::

    if op.get_bind().dialect.name == "sqlite":
        op.execute('UPDATE "orders" SET "total" = "total" * 10 WHERE "total" IS NOT NULL')

The code is laid out as ``ruff format`` would (see :mod:`.layout`).
"""

from __future__ import annotations

import hashlib
import os
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from alembic.autogenerate import render_python_code, renderers
from alembic.autogenerate.api import AutogenContext
from alembic.autogenerate.render import render_op
from alembic.migration import MigrationContext
from alembic.operations import ops

from bastion.adapters.sql.migrations.history import History
from bastion.adapters.sql.migrations.layout import WIDTH, format_assignment, format_block
from bastion.adapters.sql.migrations.neutral import CastingAlterColumnOp, OnDialect
from bastion.adapters.sql.migrations.signatures import sql_dialect
from bastion.adapters.sql.schema import PerDialectDefault

__all__ = ["RevisionFile", "render_revision", "write_revision"]

_TEMPLATE = '''"""{message}

Revision ID: {revision}
Revises: {down_revision}

Planned by Bastion from the blueprint; read it before `bastion migrate apply`.
It runs on SQLite and PostgreSQL alike, whichever one it was planned on.
BLUEPRINT_SNAPSHOT is the schema this revision leaves behind: later plans
compare the live database with it to report changes made by hand (drift).
"""

{imports}
revision = {revision_literal}
down_revision = {down_revision_literal}
branch_labels = None
depends_on = None

{snapshot}


def upgrade() -> None:
{upgrade}


def downgrade() -> None:
{downgrade}
'''

_ON_SQLITE = 'op.get_bind().dialect.name == "sqlite"'


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
    message: str,
    snapshot: dict[str, Any],
) -> RevisionFile:
    """Render the revision that follows ``history``'s head.

    Args:
        history: The existing revisions.
        upgrade: What the revision does.
        downgrade: What undoes it.
        message: One line saying what changed; it names the file too.
        snapshot: The blueprint snapshot after the revision.
    """
    upgrade_code = _render(upgrade)
    downgrade_code = _render(downgrade)
    head = history.head
    down_revision = head.id if head else None
    snapshot_text = format_assignment("BLUEPRINT_SNAPSHOT", snapshot)
    digest = hashlib.sha256(
        "\0".join([down_revision or "", upgrade_code, downgrade_code, snapshot_text]).encode()
    ).hexdigest()[:12]
    number = 1 + max((int(r.id[:4]) for r in history.revisions if r.id[:4].isdigit()), default=0)
    revision = f"{number:04d}_{digest}"
    line = " ".join(message.replace('"""', "'''").replace("\\", "/").split())
    source = _TEMPLATE.format(
        # The first line also holds the docstring's opening quotes.
        message=textwrap.fill(line, WIDTH, initial_indent='"""')[3:] or "revision",
        revision=revision,
        down_revision=down_revision,
        imports=_imports(upgrade_code + downgrade_code),
        revision_literal=format_assignment("x", revision).removeprefix("x = "),
        down_revision_literal=format_assignment("x", down_revision).removeprefix("x = "),
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


def _render(container: ops.UpgradeOps | ops.DowngradeOps) -> str:
    """The body of ``upgrade()`` or ``downgrade()``, the same whichever dialect planned it."""
    code = render_python_code(
        container,
        render_as_batch=True,
        render_item=_render_item,
        migration_context=MigrationContext.configure(dialect=sql_dialect("postgresql")),
    )
    lines = [line for line in code.splitlines() if not line.strip().startswith("# ###")]
    return format_block("\n".join(lines), indent=4)


def _imports(code: str) -> str:
    """The import lines ``code`` needs, in the order ruff's isort wants them."""
    lines = []
    if re.search(r"\bsa\.", code):
        lines.append("import sqlalchemy as sa")
    lines.append("from alembic import op")
    if re.search(r"\bpostgresql\.", code):
        lines.append("from sqlalchemy.dialects import postgresql")
    return "".join(f"{line}\n" for line in lines)


def _render_item(kind: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    if kind == "server_default" and isinstance(obj, PerDialectDefault):
        return f"{obj.literals['sqlite']!r} if {_ON_SQLITE} else {obj.literals['postgresql']!r}"
    return False


@renderers.dispatch_for(OnDialect, replace=True)
def _render_on_dialect(autogen_context: AutogenContext, operation: OnDialect) -> list[str]:
    lines = [f"if op.get_bind().dialect.name == {operation.dialect!r}:"]
    for inner in operation.operations:
        lines += render_op(autogen_context, inner)
    return [*lines, ""]  # a blank line closes the block for Alembic's printer


@renderers.dispatch_for(CastingAlterColumnOp, replace=True)
def _render_casting_alter(autogen_context: AutogenContext, operation: CastingAlterColumnOp) -> str:
    # Alembic's renderer drops ``postgresql_using``; add it before the closing parenthesis.
    text = str(renderers.dispatch(ops.AlterColumnOp)(autogen_context, operation))
    return f"{text[:-1]}, postgresql_using={operation.using!r})"


_SQL_PIECE = 70
"""Longest piece of a long SQL statement on a line of its own, so lines stay within WIDTH."""


@renderers.dispatch_for(ops.ExecuteSQLOp, replace=True)
def _render_execute(autogen_context: AutogenContext, operation: ops.ExecuteSQLOp) -> str:
    # A long statement is written as pieces joined by spaces, one piece a line: a single
    # string literal would break the project's line length (ruff's E501) in the revision.
    sql = str(operation.sqltext)
    if len(sql) <= _SQL_PIECE:
        return f"op.execute({sql!r})"
    pieces: list[str] = []
    for word in sql.split(" "):
        if pieces and len(pieces[-1]) + 1 + len(word) <= _SQL_PIECE:
            pieces[-1] += f" {word}"
        else:
            pieces.append(word)
    return f"op.execute(' '.join({pieces!r}))"


def _slug(message: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40].rstrip("_") or "revision"
