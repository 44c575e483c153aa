"""The AsyncAPI server entry of a broker URL (``BASTION_BROKER_URL``), without its credentials.

Example:
    >>> server = broker_server("amqp://guest:secret@rabbit.internal:5672/shop")
    >>> server["host"], server["protocol"], server["pathname"]
    ('rabbit.internal:5672', 'amqp', '/shop')
"""

from __future__ import annotations

from urllib.parse import urlsplit

from bastion.api.rest.openapi.fields import Schema

__all__ = ["SUPPORTED_SCHEMES", "broker_server"]

# scheme -> (AsyncAPI protocol, protocol version, what the broker does with events)
_BROKERS: dict[str, tuple[str, str | None, str]] = {
    "amqp": ("amqp", "0-9-1", "RabbitMQ: events go to a topic exchange."),
    "amqps": ("amqps", "0-9-1", "RabbitMQ over TLS: events go to a topic exchange."),
    "nats": ("nats", None, "NATS JetStream: events go to subjects under the channel."),
    "tls": ("nats", None, "NATS JetStream over TLS: events go to subjects under the channel."),
    "redis": ("redis", None, "Redis Streams: events are appended to one stream."),
    "rediss": ("redis", None, "Redis Streams over TLS: events are appended to one stream."),
}

SUPPORTED_SCHEMES: tuple[str, ...] = tuple(_BROKERS)
"""The broker URL schemes a server entry can be written for."""


def broker_server(url: str) -> Schema:
    """The AsyncAPI 3.0 Server Object of the broker at ``url``; user and password left out.

    Raises:
        ValueError: ``url`` is not a broker URL Bastion publishes to.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _BROKERS:
        supported = ", ".join(f"{name}://" for name in SUPPORTED_SCHEMES)
        raise ValueError(
            f"the broker URL must start with one of {supported} "
            f"(got {scheme + '://' if scheme else 'no scheme'}); "
            "give e.g. --broker-url (or BASTION_BROKER_URL) amqp://rabbit.internal:5672/"
        )
    # Everything before the last "@" is userinfo; NATS lists several hosts with commas.
    host = parts.netloc.rpartition("@")[2]
    if not host:
        raise ValueError(f"the broker URL has no host: give e.g. {scheme}://broker.internal")
    protocol, version, description = _BROKERS[scheme]
    server: Schema = {"host": host, "protocol": protocol}
    if parts.path not in ("", "/"):
        server["pathname"] = parts.path
    if version is not None:
        server["protocolVersion"] = version
    server["description"] = description
    return server
