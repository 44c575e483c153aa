"""Driver errors translated into core errors at the adapter's boundary."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping

import asyncpg

from bastion.core.errors import (
    BastionError,
    Conflict,
    FieldError,
    InvalidInput,
    StoreUnavailable,
    UniqueViolation,
)

__all__ = ["translate_error"]

_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (.+)")
_SQLITE_NOT_NULL = re.compile(r"NOT NULL constraint failed: \w+\.(\w+)")


def _unique(fields: list[str]) -> UniqueViolation:
    label = ", ".join(fields) if fields else "a unique value"
    detail = (
        f"another record already has this {label}"
        if len(fields) == 1
        else f"another record already has this combination of {label}"
    )
    return UniqueViolation(
        detail,
        errors=tuple(FieldError(f"/{name}", "is already taken") for name in fields),
    )


def translate_error(
    exc: BaseException, *, index_fields: Mapping[str, tuple[str, ...]]
) -> BastionError | None:
    """The core error for a driver error, or ``None`` if it is not one we expect.

    Args:
        exc: what the driver raised.
        index_fields: unique index name -> the fields it covers (to name them).
    """
    if isinstance(exc, sqlite3.IntegrityError):
        message = str(exc)
        if match := _SQLITE_UNIQUE.match(message):
            columns = [part.strip().split(".")[-1] for part in match.group(1).split(",")]
            return _unique(columns)
        if match := _SQLITE_NOT_NULL.match(message):
            field = match.group(1)
            return InvalidInput(
                f"{field} is required", errors=(FieldError(f"/{field}", "is required"),)
            )
        if "FOREIGN KEY" in message:
            return Conflict(
                "the change refers to a record that does not exist or is still referred to"
            )
        return None
    if isinstance(exc, sqlite3.OperationalError):
        if "locked" in str(exc) or "busy" in str(exc):
            return StoreUnavailable("the database is busy; retry shortly")
        return None
    if isinstance(exc, asyncpg.UniqueViolationError):
        name = getattr(exc, "constraint_name", None) or ""
        return _unique(list(index_fields.get(name, ())))
    if isinstance(exc, asyncpg.NotNullViolationError):
        field = getattr(exc, "column_name", None) or "a field"
        return InvalidInput(
            f"{field} is required", errors=(FieldError(f"/{field}", "is required"),)
        )
    if isinstance(exc, asyncpg.ForeignKeyViolationError):
        return Conflict("the change refers to a record that does not exist or is still referred to")
    if isinstance(
        exc,
        asyncpg.PostgresConnectionError
        | asyncpg.TooManyConnectionsError
        | asyncpg.QueryCanceledError
        | asyncpg.CannotConnectNowError
        | ConnectionError
        | TimeoutError,
    ):
        return StoreUnavailable("the database did not answer in time; retry shortly")
    return None
