"""Privileges of the runtime role on PostgreSQL, granted by the migrating (owner) role.

Migrations run as the role owning the tables (``BASTION_MIGRATE_DATABASE_URL``);
the server may run as another one with fewer rights (``BASTION_DATABASE_URL``).
When the two users differ, every apply ends by granting the runtime role what
the server needs on Bastion's tables, and no more:

- ``SELECT, INSERT, UPDATE, DELETE`` on every table the revisions created
  and on Bastion's own (idempotency keys);
- only ``SELECT, INSERT`` on the append-only tables (the event log), whose
  ``UPDATE``, ``DELETE`` and ``TRUNCATE`` are revoked should an earlier
  grant have given them;
- ``USAGE`` on the sequences those tables own, if any.

The migrations' own table (``bastion_migrations``) is left out: the server
never reads it. Grants are idempotent, so each apply repeats them, even with
nothing pending: ``bastion migrate apply`` is how a new runtime role gets them.

Example::

    role = runtime_role("postgresql://app@db/shop", migrating_user="owner")  # "app"
    if role is not None:
        grant_runtime_privileges(sync_connection, role=role, tables={"orders", "bastion_events"})
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from bastion.adapters.sql.migrations.append_only import APPEND_ONLY_TABLES

__all__ = ["grant_runtime_privileges", "runtime_role"]

_OWNED_SEQUENCES = sa.text(
    "SELECT DISTINCT s.relname FROM pg_depend d "
    "JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' "
    "JOIN pg_class t ON t.oid = d.refobjid "
    "WHERE d.classid = CAST('pg_class' AS regclass) "
    "AND d.refclassid = CAST('pg_class' AS regclass) "
    "AND t.relnamespace = CAST(current_schema() AS regnamespace) "
    "AND t.relname = ANY(:tables) ORDER BY s.relname"
)
"""Sequences owned by the given tables of the current schema (serial and identity columns)."""


def runtime_role(runtime_url: str | None, *, migrating_user: str) -> str | None:
    """The user of ``runtime_url`` when it is a PostgreSQL URL naming a user other than
    ``migrating_user`` (the migrations' ``current_user``); ``None``: nobody else to grant to.

    A runtime URL naming no user is left alone: which user the driver would pick
    (``PGUSER``, the system user) is not known here.
    """
    if runtime_url is None:
        return None
    running = sa.make_url(runtime_url)
    if running.get_backend_name() not in ("postgresql", "postgres"):
        return None
    if not running.username or running.username == migrating_user:
        return None
    return running.username


def grant_runtime_privileges(
    connection: sa.Connection, *, role: str, tables: Iterable[str]
) -> None:
    """Grant ``role`` its privileges on those of ``tables`` that exist (see the module).

    Raises:
        sqlalchemy.exc.DBAPIError: the database refused (no such role, for one).
    """
    existing = set(sa.inspect(connection).get_table_names()) & set(tables)
    if not existing:
        return
    quote = connection.dialect.identifier_preparer.quote
    grantee = quote(role)
    append_only = sorted(existing & set(APPEND_ONLY_TABLES))
    read_write = sorted(existing - set(append_only))
    statements = []
    if read_write:
        listed = ", ".join(quote(table) for table in read_write)
        statements.append(f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE {listed} TO {grantee}")
    for table in append_only:
        statements.append(f"GRANT SELECT, INSERT ON TABLE {quote(table)} TO {grantee}")
        statements.append(f"REVOKE UPDATE, DELETE, TRUNCATE ON TABLE {quote(table)} FROM {grantee}")
    sequences = connection.execute(_OWNED_SEQUENCES, {"tables": sorted(existing)}).scalars()
    listed = ", ".join(quote(str(sequence)) for sequence in sequences)
    if listed:
        statements.append(f"GRANT USAGE ON SEQUENCE {listed} TO {grantee}")
    for statement in statements:
        connection.exec_driver_sql(statement)
