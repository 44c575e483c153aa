"""JSON Schemas of the events Bastion publishes: the CloudEvents envelope and each payload.

Every event is a CloudEvents 1.0 document in structured JSON mode. The shared
parts (the envelope, its ``data``, the actor) are component schemas; each
message narrows them to one event type with ``allOf``. Field values use the
schemas of the OpenAPI document (:func:`bastion.api.rest.openapi.fields.field_schema`),
so an event carries a value exactly as the REST API serves it.

Example:
    >>> from bastion.blueprint import Resource, StringField
    >>> notes = Resource(fields={"title": StringField(required=True)})
    >>> sorted(changes_schema(notes)["properties"]["title"]["properties"])
    ['after', 'before']
"""

from __future__ import annotations

import re
from typing import Literal

from bastion.api.rest.openapi.fields import Schema, field_schema, nullable
from bastion.api.rest.openapi.views import schema_base_name
from bastion.blueprint import AnyField, Resource

__all__ = [
    "ACTIONS",
    "ACTOR_KINDS",
    "ERASED",
    "REDACTED",
    "Action",
    "changes_schema",
    "changes_schema_name",
    "envelope_schemas",
    "payload_schema",
    "ref",
]

Action = Literal["created", "updated", "deleted"]
"""What happened to the record: the second half of an event type (``orders.created``)."""

ACTIONS: tuple[Action, ...] = ("created", "updated", "deleted")

ACTOR_KINDS = ("user", "service", "anonymous", "system")
"""Who made a change: a signed-in user, a service account, an unauthenticated caller of
an open resource, or the server itself (the command line, hooks run outside a request)."""

REDACTED = "[redacted]"
"""What an event carries instead of a ``write_only`` field's value."""

ERASED = "[erased]"
"""What an event carries for a ``personal`` field once its record's data was erased."""

_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

CLOUD_EVENT = "CloudEvent"
EVENT_DATA = "EventData"
ACTOR = "Actor"


def ref(name: str) -> Schema:
    """A reference to the component schema ``name``."""
    return {"$ref": f"#/components/schemas/{name}"}


def changes_schema_name(resource: str) -> str:
    """The component name of a resource's changes: ``order_items`` -> ``OrderItemsChanges``."""
    return f"{schema_base_name(resource)}Changes"


def envelope_schemas() -> dict[str, Schema]:
    """The component schemas every event shares: its envelope, its data and its actor."""
    nullable_string: Schema = {"type": ["string", "null"]}
    return {
        CLOUD_EVENT: {
            "type": "object",
            "description": (
                "A CloudEvents 1.0 event in structured JSON mode (`application/cloudevents+json`)."
            ),
            "properties": {
                "specversion": {"type": "string", "const": "1.0"},
                "id": {
                    "type": "string",
                    "format": "uuid",
                    "description": "The event id, a UUIDv7. Delivery is at least once: "
                    "deduplicate on it.",
                },
                "source": {
                    "type": "string",
                    "description": "The collection of the record: `/v1/<resource>`.",
                },
                "type": {
                    "type": "string",
                    "description": "`<resource>.created`, `<resource>.updated` or "
                    "`<resource>.deleted`.",
                },
                "subject": {
                    "type": "string",
                    "description": "The record the event is about: `<resource>/<record id>`. "
                    "Events of one subject arrive in `sequence` order.",
                },
                "time": {
                    "type": "string",
                    "format": "date-time",
                    "description": "When the change was committed (RFC 3339, UTC, with Z).",
                },
                "datacontenttype": {"type": "string", "const": "application/json"},
                "sequence": {
                    "type": "string",
                    "pattern": "^[1-9][0-9]*$",
                    "description": "The position of the event in its record's stream "
                    "(1, 2, ...), as a string: compare as integers.",
                },
                "data": ref(EVENT_DATA),
            },
            "required": [
                "specversion",
                "id",
                "source",
                "type",
                "subject",
                "time",
                "datacontenttype",
                "sequence",
                "data",
            ],
        },
        EVENT_DATA: {
            "type": "object",
            "description": "What changed in the record, and who changed it.",
            "properties": {
                "resource": {"type": "string", "description": "The resource's name."},
                "id": {"type": "string", "format": "uuid", "description": "The record's id."},
                "version": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "The record's version after the change (its ETag).",
                },
                "changes": {
                    "type": "object",
                    "description": "Per field, its value before and after the change.",
                },
                "actor": ref(ACTOR),
                "request_id": {
                    **nullable_string,
                    "description": "The id of the request that made the change, if any.",
                },
                "trace_id": {
                    **nullable_string,
                    "description": "The W3C trace id of that request, if it was traced.",
                },
            },
            "required": ["resource", "id", "version", "changes", "actor", "request_id", "trace_id"],
        },
        ACTOR: {
            "type": "object",
            "description": "Who made the change.",
            "properties": {
                "kind": {"type": "string", "enum": list(ACTOR_KINDS)},
                "id": {
                    **nullable_string,
                    "description": "The user's or service's id; null for anonymous callers "
                    "and the system.",
                },
            },
            "required": ["kind", "id"],
        },
    }


