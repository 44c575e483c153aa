"""Broker URLs: which broker a URL names, and how to show it without its secrets."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "ACCEPTED_SCHEMES",
    "MEMORY_SCHEMES",
    "NATS_SCHEMES",
    "RABBITMQ_SCHEMES",
    "REDIS_SCHEMES",
    "broker_scheme",
    "describe_broker_url",
]

MEMORY_SCHEMES = frozenset({"memory"})
"""The in-process bus (also what an unset URL means)."""
RABBITMQ_SCHEMES = frozenset({"amqp", "amqps"})
"""RabbitMQ (AMQP 0-9-1)."""
NATS_SCHEMES = frozenset({"nats", "tls"})
"""NATS JetStream."""
REDIS_SCHEMES = frozenset({"redis", "rediss"})
"""Redis Streams."""

ACCEPTED_SCHEMES = (
    "amqp:// or amqps:// (RabbitMQ), nats:// or tls:// (NATS JetStream), "
    "redis:// or rediss:// (Redis Streams), memory:// or no URL at all (the in-process bus)"
)
"""The schemes a broker URL may have, as error messages list them."""


def broker_scheme(url: str | None) -> str:
    """The lower-case scheme of ``url`` (``"memory"`` for no URL)."""
    if not url:
        return "memory"
    return urlsplit(url).scheme.lower()


def describe_broker_url(url: str | None) -> str:
    """``url`` fit for logs and health reports: without password and query string.

    The query is dropped too because clients accept credentials there; a bare
    user name in a NATS URL is an auth token, so it is masked as ``***``.
    No URL means the in-process bus, ``memory://``.
    """
    if not url:
        return "memory://"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<a broker URL that does not parse>"
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    user = parts.username
    if user and parts.password is None and parts.scheme.lower() in NATS_SCHEMES:
        netloc = f"***@{netloc}"
    elif user:
        netloc = f"{user}@{netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
