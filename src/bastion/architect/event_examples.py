"""Example events for the AsyncAPI document: one plausible event of each type.

Field values are the examples of the OpenAPI document's field schemas, so an
example shows values exactly as the REST API serves them.

Example:
    >>> from bastion.blueprint import Resource, StringField
    >>> notes = Resource(fields={"title": StringField(required=True)})
    >>> example_event("notes", notes, "created")["data"]["changes"]
    {'title': {'before': None, 'after': 'example'}}
"""

from __future__ import annotations

from typing import Any

from bastion.api.rest.openapi.fields import Schema, field_schema
from bastion.architect.event_schemas import REDACTED, Action
from bastion.blueprint import AnyField, Resource

__all__ = ["example_event"]

_RECORD_ID = "0190a6f2-3c4d-7e5f-8a9b-0c1d2e3f4a5b"
_ACTOR_ID = "0190a6f1-1a2b-7c3d-8e4f-5a6b7c8d9e0f"
_EVENT_IDS = {
    "created": "0193651c-2f4e-7a10-9b3c-4d5e6f708192",
    "updated": "0193651c-8a01-7b22-8c3d-4e5f60718293",
    "deleted": "0193651d-0b12-7c33-9d4e-5f60718293a4",
}
_TIMES = {
    "created": "2026-11-25T10:00:00.123456Z",
    "updated": "2026-11-25T10:05:12.004211Z",
    "deleted": "2026-11-25T11:30:45.918003Z",
}
_SEQUENCE = {"created": 1, "updated": 2, "deleted": 3}


def _example(field: AnyField) -> tuple[bool, Any]:
    """Whether ``field`` has an example value, and that value as an event carries it."""
    if field.write_only:
        return True, REDACTED
    examples = field_schema(field, mode="read").get("examples")
    if examples:
        return True, examples[0]
    return not field.required, None  # an optional field may well be null


def _changes(resource: Resource, action: Action) -> dict[str, Schema]:
    values = {}
    for name, field in resource.fields.items():
        known, value = _example(field)
        if known:
            values[name] = value
    if action == "created":
        return {name: {"before": None, "after": value} for name, value in values.items()}
    if action == "deleted":
        return {name: {"before": value, "after": None} for name, value in values.items()}
    # An update of an optional field shows a change from null; a required one cannot be null.
    shown = [name for name, value in values.items() if value not in (None, REDACTED)]
    shown.sort(key=lambda name: resource.fields[name].required)
    if not shown:
        return {}
    name = shown[0]
    before = values[name] if resource.fields[name].required else None
    return {name: {"before": before, "after": values[name]}}


def example_event(name: str, resource: Resource, action: Action) -> dict[str, Any]:
    """An event of type ``<name>.<action>`` about one record, as a consumer receives it."""
    sequence = _SEQUENCE[action]
    return {
        "specversion": "1.0",
        "id": _EVENT_IDS[action],
        "source": f"/v1/{name}",
        "type": f"{name}.{action}",
        "subject": f"{name}/{_RECORD_ID}",
        "time": _TIMES[action],
        "datacontenttype": "application/json",
        "sequence": str(sequence),
        "data": {
            "resource": name,
            "id": _RECORD_ID,
            "version": sequence,
            "changes": _changes(resource, action),
            "actor": {"kind": "user", "id": _ACTOR_ID},
            "request_id": "2f1c6e0a9b8d4c7e",
            "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        },
    }
