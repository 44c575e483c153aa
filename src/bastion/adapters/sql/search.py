"""Full-text search objects: what each database keeps so that ``?q=`` is an index lookup.

========== ==================================================================
PostgreSQL a stored generated column ``bastion_search`` (``tsvector``, text
           search configuration ``simple``) over the searchable fields, with a
           GIN index
SQLite     an FTS5 external-content table ``bastion_search_<resource>``
           (tokenizer ``unicode61 remove_diacritics 2``) over the table's
           implicit ``rowid``, kept in sync by three triggers
========== ==================================================================

Neither object is part of the SQLAlchemy metadata the store compiles its
statements from, so the store never selects nor writes them. Migrations create
and drop them from the difference between two blueprints
(:mod:`bastion.adapters.sql.migrations.search`); ``metadata.create_all`` creates
them too, through DDL events :func:`add_search_ddl` attaches.

A search word matches a word of the text that starts with it (prefix match),
each database splitting the text into words with its own parser; every word of
``q`` must match. The user's words never reach either query language as
syntax: each one is quoted as a plain string.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bastion.adapters.sql.types import Dialect, identifier
from bastion.blueprint import Blueprint

__all__ = [
    "SEARCH_COLUMN",
    "SearchIndex",
    "add_search_ddl",
    "is_search_index",
    "match_condition",
    "match_query",
    "search_indexes",
]

SEARCH_COLUMN = "bastion_search"
"""PostgreSQL: the generated ``tsvector`` column of a table with searchable fields."""

_FTS_PREFIX = "bastion_search_"  # the blueprint refuses resources named bastion_*
_TOKENIZER = "unicode61 remove_diacritics 2"
_CONFIG = "'simple'"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _gin_index(table: str) -> str:
    return identifier(f"ix_{table}_{SEARCH_COLUMN}")


def is_search_index(name: str | None, table: str) -> bool:
    """Whether ``name`` is the GIN index of ``table``'s search column."""
    return name == _gin_index(table)


@dataclass(frozen=True, slots=True)
class SearchIndex:
    """The full-text search of one table: which fields it reads, and its DDL on each database.

    Attributes:
        table: The resource's table.
        fields: The searchable fields, in blueprint order.
    """

    table: str
    fields: tuple[str, ...]

    @property
    def fts_table(self) -> str:
        """SQLite: the FTS5 table holding the index."""
        return f"{_FTS_PREFIX}{self.table}"

    def create(self, dialect: Dialect) -> list[str]:
        """The statements creating the search objects, indexing the rows already there."""
        table = _quoted(self.table)
        if dialect == "postgresql":
            text = " || ' ' || ".join(f"coalesce({_quoted(f)}, '')" for f in self.fields)
            column = _quoted(SEARCH_COLUMN)
            return [
                f"ALTER TABLE {table} ADD COLUMN {column} tsvector "
                f"GENERATED ALWAYS AS (to_tsvector({_CONFIG}, {text})) STORED",
                f"CREATE INDEX {_quoted(_gin_index(self.table))} ON {table} USING gin ({column})",
            ]
        fts = _quoted(self.fts_table)
        columns = ", ".join(_quoted(f) for f in self.fields)
        new = ", ".join(f"new.{_quoted(f)}" for f in self.fields)
        old = ", ".join(f"old.{_quoted(f)}" for f in self.fields)
        insert = f"INSERT INTO {fts} (rowid, {columns}) VALUES (new.rowid, {new});"
        delete = f"INSERT INTO {fts} ({fts}, rowid, {columns}) VALUES ('delete', old.rowid, {old});"
        ai, ad, au = self._triggers()
        return [
            f"CREATE VIRTUAL TABLE {fts} USING fts5({columns}, content='{self.table}', "
            f"content_rowid='rowid', tokenize='{_TOKENIZER}')",
            f"CREATE TRIGGER {ai} AFTER INSERT ON {table} BEGIN {insert} END",
            f"CREATE TRIGGER {ad} AFTER DELETE ON {table} BEGIN {delete} END",
            f"CREATE TRIGGER {au} AFTER UPDATE OF {columns} ON {table} BEGIN {delete} {insert} END",
            # External content: the index starts empty; this reads every row already there.
            f"INSERT INTO {fts} ({fts}) VALUES ('rebuild')",
        ]

    def drop(self, dialect: Dialect) -> list[str]:
        """The statements dropping the search objects (tolerant of ones already gone)."""
        if dialect == "postgresql":
            # The GIN index goes with its column.
            return [
                f"ALTER TABLE {_quoted(self.table)} DROP COLUMN IF EXISTS {_quoted(SEARCH_COLUMN)}"
            ]
        # SQLite's batch mode drops the triggers with the table it copies, hence IF EXISTS.
        triggers = [f"DROP TRIGGER IF EXISTS {trigger}" for trigger in self._triggers()]
        return [*triggers, f"DROP TABLE IF EXISTS {_quoted(self.fts_table)}"]

    def _triggers(self) -> tuple[str, str, str]:
        prefix = self.fts_table
        return _quoted(f"{prefix}_ai"), _quoted(f"{prefix}_ad"), _quoted(f"{prefix}_au")


