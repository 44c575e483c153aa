"""Migrations generated from the blueprint, run by Alembic on the SQLAlchemy metadata.

``plan_migration`` compares the live database with the blueprint and writes a
revision file (``migrations/versions/0002_<slug>.py``) to commit with the
project; ``apply_migrations`` runs pending revisions under a lock;
``migration_status`` tells what is applied, pending and not yet planned.
Changes that can lose data are refused unless explicitly allowed. On
PostgreSQL the event log is append-only (triggers in the revision creating
it), and a runtime user other than the migrating one is granted only what
the server needs.

Revision files are dialect-neutral: planned on SQLite, they build the
PostgreSQL schema too, and the other way round.
"""

from bastion.adapters.sql.migrations.errors import (
    DatabaseUnreachable,
    DestructiveChange,
    InvalidRevisionFiles,
    MigrationError,
    MigrationFailed,
    MigrationsPending,
    PrivilegesNotGranted,
    RequiredFieldWithoutDefault,
    SchemaAccessDenied,
    UnknownRevision,
)
from bastion.adapters.sql.migrations.planner import plan_migration
from bastion.adapters.sql.migrations.reports import (
    MigrationPlan,
    MigrationStatus,
    ProgressCallback,
    RevisionInfo,
)
from bastion.adapters.sql.migrations.runner import (
    apply_migrations,
    migration_status,
    sync_schema_for_development,
)

__all__ = [
    "DatabaseUnreachable",
    "DestructiveChange",
    "InvalidRevisionFiles",
    "MigrationError",
    "MigrationFailed",
    "MigrationPlan",
    "MigrationStatus",
    "MigrationsPending",
    "PrivilegesNotGranted",
    "ProgressCallback",
    "RequiredFieldWithoutDefault",
    "RevisionInfo",
    "SchemaAccessDenied",
    "UnknownRevision",
    "apply_migrations",
    "migration_status",
    "plan_migration",
    "sync_schema_for_development",
]
