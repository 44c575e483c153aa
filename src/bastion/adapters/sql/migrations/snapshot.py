"""The blueprint snapshot each revision embeds: the schema the revision leaves behind.

Only what shapes the schema is kept (resources, their fields, indexes and
descriptions, which become column and table comments). Access rules, hooks,
validation limits and relations that have no column change nothing in the
database, so editing them never shows up as a schema change.

Beside the resources, ``automatic_indexes`` records the indexes Bastion
derived for each table when the revision was planned (see
:func:`bastion.adapters.sql.schema.automatic_indexes`): the rules deriving
them belong to Bastion's code and may change with it, so the snapshot keeps
their outcome rather than relying on the rules staying the same. Snapshots
written before this record have none (see
:mod:`~bastion.adapters.sql.migrations.recorded`).
"""

from __future__ import annotations

from typing import Any

import pydantic

from bastion.adapters.sql.migrations.errors import InvalidRevisionFiles
from bastion.adapters.sql.schema import IndexSpec, automatic_indexes
from bastion.blueprint import Blueprint

__all__ = [
    "AUTOMATIC_INDEXES",
    "Rename",
    "automatic_indexes_from_snapshot",
    "blueprint_from_snapshot",
    "renames_of",
    "snapshot_of",
]

AUTOMATIC_INDEXES = "automatic_indexes"
"""The snapshot's key recording the derived indexes: ``{table: {name: {fields, unique}}}``."""

_NOT_IN_SCHEMA = frozenset(
    {
        "read_only",
        "write_only",
        "renamed_from",
        "pattern",
        "min_length",
        "min",
        "max",
        "owner",
        "personal",
    }
)
"""Field options that only the API checks; every other option may shape the column."""

Rename = tuple[str, str, str]
"""``(table, old column, new column)`` for a field declared with ``renamed_from``."""


class _RecordedIndex(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", strict=True)

    fields: list[str]
    unique: bool


_RECORD = pydantic.TypeAdapter(dict[str, dict[str, _RecordedIndex]])


def snapshot_of(blueprint: Blueprint) -> dict[str, Any]:
    """The schema-relevant part of ``blueprint`` as plain JSON values, derived indexes included."""
    return {
        "resources": {
            name: {
                "description": resource.description,
                "fields": {
                    field_name: {
                        key: value
                        for key, value in field.model_dump(mode="json").items()
                        if key not in _NOT_IN_SCHEMA
                    }
                    for field_name, field in resource.fields.items()
                },
                "indexes": [index.model_dump(mode="json") for index in resource.indexes],
            }
            for name, resource in blueprint.resources.items()
        },
        AUTOMATIC_INDEXES: {
            table: {
                name: {"fields": list(fields), "unique": unique} for name, fields, unique in specs
            }
            for table, specs in automatic_indexes(blueprint).items()
        },
    }


def blueprint_from_snapshot(snapshot: Any, *, revision: str) -> Blueprint:
    """The blueprint a revision's ``BLUEPRINT_SNAPSHOT`` describes.

    Raises:
        InvalidRevisionFiles: the snapshot was edited into something that is not a blueprint.
    """
    if isinstance(snapshot, dict):
        snapshot = {key: value for key, value in snapshot.items() if key != AUTOMATIC_INDEXES}
    try:
        return Blueprint.model_validate(snapshot)
    except pydantic.ValidationError as exc:
        raise InvalidRevisionFiles(
            f"BLUEPRINT_SNAPSHOT in revision {revision} is not a valid blueprint ({exc}); "
            "restore the file from version control"
        ) from exc


def automatic_indexes_from_snapshot(
    snapshot: Any, *, revision: str
) -> dict[str, list[IndexSpec]] | None:
    """The derived indexes a revision's snapshot records; ``None`` for a snapshot without them.

    Raises:
        InvalidRevisionFiles: the record was edited into something else.
    """
    if not isinstance(snapshot, dict) or AUTOMATIC_INDEXES not in snapshot:
        return None
    try:
        record = _RECORD.validate_python(snapshot[AUTOMATIC_INDEXES])
    except pydantic.ValidationError as exc:
        raise InvalidRevisionFiles(
            f"{AUTOMATIC_INDEXES} in the BLUEPRINT_SNAPSHOT of revision {revision} is not a "
            f"record of indexes ({exc}); restore the file from version control"
        ) from exc
    return {
        table: [(name, tuple(index.fields), index.unique) for name, index in indexes.items()]
        for table, indexes in record.items()
    }


def renames_of(blueprint: Blueprint) -> list[Rename]:
    """Every column rename the blueprint declares with ``renamed_from``."""
    return [
        (table, field.renamed_from, name)
        for table, resource in blueprint.resources.items()
        for name, field in resource.fields.items()
        if field.renamed_from and field.renamed_from != name
    ]
