"""Wiring of the event log, the outbox relay and event delivery.

- The event log is built before the record service (which appends through it).
- The relay and the delivery runner run where :func:`runs_relay_in_server`
  says: inside each ``bastion serve`` worker when no broker is configured (the
  embedded setup needs nothing more), else in ``bastion worker`` processes.
  Running several at once is safe: claims keep them apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from bastion.adapters.sql.store import SqlStore
from bastion.app.identity import FernetSecretBox
from bastion.blueprint import Blueprint
from bastion.core.events import EventLog
from bastion.core.events.deliveries import DeliveryRunner, DeliveryTarget
from bastion.core.events.personal import SubjectKeys
from bastion.core.events.relay import OutboxRelay
from bastion.core.hooks import Hooks
from bastion.core.ports.broker import Broker
from bastion.core.records import RecordService
from bastion.ops.event_metrics import EventNumbers
from bastion.settings import Settings

if TYPE_CHECKING:
    from bastion.adapters.webhooks.guard import OutboundPolicy
    from bastion.adapters.webhooks.sender import WebhookSender

# The webhook, consumer and broker modules (httpx, tenacity, broker clients) are imported
# only by processes that deliver: a server worker that does not stays about 7 MiB smaller.

__all__ = [
    "METRICS_INTERVAL_SECONDS",
    "EventsWiring",
    "build_event_log",
    "outbound_policy",
    "runs_relay_in_server",
    "url_checker",
]

log = logging.getLogger("bastion.events")

METRICS_INTERVAL_SECONDS = 2.0
"""How often a relaying process samples its outbox lag for its metrics."""


def runs_relay_in_server(settings: Settings) -> bool:
    """Whether ``bastion serve`` workers relay the outbox themselves."""
    if settings.relay_in_server is not None:
        return settings.relay_in_server
    return not settings.broker_url


def outbound_policy(settings: Settings) -> OutboundPolicy:
    """Where webhooks may go, from the settings (SSRF protection)."""
    from bastion.adapters.webhooks.guard import OutboundPolicy

    return OutboundPolicy(
        allow_private=settings.webhook_allow_private,
        allowed_networks=tuple(
            ipaddress.ip_network(n, strict=False) for n in settings.webhook_allowed_networks
        ),
    )


def url_checker(settings: Settings) -> Callable[[str], None]:
    """Checks a webhook URL against the settings' policy (``ValueError`` if refused)."""

    def check(url: str) -> None:
        from bastion.adapters.webhooks.guard import check_url

        check_url(url, outbound_policy(settings))

    return check


def build_event_log(settings: Settings, blueprint: Blueprint) -> EventLog | None:
    """The event log of ``blueprint`` as the server builds it (``None`` when off): personal
    data keys sealed under the server secret. For tools that write or read outside a
    server (the command line)."""
    if not settings.event_log:
        return None
    box = FernetSecretBox(settings.secret_key.get_secret_value())
    return EventLog(blueprint, secret_box=box)


