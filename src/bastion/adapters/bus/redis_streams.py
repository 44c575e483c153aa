"""Redis Streams: events appended (``XADD``) to one stream, ``bastion:events``.

The stream key is the channel with ``.`` as ``:``. Each entry has the fields
``id`` (the event id), ``type``, ``subject`` and ``body`` (the CloudEvents
JSON document, as bytes); consumers read it with ``XREAD`` or a consumer
group. A batch is sent as one pipeline, in order. The stream is not trimmed.

redis-py reconnects on the next command by itself; a publish or ping that
fails drops the client anyway, and the next call opens a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence

import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from bastion.adapters.bus.failures import PING_TIMEOUT, within
from bastion.adapters.bus.urls import describe_broker_url
from bastion.core.ports.broker import DEFAULT_CHANNEL, BrokerUnavailable, OutboundMessage

__all__ = ["RedisStreamsBroker", "stream_key"]

_OUTAGES: tuple[type[BaseException], ...] = (RedisError, OSError)


def stream_key(channel: str) -> str:
    """The stream key for ``channel`` (``bastion.events`` -> ``bastion:events``)."""
    return channel.replace(".", ":")


class RedisStreamsBroker:
    """Appends events to the stream :func:`stream_key` of ``channel`` on the Redis at ``url``.

    Args:
        url: ``redis://[[user]:password@]host:6379/db`` (``rediss://`` for TLS).
        channel: Names the stream.
        publish_timeout: Seconds a publish may take before :class:`BrokerUnavailable`.
    """

    def __init__(
        self, url: str, *, channel: str = DEFAULT_CHANNEL, publish_timeout: float = 5.0
    ) -> None:
        self._url = url
        self._key = stream_key(channel)
        self._timeout = publish_timeout
        self._where = f"Redis at {describe_broker_url(url)}"
        self._client: redis.asyncio.Redis | None = None

    async def start(self) -> None:
        """Check that Redis answers."""
        await self._bounded(self._timeout, "connect", self._ping)

    async def publish(self, messages: Sequence[OutboundMessage]) -> None:
        """``XADD`` every message in one pipeline; return once Redis answered all of them."""
        if not messages:
            return

        async def append() -> None:
            async with self._redis().pipeline(transaction=False) as pipeline:
                for message in messages:
                    pipeline.xadd(
                        self._key,
                        {
                            "id": message.id,
                            "type": message.type,
                            "subject": message.subject,
                            "body": message.body,
                        },
                    )
                await pipeline.execute()

        await self._bounded(self._timeout, f"publish {len(messages)} events", append)

    async def ping(self) -> None:
        """``PING``."""
        await self._bounded(min(self._timeout, PING_TIMEOUT), "answer a ping", self._ping)

    async def close(self) -> None:
        """Disconnect."""
        await self._drop()

    async def _ping(self) -> None:
        await self._redis().ping()

    async def _bounded(
        self, seconds: float, action: str, call: Callable[[], Awaitable[None]]
    ) -> None:
        try:
            async with within(seconds, self._where, action, _OUTAGES):
                await call()
        except BrokerUnavailable:
            await self._drop()
            raise

    def _redis(self) -> redis.asyncio.Redis:
        if self._client is None:
            self._client = redis.asyncio.Redis.from_url(
                self._url,
                socket_connect_timeout=self._timeout,
                socket_timeout=self._timeout,
                retry=Retry(NoBackoff(), 1),
            )
        return self._client

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await client.aclose()
