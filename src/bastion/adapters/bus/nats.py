"""NATS JetStream: events on subjects ``<channel>.<type>``, kept by a stream, acknowledged.

The stream (``BASTION_EVENTS`` for the channel ``bastion.events``) takes the
subjects ``<channel>.>``; it is added when missing and never changed or
deleted, so an operator may tune its limits and replicas. Each message
carries the header ``Nats-Msg-Id`` (the event id), so JetStream stores an
event published twice within its duplicate window once, and ``Content-Type``
``application/cloudevents+json``.

The client reconnects by itself after a blip; a publish or ping that fails
anyway drops it, and the next call connects afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Sequence

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import PubAck

from bastion.adapters.bus.failures import PING_TIMEOUT, RECONNECT_INTERVAL, within
from bastion.adapters.bus.urls import describe_broker_url
from bastion.core.ports.broker import DEFAULT_CHANNEL, BrokerUnavailable, OutboundMessage

__all__ = ["CONTENT_TYPE", "NatsJetStreamBroker", "stream_name"]

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/cloudevents+json"
"""The ``Content-Type`` header of every message."""

_OUTAGES: tuple[type[BaseException], ...] = (nats.errors.Error, OSError)


def stream_name(channel: str) -> str:
    """The JetStream stream for ``channel``: upper case, other than letters and digits as
    ``_`` (``bastion.events`` -> ``BASTION_EVENTS``)."""
    return re.sub(r"[^A-Z0-9]", "_", channel.upper())


class NatsJetStreamBroker:
    """Publishes events to JetStream on the NATS server at ``url``.

    Args:
        url: ``nats://[user:password@]host:4222`` (``tls://`` for TLS).
        channel: The subject prefix; the stream is :func:`stream_name` of it.
        publish_timeout: Seconds a publish (or a connection) may take before
            :class:`BrokerUnavailable`.
    """

    def __init__(
        self, url: str, *, channel: str = DEFAULT_CHANNEL, publish_timeout: float = 5.0
    ) -> None:
        self._url = url
        self._channel = channel
        self._stream = stream_name(channel)
        self._timeout = publish_timeout
        self._where = f"NATS at {describe_broker_url(url)}"
        self._client: Client | None = None
        self._jetstream: JetStreamContext | None = None
        self._connecting = asyncio.Lock()

    async def start(self) -> None:
        """Connect, and add the stream if it is missing."""
        try:
            async with within(self._timeout, self._where, "connect", _OUTAGES):
                await self._connected()
        except BrokerUnavailable:
            await self._drop()
            raise

    async def publish(self, messages: Sequence[OutboundMessage]) -> None:
        """Send every message, then await JetStream's acknowledgements, in order."""
        if not messages:
            return
        try:
            async with within(
                self._timeout, self._where, f"publish {len(messages)} events", _OUTAGES
            ):
                jetstream = await self._connected()
                acks: list[asyncio.Future[PubAck]] = []
                try:
                    for message in messages:
                        acks.append(
                            await jetstream.publish_async(
                                f"{self._channel}.{message.type}",
                                message.body,
                                headers={"Nats-Msg-Id": message.id, "Content-Type": CONTENT_TYPE},
                            )
                        )
                    for ack in acks:
                        await ack
                except nats.js.errors.NoStreamResponseError as exc:
                    raise BrokerUnavailable(
                        f"no JetStream stream on {self._where} takes the subjects "
                        f"{self._channel}.>: add them to a stream (Bastion adds the stream "
                        f"{self._stream} only when no stream has that name)"
                    ) from exc
                finally:
                    for ack in acks:
                        ack.cancel()
        except BrokerUnavailable:
            await self._drop()
            raise

    async def ping(self) -> None:
        """A PING/PONG round trip; fail at once while disconnected."""
        client = self._client
        if self._jetstream is not None and client is not None and not client.is_connected:
            await self._drop()
            raise BrokerUnavailable(f"{self._where} is not connected (reconnecting)")
        try:
            async with within(
                min(self._timeout, PING_TIMEOUT), self._where, "answer a ping", _OUTAGES
            ):
                await self._connected()
                assert self._client is not None
                await self._client.flush()
        except BrokerUnavailable:
            await self._drop()
            raise

    async def close(self) -> None:
        """Disconnect."""
        await self._drop()

    async def _connected(self) -> JetStreamContext:
        async with self._connecting:
            if self._jetstream is not None:
                return self._jetstream
            # Kept before connecting, so a connect cut short is closed by _drop.
            self._client = client = Client()

            async def on_disconnected() -> None:
                if not client.is_closed:
                    log.info("disconnected from %s; reconnecting", self._where)

            async def on_reconnected() -> None:
                log.info("reconnected to %s", self._where)

            try:
                await client.connect(
                    servers=[self._url],
                    name="bastion outbox relay",
                    connect_timeout=max(1, round(self._timeout)),
                    reconnect_time_wait=RECONNECT_INTERVAL,  # type: ignore[arg-type]
                    max_reconnect_attempts=-1,
                    error_cb=self._on_error,
                    disconnected_cb=on_disconnected,
                    reconnected_cb=on_reconnected,
                )
                jetstream = client.jetstream(timeout=self._timeout)
                await self._ensure_stream(jetstream)
            except BaseException:  # cancelled by a caller's deadline too: no client left over
                await self._drop()
                raise
            self._jetstream = jetstream
            return jetstream

    async def _ensure_stream(self, jetstream: JetStreamContext) -> None:
        try:
            await jetstream.stream_info(self._stream)
        except (nats.errors.NoRespondersError, nats.js.errors.ServiceUnavailableError) as exc:
            raise BrokerUnavailable(
                f"{self._where} has no JetStream: start nats-server with -js "
                "(or enable JetStream for this account)"
            ) from exc
        except nats.js.errors.NotFoundError:
            try:
                await jetstream.add_stream(name=self._stream, subjects=[f"{self._channel}.>"])
                log.info("added the JetStream stream %s on %s", self._stream, self._where)
            except nats.js.errors.BadRequestError:
                # Another worker added it first (with other settings): it exists now.
                await jetstream.stream_info(self._stream)

    async def _drop(self) -> None:
        """Forget the client (closing it, briefly); the next call connects a new one."""
        client, self._client = self._client, None
        self._jetstream = None
        if client is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await client.close()

    async def _on_error(self, error: Exception) -> None:
        # Every failed reconnection attempt lands here; the publish that fails says it once.
        log.debug("NATS client error on %s: %s: %s", self._where, type(error).__name__, error)