def search_indexes(blueprint: Blueprint) -> dict[str, SearchIndex]:
    """The full-text search of every resource with searchable fields, by table."""
    indexes: dict[str, SearchIndex] = {}
    for name, resource in blueprint.resources.items():
        fields = tuple(f for f, spec in resource.fields.items() if spec.searchable)
        if fields:
            indexes[name] = SearchIndex(name, fields)
    return indexes


def add_search_ddl(table: sa.Table, index: SearchIndex) -> None:
    """Make ``metadata.create_all`` create ``index`` with ``table`` (and ``drop_all`` drop it)."""
    for dialect in ("sqlite", "postgresql"):
        for statement in index.create(dialect):
            sa.event.listen(table, "after_create", _ddl(statement, dialect))
    for statement in index.drop("sqlite"):
        sa.event.listen(table, "after_drop", _ddl(statement, "sqlite"))


def _ddl(statement: str, dialect: Dialect) -> sa.ExecutableDDLElement:
    ddl = sa.DDL(statement.replace("%", "%%"))  # type: ignore[no-untyped-call]
    return ddl.execute_if(dialect=dialect)


def match_condition(table: sa.Table, dialect: Dialect, query: Any) -> sa.ColumnElement[bool]:
    """Rows of ``table`` matching the search ``query`` (a bound :func:`match_query` value)."""
    if dialect == "postgresql":
        column: sa.ColumnElement[Any] = sa.literal_column(
            f"{_quoted(table.name)}.{_quoted(SEARCH_COLUMN)}"
        )
        return column.bool_op("@@")(sa.func.to_tsquery(sa.literal_column(_CONFIG), query))
    fts = _quoted(f"{_FTS_PREFIX}{table.name}")
    matching: sa.Select[Any] = sa.select(sa.literal_column("rowid")).select_from(sa.text(fts))
    matching = matching.where(sa.literal_column(fts).bool_op("MATCH")(query))
    return sa.literal_column(f"{_quoted(table.name)}.rowid").in_(matching)


def match_query(words: list[str], dialect: Dialect) -> str:
    """The query text for :func:`match_condition`: every word, as a prefix, required.

    Each word is quoted as a string, so quotes, ``OR``, ``-``, ``*``, ``:`` or
    ``NEAR`` in it are plain characters::

        >>> match_query(['caf', 'O"Neil'], "sqlite")
        '"caf"* "O""Neil"*'
        >>> match_query(["caf", "it's"], "postgresql")
        "'caf':* & 'it''s':*"

    A word without letters or digits matches nothing by itself and is ignored
    by both databases (a ``q`` of such words only matches no record).
    """
    cleaned = [word.replace("\x00", " ") for word in words]  # PostgreSQL refuses NUL
    if dialect == "postgresql":
        return " & ".join(
            "'" + word.replace("\\", "\\\\").replace("'", "''") + "':*" for word in cleaned
        )
    return " ".join('"' + word.replace('"', '""') + '"*' for word in cleaned)