def _value_schema(field: AnyField) -> Schema:
    """A value of ``field`` in an event: as the REST API serves it, or null (none yet / gone)."""
    if field.write_only:
        return {
            "enum": [REDACTED, None],
            "description": "Write-only: the value is never sent, only that it changed.",
        }
    schema = field_schema(field, mode="read")
    schema.pop("readOnly", None)  # meaningless outside a request/response pair
    if field.required:
        schema = nullable(schema)  # optional fields are nullable already
    if getattr(field, "personal", False):
        erased: Schema = {"const": ERASED, "description": "Erased with the record's data."}
        return {"anyOf": [schema, erased]}
    return schema


def changes_schema(resource: Resource) -> Schema:
    """The ``data.changes`` of an event of ``resource``: one ``{before, after}`` per field.

    Field names are the blueprint's (API versions may rename fields; events do not).
    Members are not required: an update carries only the fields it changed.
    """
    properties: Schema = {}
    for name, field in resource.fields.items():
        value = _value_schema(field)
        change: Schema = {
            "type": "object",
            "properties": {"before": value, "after": dict(value)},
            "required": ["before", "after"],
            "additionalProperties": False,
        }
        properties[name] = change
    return {
        "type": "object",
        "description": "Per field, its value before and after the change (null: none).",
        "properties": properties,
    }


def _narrowed_changes(resource: str, action: Action) -> Schema:
    base = ref(changes_schema_name(resource))
    if action == "updated":
        return {"description": "Only the fields the update changed.", "allOf": [base]}
    side = "before" if action == "created" else "after"
    # A subschema without ``properties``: its ``additionalProperties`` applies to every member.
    every: Schema = {"additionalProperties": {"properties": {side: {"type": "null"}}}}
    what = "before` is null (a new record)" if side == "before" else "after` is null (deleted)"
    return {"description": f"Every field; each `{what}.", "allOf": [base, every]}


def payload_schema(resource: str, action: Action) -> Schema:
    """The schema of an event of type ``<resource>.<action>``: the envelope, narrowed."""
    return {
        "allOf": [
            ref(CLOUD_EVENT),
            {
                "type": "object",
                "properties": {
                    "type": {"type": "string", "const": f"{resource}.{action}"},
                    "source": {"type": "string", "const": f"/v1/{resource}"},
                    "subject": {
                        "type": "string",
                        "pattern": f"^{re.escape(resource)}/{_UUID}$",
                    },
                    "data": {
                        "type": "object",
                        "properties": {
                            "resource": {"type": "string", "const": resource},
                            "changes": _narrowed_changes(resource, action),
                        },
                    },
                },
            },
        ]
    }
