"""The blueprint snapshot each revision embeds: the schema the revision leaves behind.

Only what shapes the schema is kept (resources, their fields, indexes and
descriptions, which become column and table comments). Access rules, hooks,
validation limits and relations that have no column change nothing in the
database, so editing them never shows up as a schema change.
"""

from __future__ import annotations

from typing import Any

import pydantic

from bastion.adapters.sql.migrations.errors import InvalidRevisionFiles
from bastion.blueprint import Blueprint

__all__ = ["Rename", "blueprint_from_snapshot", "renames_of", "snapshot_of"]

_NOT_IN_SCHEMA = frozenset(
    {"read_only", "write_only", "renamed_from", "pattern", "min_length", "min", "max", "owner"}
)
"""Field options that only the API checks; every other option may shape the column."""

Rename = tuple[str, str, str]
"""``(table, old column, new column)`` for a field declared with ``renamed_from``."""


def snapshot_of(blueprint: Blueprint) -> dict[str, Any]:
    """The schema-relevant part of ``blueprint`` as plain JSON values."""
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
        }
    }


def blueprint_from_snapshot(snapshot: Any, *, revision: str) -> Blueprint:
    """The blueprint a revision's ``BLUEPRINT_SNAPSHOT`` describes.

    Raises:
        InvalidRevisionFiles: the snapshot was edited into something that is not a blueprint.
    """
    try:
        return Blueprint.model_validate(snapshot)
    except pydantic.ValidationError as exc:
        raise InvalidRevisionFiles(
            f"BLUEPRINT_SNAPSHOT in revision {revision} is not a valid blueprint ({exc}); "
            "restore the file from version control"
        ) from exc


def renames_of(blueprint: Blueprint) -> list[Rename]:
    """Every column rename the blueprint declares with ``renamed_from``."""
    return [
        (table, field.renamed_from, name)
        for table, resource in blueprint.resources.items()
        for name, field in resource.fields.items()
        if field.renamed_from and field.renamed_from != name
    ]