class EventsWiring:
    """The event log of one process, and its relay and delivery runner when it runs them."""

    def __init__(self, settings: Settings, blueprint: Blueprint, sql_store: SqlStore) -> None:
        self.settings = settings
        self.sql_store = sql_store
        self.secret_box = FernetSecretBox(settings.secret_key.get_secret_value())
        self.keys = SubjectKeys(self.secret_box)
        self.log: EventLog | None = (
            EventLog(blueprint, secret_box=self.secret_box, on_commit=self._committed)
            if settings.event_log
            else None
        )
        """Give it to the record service; ``None`` when ``BASTION_EVENT_LOG`` is off."""
        self.broker: Broker | None = None
        self.relay: OutboxRelay | None = None
        self.deliveries: DeliveryRunner | None = None
        self.sender: WebhookSender | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._sink: Callable[[EventNumbers], None] | None = None
        self._reporter: asyncio.Task[None] | None = None

    async def _committed(self) -> None:
        if self.relay is not None:
            await self.relay.wake()

    def attach(self, service: RecordService, hooks: Hooks, *, run: bool) -> None:
        """Build the delivery targets (webhooks, ``hooks``' consumers); with ``run``, also
        the broker, relay and runner this process starts in :meth:`start`."""
        settings = self.settings
        if not run or self.log is None:
            # Replaying dead letters (admin API) only marks them; a worker delivers them.
            self.deliveries = DeliveryRunner(self.sql_store, [], keys=self.keys)
            return
        from bastion.adapters.bus import broker_from_url
        from bastion.adapters.webhooks.sender import WebhookSender
        from bastion.core.events.consumers import ConsumerTarget
        from bastion.core.webhooks import BreakerPolicy, RetryPolicy
        from bastion.core.webhooks.target import WebhookTarget

        self.sender = WebhookSender(
            outbound_policy(settings), timeout_seconds=settings.webhook_timeout_seconds
        )
        targets: list[DeliveryTarget] = [
            WebhookTarget(
                service.store,
                self.sender,
                self.secret_box,
                retry=RetryPolicy(
                    initial=timedelta(seconds=min(10.0, settings.webhook_retry_seconds / 4)),
                    maximum=timedelta(hours=1),
                    give_up_after=timedelta(seconds=settings.webhook_retry_seconds),
                    jitter=timedelta(seconds=min(10.0, settings.webhook_retry_seconds / 10)),
                ),
                breaker=BreakerPolicy(
                    failure_threshold=settings.webhook_failure_threshold,
                    open_seconds=settings.webhook_open_seconds,
                ),
                timeout_seconds=settings.webhook_timeout_seconds,
            ),
            ConsumerTarget(service, hooks.consumers, max_attempts=settings.consumer_max_attempts),
        ]
        self.deliveries = DeliveryRunner(
            self.sql_store, targets, keys=self.keys, poll_seconds=settings.worker_poll_seconds
        )
        self.broker = broker_from_url(
            settings.broker_url,
            channel=settings.broker_channel,
            publish_timeout=settings.broker_publish_timeout,
        )
        self.relay = OutboxRelay(
            self.sql_store,
            self.broker,
            keys=self.keys,
            fan_out=self.deliveries,
            batch_size=settings.worker_batch_size,
            poll_seconds=settings.worker_poll_seconds,
        )

    def report_to(self, sink: Callable[[EventNumbers], None]) -> None:
        """Send :meth:`numbers` to ``sink`` every :data:`METRICS_INTERVAL_SECONDS` while
        this process relays (from :meth:`start` to :meth:`stop`)."""
        self._sink = sink

    async def numbers(self) -> EventNumbers:
        """The relay's and deliveries' numbers now, the outbox lag read from the database."""
        relay, runner = self.relay, self.deliveries
        if relay is None or runner is None:
            return EventNumbers()
        pending, age = await relay.measure_lag()
        return EventNumbers(
            pending=pending,
            oldest_age=age,
            published=dict(relay.stats.by_type),
            publish_failures=relay.stats.failures,
            delivered=runner.delivered,
            failed_attempts=runner.failed_attempts,
            dead_lettered=runner.dead_lettered,
        )

    async def _report(self, sink: Callable[[EventNumbers], None]) -> None:
        while True:
            try:
                sink(await self.numbers())
            except Exception as exc:  # the database is down: the next sample will tell
                log.debug("could not sample the outbox lag: %s", exc)
            await asyncio.sleep(METRICS_INTERVAL_SECONDS)

    async def start(self) -> None:
        """Connect the broker and start relaying and delivering (if this process does)."""
        if self.relay is None or self.broker is None or self.deliveries is None:
            return
        try:
            await self.broker.start()
        except Exception as exc:  # the relay retries; the server must still start
            log.warning("the broker is not reachable yet (%s); events wait in the outbox", exc)
        self._tasks = [
            asyncio.create_task(self.relay.run(), name="bastion-outbox-relay"),
            asyncio.create_task(self.deliveries.run(), name="bastion-deliveries"),
        ]
        if self._sink is not None:
            self._reporter = asyncio.create_task(
                self._report(self._sink), name="bastion-event-metrics"
            )

    async def stop(self) -> None:
        """Finish the current rounds, then disconnect."""
        if self._reporter is not None:
            self._reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reporter
            self._reporter = None
        if self.relay is not None:
            self.relay.stop()
        if self.deliveries is not None:
            self.deliveries.stop()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._tasks = []
        if self.broker is not None:
            await self.broker.close()
        if self.sender is not None:
            await self.sender.aclose()
