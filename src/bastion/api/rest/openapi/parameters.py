"""Path, query and header parameters: shared ones in components, per-resource ones built here."""

from __future__ import annotations

from bastion.api.rest.openapi.fields import Schema
from bastion.api.rest.openapi.filters import (
    field_filters,
    system_filter_components,
    system_filter_refs,
)
from bastion.api.rest.openapi.views import ApiView, ResourceView
from bastion.blueprint import SYSTEM_FIELDS

__all__ = [
    "MAX_SEARCH_LENGTH",
    "expand_parameter",
    "fields_parameter",
    "list_parameters",
    "names_parameter",
    "parameter_components",
    "parameter_ref",
    "resource_filters",
    "search_parameter",
]

_SORTABLE_SYSTEM_FIELDS = ("id", "created_at", "updated_at")
MAX_SEARCH_LENGTH = 200
"""Longest ``q`` accepted."""

_SHARED: dict[str, Schema] = {
    "id": {
        "name": "id",
        "in": "path",
        "required": True,
        "description": "The record's id (a malformed id answers 404: no such record can exist).",
        "schema": {"type": "string", "format": "uuid"},
    },
    "cursor": {
        "name": "cursor",
        "in": "query",
        "required": False,
        "description": "The `next_cursor` of the previous page, unchanged (opaque).",
        "schema": {"type": "string", "minLength": 1},
    },
    "count": {
        "name": "count",
        "in": "query",
        "required": False,
        "description": "`exact` adds `total`, the number of records the filters match.",
        "schema": {"type": "string", "enum": ["exact"]},
    },
    "If-None-Match": {
        "name": "If-None-Match",
        "in": "header",
        "required": False,
        "description": "The ETag you hold: 304 Not Modified while the record is at that version.",
        "schema": {"type": "string", "examples": ['"1"']},
    },
    "If-Match": {
        "name": "If-Match",
        "in": "header",
        "required": False,
        "description": "The ETag of the version you read: 412 if the record changed since.",
        "schema": {"type": "string", "examples": ['"1"']},
    },
    "If-Match.required": {
        "name": "If-Match",
        "in": "header",
        "required": True,
        "description": "The ETag of the version you read (this resource requires it: 428 "
        "without it); 412 if the record changed since.",
        "schema": {"type": "string", "examples": ['"1"']},
    },
    "Idempotency-Key": {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "A key of your choice (a fresh UUID is a good one): a retry with the same "
        "key and body gets the first response again (with `Idempotent-Replayed: true`) "
        "instead of creating twice.",
        "schema": {"type": "string", "pattern": "^[ -~]{1,255}$", "minLength": 1, "maxLength": 255},
    },
}


def parameter_ref(name: str) -> Schema:
    """A reference to the shared parameter ``name``."""
    return {"$ref": f"#/components/parameters/{name}"}


def parameter_components() -> dict[str, Schema]:
    """Every shared parameter, for ``components.parameters``."""
    return {**{k: dict(v) for k, v in _SHARED.items()}, **system_filter_components()}


def names_parameter(name: str, names: list[str], description: str) -> Schema:
    """A query parameter holding comma-separated names, each one of ``names``."""
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "style": "form",
        "explode": False,
        "schema": {
            "type": "array",
            "items": {"type": "string", "enum": names},
            "minItems": 1,
            "uniqueItems": True,
        },
    }


def resource_filters(api: ApiView, view: ResourceView) -> list[Schema]:
    """Every filter of a resource's lists and aggregates.

    System-field filters are shared references; then each filterable field's,
    and those of the filterable fields of the records its ``belongs_to``
    fields refer to (``customer.email``).
    """
    filters = system_filter_refs()
    for name, field in view.readable.items():
        if field.filterable:
            filters.extend(field_filters(name, field))
    for name, reference in view.references.items():
        target = api.resources[reference.resource]
        for far_name, far_field in target.readable.items():
            if far_field.filterable:
                filters.extend(field_filters(f"{name}.{far_name}", far_field))
    return filters


def _limit(view: ResourceView) -> Schema:
    page = view.resource.page_size
    return {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": f"Records per page (default {page.default}, at most {page.max}).",
        "schema": {"type": "integer", "minimum": 1, "maximum": page.max, "default": page.default},
    }


def fields_parameter(view: ResourceView) -> Schema:
    """``fields``: a sparse fieldset."""
    return names_parameter(
        "fields",
        [*SYSTEM_FIELDS, *view.readable],
        "Only these members in each record (all by default; `id` always).",
    )


def expand_parameter(view: ResourceView) -> list[Schema]:
    """``expand``, when the resource has relations to embed."""
    relations = [*view.references, *view.resource.has_many]
    if not relations:
        return []
    description = (
        "Relations to embed: a `belongs_to` field's id is replaced by the record; "
        "a has-many relation adds a list of its records."
    )
    return [names_parameter("expand", relations, description)]


def search_parameter(view: ResourceView) -> list[Schema]:
    """``q``, when the resource has searchable fields."""
    searchable = [name for name, field in view.readable.items() if field.searchable]
    if not searchable:
        return []
    return [
        {
            "name": "q",
            "in": "query",
            "required": False,
            "description": f"Full-text search in {', '.join(searchable)}.",
            "schema": {"type": "string", "minLength": 1, "maxLength": MAX_SEARCH_LENGTH},
        }
    ]


def list_parameters(api: ApiView, view: ResourceView) -> list[Schema]:
    """Every parameter of ``GET /{version}/{resource}``."""
    sortable = [
        *_SORTABLE_SYSTEM_FIELDS,
        *(n for n, f in view.readable.items() if f.sortable and f.type != "json"),
    ]
    sort = names_parameter(
        "sort",
        [choice for name in sortable for choice in (name, f"-{name}")],
        "Order of the records: field names, `-` first for descending (each field once); "
        "ties are broken by `id`.",
    )
    return [
        _limit(view),
        parameter_ref("cursor"),
        sort,
        fields_parameter(view),
        *expand_parameter(view),
        parameter_ref("count"),
        *search_parameter(view),
        *resource_filters(api, view),
    ]
