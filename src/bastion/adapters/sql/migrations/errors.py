"""Errors raised while planning or applying migrations.

Each names what went wrong and the command that gets the user unstuck::

    BastionError
    └── MigrationError                  cannot go ahead           (migration_error)
        ├── DestructiveChange           can lose data             (destructive_migration)
        ├── RequiredFieldWithoutDefault rows cannot satisfy it    (required_field_without_default)
        ├── MigrationsPending           revisions not applied     (migrations_pending)
        ├── DatabaseUnreachable         cannot connect            (migration_error)
        ├── UnknownRevision             database ahead of files   (unknown_revision)
        ├── InvalidRevisionFiles        files cannot be read      (invalid_revision_files)
        ├── MigrationFailed             the database refused it   (migration_failed)
        ├── PrivilegesNotGranted        runtime role not granted  (privileges_not_granted)
        └── SchemaAccessDenied          user may not migrate      (migration_error)
"""

from __future__ import annotations

from collections.abc import Sequence

from bastion.core.errors import BastionError

__all__ = [
    "DatabaseUnreachable",
    "DestructiveChange",
    "InvalidRevisionFiles",
    "MigrationError",
    "MigrationFailed",
    "MigrationsPending",
    "PrivilegesNotGranted",
    "RequiredFieldWithoutDefault",
    "SchemaAccessDenied",
    "UnknownRevision",
]


class MigrationError(BastionError):
    """A migration cannot be planned or applied."""

    code = "migration_error"
    title = "Migration error"


class DestructiveChange(MigrationError):
    """The planned change can lose data and ``allow_destructive`` was not given.

    Attributes:
        operations: The operations that can lose data, as described in the plan.
    """

    code = "destructive_migration"
    title = "Destructive migration"

    def __init__(self, changes: Sequence[tuple[str, str]]) -> None:
        """Build the message from ``(operation, why it loses data)`` pairs."""
        self.operations = tuple(operation for operation, _ in changes)
        listed = "\n".join(f"  - {operation}: {why}" for operation, why in changes)
        super().__init__(
            "this migration can lose data:\n"
            f"{listed}\n"
            "Back up the database, then re-run with `--allow-destructive` to apply it anyway. "
            "If a field was renamed rather than removed, declare `renamed_from: <old name>` on "
            "it instead, so the migration renames the column and keeps its data."
        )


class RequiredFieldWithoutDefault(MigrationError):
    """A required field without a default would be added to a table that may hold rows.

    Attributes:
        columns: The columns refused, as ``table.column``.
    """

    code = "required_field_without_default"
    title = "Required field without default"

    def __init__(self, columns: Sequence[str]) -> None:
        """Build the message from the refused ``table.column`` names."""
        self.columns = tuple(columns)
        listed = ", ".join(self.columns)
        super().__init__(
            f"cannot add the required field {listed} without a default: the rows already "
            "in the table would have no value for it. Give the field a `default:` (existing "
            "rows get it), or make it optional (`required: false`), fill it in, and make it "
            "required in a later change."
        )


class MigrationsPending(MigrationError):
    """Revisions exist that the database has not applied yet (or it is otherwise behind).

    Example, for a caller with its own sentence (``bastion serve`` in production)::

        raise MigrationsPending(status.pending, detail="the schema is not up to date; ...")

    Attributes:
        pending: Ids of the revisions not yet applied, oldest first.
    """

    code = "migrations_pending"
    title = "Migrations pending"

    def __init__(self, pending: Sequence[str] = (), *, detail: str | None = None) -> None:
        """Build the message from the ids of the pending revisions, unless ``detail`` is given.

        Raises:
            TypeError: ``pending`` is a string (a sentence belongs in ``detail``).
        """
        if isinstance(pending, str):
            raise TypeError("MigrationsPending takes revision ids; pass a sentence as detail=")
        self.pending = tuple(pending)
        super().__init__(
            detail
            or f"the database has not applied {len(self.pending)} revision(s) yet "
            f"({', '.join(self.pending)}); run `bastion migrate apply` first, then plan again"
        )


class DatabaseUnreachable(MigrationError):
    """The database cannot be connected to: down, unreachable, refused, or missing.

    The message names the database (password hidden) and what to check.
    Shares ``migration_error`` with its parent.

    Attributes:
        database: The database URL, password redacted.
    """

    def __init__(self, detail: str, *, database: str) -> None:
        """Keep the redacted URL beside the message."""
        super().__init__(detail)
        self.database = database


class UnknownRevision(MigrationError):
    """The database records a revision that no file in the migrations folder has."""

    code = "unknown_revision"
    title = "Unknown revision"


class InvalidRevisionFiles(MigrationError):
    """The revision files cannot be loaded or do not form one line of history."""

    code = "invalid_revision_files"
    title = "Invalid revision files"


class MigrationFailed(MigrationError):
    """The database refused a revision; it was rolled back where the database allows.

    Attributes:
        revision: The id of the revision that failed.
    """

    code = "migration_failed"
    title = "Migration failed"

    def __init__(self, detail: str, *, revision: str) -> None:
        """Keep the failed revision's id beside the message."""
        super().__init__(detail)
        self.revision = revision


class PrivilegesNotGranted(MigrationError):
    """The runtime role could not be granted its privileges on Bastion's tables.

    The revisions themselves were applied; the grants are retried by the next
    ``bastion migrate apply``.

    Attributes:
        role: The runtime role (the user of ``BASTION_DATABASE_URL``).
    """

    code = "privileges_not_granted"
    title = "Privileges not granted"

    def __init__(self, detail: str, *, role: str) -> None:
        """Keep the role beside the message."""
        super().__init__(detail)
        self.role = role


class SchemaAccessDenied(MigrationError):
    """The database user may not read or change the schema: PostgreSQL's
    ``permission denied`` while migrating or checking migrations, typically the
    server's runtime role used where the owner's is needed.

    The message names the user, what was refused, and the setting to fix.
    Shares ``migration_error`` with its parent.

    Attributes:
        database: The database URL, password redacted.
    """

    def __init__(self, detail: str, *, database: str) -> None:
        """Keep the redacted URL beside the message."""
        super().__init__(detail)
        self.database = database
