"""The component schemas of one resource: its record, create, patch, page and batch bodies.

For a resource ``customers`` (component base name ``Customers``):

- ``Customers``: a record as served (system fields, then every field but
  write-only ones); every member is present.
- ``CustomersCreate``: a create or replace (``PUT``) body; read-only fields
  are refused, required fields without a default must be given.
- ``CustomersPatch``: a JSON merge patch; everything optional, ``null``
  clears a field that is not required.
- ``CustomersSelected``: a record as ``fields`` and ``expand`` shape it (in a
  list page, or one record read with them): ``fields`` may leave members out
  (``id`` stays), ``expand`` replaces ids with records and adds has-many lists.
- ``CustomersPage``, ``CustomersBatch``, ``CustomersBatchResult``.
"""

from __future__ import annotations

from dataclasses import dataclass

from bastion.api.rest.openapi.fields import Schema, field_schema, nullable
from bastion.api.rest.openapi.views import ApiView, ResourceView

__all__ = ["SYSTEM_SCHEMAS", "DocumentLimits", "ref", "resource_schemas"]


@dataclass(frozen=True, slots=True)
class DocumentLimits:
    """Server limits the document states (from the settings)."""

    batch_max: int | None = None
    """Most records one batch creates (its ``maxItems``); ``None`` leaves it unstated."""


SYSTEM_SCHEMAS: dict[str, Schema] = {
    "id": {
        "type": "string",
        "format": "uuid",
        "readOnly": True,
        "description": "Assigned by the server: a UUIDv7, so ids sort in creation order.",
        "examples": ["0190a6f2-3c4d-7e5f-8a9b-0c1d2e3f4a5b"],
    },
    "created_at": {
        "type": "string",
        "format": "date-time",
        "readOnly": True,
        "description": "When the record was created (RFC 3339, UTC, with Z).",
        "examples": ["2026-11-25T13:47:19.290274Z"],
    },
    "updated_at": {
        "type": "string",
        "format": "date-time",
        "readOnly": True,
        "description": "When the record last changed (RFC 3339, UTC, with Z).",
        "examples": ["2026-11-25T13:48:17.254108Z"],
    },
    "version": {
        "type": "integer",
        "minimum": 1,
        "readOnly": True,
        "description": 'Bumped by every accepted write; the record\'s ETag is `"<version>"`.',
        "examples": [1],
    },
}
"""The members Bastion adds to every record."""


def ref(name: str) -> Schema:
    """A reference to the component schema ``name``."""
    return {"$ref": f"#/components/schemas/{name}"}


def _record(view: ResourceView) -> Schema:
    properties = dict(SYSTEM_SCHEMAS)
    for name, field in view.readable.items():
        properties[name] = field_schema(field, mode="read")
    # A field behind a feature flag is left out while the flag is off for the caller.
    flagged = {name for name, field in view.readable.items() if field.flag is not None}
    required = [name for name in properties if name not in flagged]
    schema: Schema = {"type": "object", "properties": properties, "required": required}
    if view.resource.description:
        schema["description"] = view.resource.description
    return schema


def _create(view: ResourceView) -> Schema:
    writable = view.writable
    schema: Schema = {
        "type": "object",
        "description": f"A new {view.name} record (also the body of a replace, PUT).",
        "properties": {
            name: field_schema(field, mode="create") for name, field in writable.items()
        },
        "additionalProperties": False,
    }
    required = [
        name for name, field in writable.items() if field.required and not field.has_default
    ]
    if required:
        schema["required"] = required
    return schema


def _patch(view: ResourceView) -> Schema:
    return {
        "type": "object",
        "description": (
            f"A JSON merge patch (RFC 7396) of a {view.name} record: the members given "
            "change, `null` clears a field that is not required, json fields merge."
        ),
        "properties": {
            name: field_schema(field, mode="patch") for name, field in view.writable.items()
        },
        "additionalProperties": False,
    }


def _selected(api: ApiView, view: ResourceView) -> Schema:
    properties = dict(SYSTEM_SCHEMAS)
    for name, field in view.readable.items():
        properties[name] = field_schema(field, mode="read")
    for name, reference in view.references.items():
        target = ref(api.resources[reference.resource].schema_name)
        choice: Schema = {"anyOf": [{"type": "string", "format": "uuid"}, target]}
        properties[name] = {
            "description": f"The id of a {reference.resource} record, or the record "
            f"itself when `expand` names {name}.",
            **(choice if reference.required else nullable(choice)),
        }
    for name, relation in view.resource.has_many.items():
        properties[name] = {
            "type": "array",
            "items": ref(api.resources[relation.resource].schema_name),
            "maxItems": relation.expand_limit,
            "description": f"Present when `expand` names {name}: up to "
            f"{relation.expand_limit} related {relation.resource} records.",
        }
    return {
        "type": "object",
        "description": f"A {view.name} record with only the members `fields` asks for (all "
        "by default, `id` always) and the relations named in `expand` embedded.",
        "properties": properties,
        "required": ["id"],
    }


def _page(view: ResourceView) -> Schema:
    return {
        "type": "object",
        "description": f"One page of {view.name} records.",
        "properties": {
            "data": {"type": "array", "items": ref(f"{view.schema_name}Selected")},
            "next_cursor": {
                "type": ["string", "null"],
                "description": "Pass as `cursor` to get the next page; null on the last page.",
            },
            "has_more": {"type": "boolean", "description": "Whether more records follow."},
            "total": {
                "type": "integer",
                "minimum": 0,
                "description": "Records matching the filters, on every page (`count=exact` only).",
            },
        },
        "required": ["data", "next_cursor", "has_more"],
    }


def _batch(view: ResourceView, limits: DocumentLimits) -> Schema:
    records: Schema = {"type": "array", "items": ref(f"{view.schema_name}Create"), "minItems": 1}
    if limits.batch_max is not None:
        records["maxItems"] = limits.batch_max
    return {
        "type": "object",
        "description": f"Several {view.name} records created in one transaction: all or none.",
        "properties": {"records": records},
        "required": ["records"],
        "additionalProperties": False,
    }


def _batch_result(view: ResourceView) -> Schema:
    return {
        "type": "object",
        "description": f"The {view.name} records created, in the order sent.",
        "properties": {"data": {"type": "array", "items": ref(view.schema_name)}},
        "required": ["data"],
    }


def resource_schemas(api: ApiView, view: ResourceView, limits: DocumentLimits) -> dict[str, Schema]:
    """Every component schema of one resource in one version, by component name."""
    base = view.schema_name
    return {
        base: _record(view),
        f"{base}Create": _create(view),
        f"{base}Patch": _patch(view),
        f"{base}Selected": _selected(api, view),
        f"{base}Page": _page(view),
        f"{base}Batch": _batch(view, limits),
        f"{base}BatchResult": _batch_result(view),
    }
