"""The document's parts for history and time travel: the schemas of a history page, the
``limit`` of ``/{id}/history`` and the ``as_of`` parameter of a single-record read.

Every resource whose changes are logged (``events``, on by default) has
``/v1/{resource}/{id}/history``; its events share one schema, ``HistoryPage``.
"""

from __future__ import annotations

from bastion.api.rest.openapi.fields import Schema
from bastion.core.events.history import DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT

__all__ = [
    "AS_OF_PARAMETER",
    "ERASED_FIELDS_HEADER_SCHEMA",
    "ETAG_UNLESS_AS_OF",
    "HISTORY_LIMIT_PARAMETER",
    "history_schemas",
]

AS_OF_PARAMETER: Schema = {
    "name": "as_of",
    "in": "query",
    "required": False,
    "description": "Read the record as it was at this instant (RFC 3339, with `Z` or an "
    "offset), rebuilt from its event log: 404 if it did not exist yet or was deleted by "
    "then, 400 for a time in the future. Answered without `ETag` and with "
    "`Cache-Control: no-store`; `expand` cannot be combined with it.",
    "schema": {"type": "string", "format": "date-time"},
}

HISTORY_LIMIT_PARAMETER: Schema = {
    "name": "limit",
    "in": "query",
    "required": False,
    "description": f"Events per page (default {DEFAULT_HISTORY_LIMIT}, "
    f"at most {MAX_HISTORY_LIMIT}).",
    "schema": {
        "type": "integer",
        "minimum": 1,
        "maximum": MAX_HISTORY_LIMIT,
        "default": DEFAULT_HISTORY_LIMIT,
    },
}

ERASED_FIELDS_HEADER_SCHEMA: Schema = {
    "description": "With `as_of`: the personal fields left out of the record because their "
    "values were erased (comma-separated).",
    "schema": {"type": "string"},
}

ETAG_UNLESS_AS_OF: Schema = {
    "description": 'The version of the record, as a strong entity tag: `"<version>"` '
    "(not sent with `as_of`: a past state is not the current version).",
    "schema": {"type": "string", "pattern": '^"[0-9]+"$', "examples": ['"3"']},
}
"""``ETag`` of a single-record read, which ``as_of`` answers without."""


def history_schemas() -> dict[str, Schema]:
    """``HistoryPage``, ``HistoryEvent`` and ``FieldChange``, for ``components.schemas``."""
    change: Schema = {
        "type": "object",
        "description": "A field's value before and after the change (null before a create, "
        'after a delete); write-only fields read `"[redacted]"`, erased personal data '
        '`"[erased]"`.',
        "properties": {"before": {}, "after": {}},
        "required": ["before", "after"],
    }
    nullable_text: Schema = {"type": ["string", "null"]}
    event: Schema = {
        "type": "object",
        "description": "One change of the record, as the event log keeps it.",
        "properties": {
            "id": {"type": "string", "format": "uuid", "description": "The event's id."},
            "type": {
                "type": "string",
                "description": "`<resource>.created`, `.updated` or `.deleted`.",
                "examples": ["orders.updated"],
            },
            "sequence": {
                "type": "integer",
                "minimum": 1,
                "description": "The event's place in the record's history: 1, 2, ...",
            },
            "version": {
                "type": "integer",
                "minimum": 1,
                "description": "The record's version after the change.",
            },
            "time": {
                "type": "string",
                "format": "date-time",
                "description": "When the change was made (the record's `updated_at`).",
            },
            "actor": {
                "type": "object",
                "description": "Who made the change.",
                "properties": {
                    "kind": {
                        "type": "string",
                        "enum": ["user", "service", "anonymous", "system"],
                    },
                    "id": {**nullable_text, "description": "The user's or service's id."},
                },
                "required": ["kind", "id"],
            },
            "request_id": {**nullable_text, "description": "The request that made it."},
            "trace_id": {**nullable_text, "description": "Its trace, when traced."},
            "changes": {
                "type": "object",
                "description": "Field -> its change: every field on a create and a delete, "
                "the fields that changed on an update; fields you may not read are left out.",
                "additionalProperties": {"$ref": "#/components/schemas/FieldChange"},
            },
        },
        "required": [
            "id",
            "type",
            "sequence",
            "version",
            "time",
            "actor",
            "request_id",
            "trace_id",
            "changes",
        ],
    }
    page: Schema = {
        "type": "object",
        "description": "One page of a record's history, oldest change first.",
        "properties": {
            "data": {"type": "array", "items": {"$ref": "#/components/schemas/HistoryEvent"}},
            "next_cursor": {
                "type": ["string", "null"],
                "description": "Pass as `cursor` to get the next page; null on the last page.",
            },
            "has_more": {"type": "boolean", "description": "Whether more events follow."},
        },
        "required": ["data", "next_cursor", "has_more"],
    }
    return {"HistoryPage": page, "HistoryEvent": event, "FieldChange": change}
