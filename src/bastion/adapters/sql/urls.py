"""Database URLs: which dialect, and the forms each library wants."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from bastion.adapters.sql.schema import Dialect
from bastion.core.errors import BastionError

__all__ = ["DatabaseUrl", "UnsupportedDatabase", "parse_database_url"]


class UnsupportedDatabase(BastionError):
    """The database URL names an engine Bastion cannot use."""

    code = "unsupported_database"
    title = "Unsupported database"


@dataclass(frozen=True, slots=True)
class DatabaseUrl:
    """A database URL understood three ways."""

    dialect: Dialect
    sqlalchemy_url: str
    """For SQLAlchemy's async engine (migrations): ``sqlite+aiosqlite://`` or ``postgresql+asyncpg://``."""
    driver_dsn: str
    """For the driver itself: a file path for sqlite3, a ``postgresql://`` DSN for asyncpg."""

    @property
    def redacted(self) -> str:
        """The URL with any password masked, safe for logs."""
        return sa.make_url(self.sqlalchemy_url).render_as_string(hide_password=True)


def parse_database_url(url: str) -> DatabaseUrl:
    """Accept ``sqlite:///file.db``, ``sqlite+aiosqlite:///file.db``, ``postgresql://...``,
    ``postgres://...`` and ``postgresql+asyncpg://...``.

    Raises:
        UnsupportedDatabase: for any other scheme, saying which are supported.
    """
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise UnsupportedDatabase(
            f"cannot read the database URL {url!r}: write e.g. sqlite+aiosqlite:///./bastion.db "
            "or postgresql://user@127.0.0.1:5432/app"
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ":memory:"
        return DatabaseUrl(
            dialect="sqlite",
            sqlalchemy_url=parsed.set(drivername="sqlite+aiosqlite").render_as_string(
                hide_password=False
            ),
            driver_dsn=database,
        )
    if backend in ("postgresql", "postgres"):
        async_url = parsed.set(drivername="postgresql+asyncpg")
        return DatabaseUrl(
            dialect="postgresql",
            sqlalchemy_url=async_url.render_as_string(hide_password=False),
            driver_dsn=parsed.set(drivername="postgresql").render_as_string(hide_password=False),
        )
    raise UnsupportedDatabase(
        f"the database URL uses {backend!r}, which Bastion does not support: "
        "use sqlite+aiosqlite:///./bastion.db (embedded) or postgresql://user@host:5432/db"
    )
