"""The AsyncAPI 3.0 document of the events Bastion publishes, generated from the blueprint.

One channel per event type (``orders.created``, ``orders.updated``,
``orders.deleted``) of every resource the API serves and that keeps events,
each with one message (its CloudEvents payload schema and an example) and one
``send`` operation: Bastion sends, consumers receive. It reads only the
blueprint, so ``bastion export asyncapi`` writes it without a database.
"""

from __future__ import annotations

from typing import Any

from bastion.api.rest.openapi.fields import Schema
from bastion.api.rest.openapi.views import schema_base_name
from bastion.architect.event_examples import example_event
from bastion.architect.event_schemas import (
    ACTIONS,
    Action,
    changes_schema,
    changes_schema_name,
    envelope_schemas,
    payload_schema,
)
from bastion.architect.servers import broker_server
from bastion.blueprint import Blueprint, Resource

__all__ = ["ASYNCAPI_VERSION", "CONTENT_TYPE", "build_asyncapi", "event_resources"]

ASYNCAPI_VERSION = "3.0.0"

CONTENT_TYPE = "application/cloudevents+json"
"""Every event is a CloudEvents 1.0 document in structured JSON mode."""

_BLUEPRINT_NAME_DEFAULT = "bastion"

_DELIVERY = """

Delivery: every create, update and delete of a record is stored with the record \
(same transaction) and published afterwards by the outbox relay, **at least once**: \
a consumer may see an event again, so deduplicate on its `id`. Events of one record \
(one `subject`) are published in order, numbered by `sequence` (1, 2, ...); events \
of different records may interleave. Each event is a CloudEvents 1.0 JSON document \
whose `data.changes` holds, per field, its value `before` and `after` the change, \
as the REST API serves it (write-only fields as `"[redacted]"`, personal fields \
as `"[erased]"` once the record's data was erased)."""

_NO_SERVER = """

Servers: none listed. Export with `--broker-url` (or set `BASTION_BROKER_URL`) to \
describe the broker the events go to."""


def event_resources(blueprint: Blueprint) -> dict[str, Resource]:
    """The resources whose events are published: served ones that keep events."""
    return {
        name: resource for name, resource in blueprint.served_resources().items() if resource.events
    }


def _info(blueprint: Blueprint, *, has_server: bool) -> Schema:
    named = "name" in blueprint.model_fields_set and blueprint.name != _BLUEPRINT_NAME_DEFAULT
    description = blueprint.description or "The events Bastion publishes."
    return {
        "title": f"{blueprint.name} events" if named else "Bastion events",
        "version": str(getattr(blueprint, "version", None) or 1),
        "description": description + _DELIVERY + ("" if has_server else _NO_SERVER),
    }


def _key(resource: str, action: Action) -> str:
    """The id of a channel and its message: ``order_items`` + created -> ``orderItemsCreated``."""
    base = schema_base_name(resource)
    return f"{base[:1].lower()}{base[1:]}{action.capitalize()}"


def _channel_description(name: str, event_type: str, channel: str) -> str:
    stream = channel.replace(".", ":")
    return (
        f"Where `{event_type}` events go on each broker:\n\n"
        f"- RabbitMQ: topic exchange `{channel}` (durable), routing key `{event_type}`; "
        f"bind a queue with `{event_type}`, `{name}.*` or `#`.\n"
        f"- NATS JetStream: subject `{channel}.{event_type}` (subscribe to `{channel}.>` "
        "for every event).\n"
        f"- Redis Streams: appended to the stream `{stream}` with every other event type; "
        "read the event's `type` to tell them apart."
    )


_SUMMARIES: dict[Action, str] = {
    "created": "A `{name}` record was created: every field, `before` null.",
    "updated": "A `{name}` record was updated: only the fields that changed.",
    "deleted": "A `{name}` record was deleted: every field, `after` null.",
}


def _channel(name: str, resource: Resource, action: Action, channel: str) -> Schema:
    event_type = f"{name}.{action}"
    key = _key(name, action)
    message: Schema = {
        "name": key,
        "title": event_type,
        "summary": _SUMMARIES[action].format(name=name),
        "contentType": CONTENT_TYPE,
        "payload": payload_schema(name, action),
        "examples": [
            {
                "name": key,
                "summary": f"An example {event_type} event.",
                "payload": example_event(name, resource, action),
            }
        ],
    }
    if resource.description:
        message["description"] = resource.description
    return {
        "address": f"{channel}.{event_type}",
        "title": event_type,
        "description": _channel_description(name, event_type, channel),
        "messages": {key: message},
        "tags": [{"name": name}],
        "bindings": {
            "amqp": {
                "is": "routingKey",
                "exchange": {
                    "name": channel,
                    "type": "topic",
                    "durable": True,
                    "autoDelete": False,
                },
                "bindingVersion": "0.3.0",
            }
        },
    }


def _operation(name: str, action: Action) -> Schema:
    key = _key(name, action)
    return {
        "action": "send",
        "channel": {"$ref": f"#/channels/{key}"},
        "messages": [{"$ref": f"#/channels/{key}/messages/{key}"}],
        "title": f"Publish {name}.{action}",
        "summary": f"Bastion publishes one event per `{name}` record {action}.",
        "tags": [{"name": name}],
    }


def build_asyncapi(
    blueprint: Blueprint, *, broker_url: str | None = None, channel: str = "bastion.events"
) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every event ``blueprint``'s records publish.

    Args:
        blueprint: a validated blueprint; pass ``with_identity(blueprint)`` to list the
            built-in ``users`` and ``tenants`` a server publishes too (``bastion export
            asyncapi`` does).
        broker_url: the broker the events go to (``amqp://``, ``amqps://``,
            ``nats://``, ``redis://``, ``rediss://``); listed as the document's
            server without its credentials. ``None`` lists no server.
        channel: the exchange (RabbitMQ), subject prefix (NATS) and, with ``.``
            as ``:``, stream key (Redis) the events are published on.

    Returns:
        A new JSON-ready dictionary.

    Raises:
        ValueError: ``broker_url`` is not a broker URL Bastion publishes to.

    Example:
        >>> from bastion.blueprint import Blueprint, Resource, StringField
        >>> notes = Resource(fields={"title": StringField()})
        >>> document = build_asyncapi(Blueprint(resources={"notes": notes}))
        >>> sorted(document["channels"])
        ['notesCreated', 'notesDeleted', 'notesUpdated']
        >>> document["channels"]["notesCreated"]["address"]
        'bastion.events.notes.created'
    """
    servers = {} if broker_url is None else {"broker": broker_server(broker_url)}
    resources = event_resources(blueprint)
    schemas = envelope_schemas()
    channels: Schema = {}
    operations: Schema = {}
    for name, resource in resources.items():
        schemas[changes_schema_name(name)] = changes_schema(resource)
        for action in ACTIONS:
            channels[_key(name, action)] = _channel(name, resource, action, channel)
            operations[f"send{schema_base_name(name)}{action.capitalize()}"] = _operation(
                name, action
            )
    document: Schema = {
        "asyncapi": ASYNCAPI_VERSION,
        "info": _info(blueprint, has_server=bool(servers)),
        "defaultContentType": CONTENT_TYPE,
    }
    if servers:
        document["servers"] = servers
    document["channels"] = channels
    document["operations"] = operations
    document["components"] = {"schemas": schemas}
    if resources:
        document["info"]["tags"] = [
            {"name": name, **({"description": r.description} if r.description else {})}
            for name, r in resources.items()
        ]
    return document
