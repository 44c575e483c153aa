"""The event log is append-only on PostgreSQL: triggers, created by the revision creating it.

Every role, the table's owner included, has its ``UPDATE``, ``DELETE`` and
``TRUNCATE`` of ``bastion_events`` refused by triggers (the runtime role
lacks the privileges besides, see :mod:`~bastion.adapters.sql.migrations.grants`)::

    bastion_events is append-only: UPDATE is refused (...)

They go into the revision that creates the table, in a block that runs on
PostgreSQL only, rather than being applied by the runner after each apply:
the revision is reviewed, committed and shown as SQL by ``migrate plan``
like any other change; it runs once, in the transaction that creates the
table, so the table never exists unprotected; and every copy of the
database (staging, production, a colleague's laptop) gets the triggers from
the same file. A runner step would be DDL that no revision shows, run again
at every apply. The statements are idempotent all the same (``CREATE OR
REPLACE FUNCTION``, ``DROP TRIGGER IF EXISTS`` then ``CREATE TRIGGER``), so
a revision copied by hand or run against a database fixed up earlier still
applies.

SQLite has no privileges and its triggers are dropped with any table copy:
there the log is append-only by convention (Bastion only ever inserts), and
the per-record hash chain still makes a changed or removed event detectable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from alembic.operations import ops

from bastion.adapters.sql.migrations.neutral import OnDialect
from bastion.adapters.sql.migrations.operations import Change
from bastion.blueprint.events import EVENTS

__all__ = ["APPEND_ONLY_TABLES", "AppendOnlyPlan", "append_only_plan", "append_only_statements"]

APPEND_ONLY_TABLES: tuple[str, ...] = (EVENTS,)
"""Tables whose rows are only ever inserted."""

_WHY = (
    "events are only ever inserted; to erase personal data, delete its key in bastion_subject_keys"
)


@dataclass
class AppendOnlyPlan:
    """The append-only work of one revision."""

    changes: list[Change] = field(default_factory=list)
    """What it does, described."""
    upgrade_last: list[ops.MigrateOperation] = field(default_factory=list)
    """After the upgrade's other operations (the table exists by then)."""
    downgrade_last: list[ops.MigrateOperation] = field(default_factory=list)
    """After the downgrade's other operations (the table, and its triggers, are gone)."""


def append_only_plan(upgrade: ops.UpgradeOps) -> AppendOnlyPlan:
    """The triggers a revision doing ``upgrade`` adds: for each append-only table it creates."""
    plan = AppendOnlyPlan()
    created = {o.table_name for o in upgrade.ops if isinstance(o, ops.CreateTableOp)}
    for table in APPEND_ONLY_TABLES:
        if table not in created:
            continue
        plan.changes.append(
            Change(f"make {table} append-only (PostgreSQL refuses UPDATE, DELETE and TRUNCATE)")
        )
        statements = [ops.ExecuteSQLOp(sql) for sql in append_only_statements(table)]
        plan.upgrade_last.append(OnDialect("postgresql", list(statements)))
        drop = ops.ExecuteSQLOp(f"DROP FUNCTION IF EXISTS {_quote(_function(table))}()")
        plan.downgrade_last.append(OnDialect("postgresql", [drop]))
    return plan


def append_only_statements(table: str) -> list[str]:
    """The PostgreSQL statements making ``table`` append-only, each one line, idempotent."""
    function, name = _quote(_function(table)), _quote(table)
    row, truncate = _quote(f"{table}_append_only"), _quote(f"{table}_no_truncate")
    # One line each, as the revision renderer splits long statements at spaces; no RAISE
    # placeholders, as the PostgreSQL preview of a plan doubles every percent sign.
    return [
        f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', MESSAGE = "
        f"TG_TABLE_NAME || ' is append-only: ' || TG_OP || ' is refused ({_WHY})'; END $$",
        f"DROP TRIGGER IF EXISTS {row} ON {name}",
        f"CREATE TRIGGER {row} BEFORE UPDATE OR DELETE ON {name} "
        f"FOR EACH ROW EXECUTE FUNCTION {function}()",
        f"DROP TRIGGER IF EXISTS {truncate} ON {name}",
        f"CREATE TRIGGER {truncate} BEFORE TRUNCATE ON {name} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
    ]


def _function(table: str) -> str:
    return f"{table}_refuse_change"


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
