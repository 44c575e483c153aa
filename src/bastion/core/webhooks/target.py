"""Webhook subscriptions as a delivery target: signed CloudEvents POSTed to each endpoint.

A :class:`WebhookTarget` is the ``webhook`` kind of
:class:`~bastion.core.events.deliveries.DeliveryTarget`: the runner asks it
which subscriptions want an event type (those enabled whose ``event_types``
match), then hands it each due delivery. One attempt:

1. the subscription is loaded (deleted or disabled: the delivery is dead);
2. its circuit breaker, stored in the subscription's ``breaker`` column and so
   shared by every worker process, decides whether anything goes out: while
   it is open nothing is attempted and the delivery waits until the breaker
   may let a probe out;
3. the CloudEvent is POSTed, signed as Standard Webhooks says (``webhook-id``
   is the event id, the same on every retry): with the subscription's secret,
   and during a rotation's overlap (until ``previous_secret_expires_at``, by
   the runner's clock) with the previous secret too;
4. the result moves the breaker (stored back under a row lock), and a failure
   is retried as the :class:`~bastion.core.webhooks.schedule.RetryPolicy` says
   until its give-up time, counted from the first attempt (or from the replay
   that started the current round), after which the delivery is dead.

The subscription's secret is never put into an error or a log line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

import orjson

from bastion.blueprint.events import DELIVERY_ATTEMPTS, WEBHOOKS
from bastion.core.errors import StoreUnavailable
from bastion.core.events.deliveries import DeliveryOutcome, matches_type
from bastion.core.ports import Row, SecretBox, Store, UnitOfWork, open_text
from bastion.core.ports.webhooks import WebhookPoster
from bastion.core.query import Filter, QuerySpec, SortKey
from bastion.core.webhooks.breaker import BreakerPolicy, BreakerState
from bastion.core.webhooks.signing import SECRET_PREFIX, signed_headers

if TYPE_CHECKING:  # tenacity is imported only where deliveries run
    from bastion.core.webhooks.schedule import RetryPolicy

__all__ = [
    "USER_AGENT",
    "WebhookTarget",
    "breaker_state",
    "reveal_secret",
    "webhook_body",
]

log = logging.getLogger("bastion.events")

USER_AGENT = "Bastion-Webhooks/1"
"""The ``User-Agent`` of every delivery."""

_SUBSCRIPTIONS_TTL = 2.0
"""Seconds the list of enabled subscriptions is reused by :meth:`WebhookTarget.targets`."""
_MAX_SUBSCRIPTIONS = 10_000


def _utcnow() -> datetime:
    return datetime.now(UTC)


def reveal_secret(stored: str, box: SecretBox | None) -> str:
    """The ``whsec_`` secret of a subscription from its stored form (sealed by ``box``).

    Raises:
        ValueError: It was sealed under another key (``BASTION_SECRET_KEY`` changed),
            or it is sealed and no box is given.
    """
    if stored.startswith(SECRET_PREFIX):
        return stored
    if box is None:
        raise ValueError("the webhook secret is sealed, and no secret box was given to open it")
    return open_text(box, stored)


def breaker_state(stored: Any) -> BreakerState:
    """The breaker stored in a subscription's ``breaker`` column (closed when empty or
    unreadable: a damaged state must not silence an endpoint for good)."""
    if not stored:
        return BreakerState()
    try:
        return BreakerState.from_json(stored)
    except ValueError:
        log.warning("a stored webhook breaker state is unreadable; treating it as closed")
        return BreakerState()


def webhook_body(event: dict[str, Any]) -> bytes:
    """The request body of a delivery: the CloudEvent as JSON (times in UTC with ``Z``)."""
    return orjson.dumps(event, option=orjson.OPT_UTC_Z)


class WebhookTarget:
    """Delivers events to webhook subscriptions (a ``DeliveryTarget`` of kind ``webhook``).

    Args:
        store: where ``bastion_webhooks`` lives (the record store).
        poster: sends one signed request (the SSRF-guarded sender).
        secret_box: opens the subscriptions' sealed secrets (``None``: stored in clear).
        retry: when a failed delivery is tried again, and when it is given up.
        breaker: when an endpoint's breaker opens, and for how long.
        clock: the time of the ``webhook-timestamp`` header (receivers compare it
            with their own clock; the runner's ``now`` drives everything else).
        timeout_seconds: how long one request may take at most; defaults to the
            poster's ``timeout_seconds``, else 10. The lease of an attempt is 5 s more.
    """

    kind = "webhook"

    def __init__(
        self,
        store: Store,
        poster: WebhookPoster,
        secret_box: SecretBox | None,
        *,
        retry: RetryPolicy,
        breaker: BreakerPolicy,
        clock: Callable[[], datetime] = _utcnow,
        timeout_seconds: float | None = None,
    ) -> None:
        self._store = store
        self._poster = poster
        self._box = secret_box
        self._retry = retry
        self._breaker = breaker
        self._clock = clock
        if timeout_seconds is None:
            timeout_seconds = float(getattr(poster, "timeout_seconds", 10.0))
        self.timeout_seconds = timeout_seconds
        self.lease_seconds = timeout_seconds + 5.0
        self._subscriptions: list[tuple[str, tuple[str, ...]]] = []
        self._read_at: float | None = None

    # Which subscriptions want an event -----------------------------------

    def invalidate(self) -> None:
        """Read the subscriptions again at the next :meth:`targets` (after a change)."""
        self._read_at = None

    async def targets(self, uow: UnitOfWork, event_type: str) -> list[str]:
        """Ids of the enabled subscriptions whose ``event_types`` match ``event_type``.

        The list is read in ``uow`` and reused for about 2 seconds: a subscription
        created or changed meanwhile applies to events published after that.
        """
        moment = time.monotonic()
        if self._read_at is None or moment - self._read_at > _SUBSCRIPTIONS_TTL:
            rows = await uow.fetch_page(
                WEBHOOKS, QuerySpec(limit=_MAX_SUBSCRIPTIONS, sort=(SortKey("id"),))
            )
            self._subscriptions = [
                (str(row["id"]), tuple(row["event_types"] or ()))
                for row in rows
                if row.get("enabled", True)
            ]
            self._read_at = moment
        return [sid for sid, patterns in self._subscriptions if matches_type(patterns, event_type)]

    # One attempt -----------------------------------------------------------

    async def deliver(
        self, delivery: Row, event: dict[str, Any], *, attempt: int, now: datetime
    ) -> DeliveryOutcome:
        """POST ``event`` to the subscription ``delivery["target"]`` once, if its breaker
        lets anything out; say when to try again (``retry_at=None``: dead letter)."""
        subscription_id = _subscription_id(delivery["target"])
        try:
            subscription = await self._subscription(subscription_id)
            if subscription is None:
                return DeliveryOutcome(ok=False, error="the webhook subscription was deleted")
            if not subscription.get("enabled", True):
                return DeliveryOutcome(ok=False, error="the webhook subscription is disabled")
            assert subscription_id is not None  # a subscription was found by it
            wait_until = await self._admit(subscription_id, subscription, now)
        except StoreUnavailable:
            # Nothing was sent: try again shortly, without spending an attempt.
            later = now + timedelta(seconds=self.lease_seconds)
            return DeliveryOutcome(ok=False, attempted=False, retry_at=later)
        if wait_until is not None:
            return DeliveryOutcome(ok=False, attempted=False, retry_at=wait_until)
        try:
            secret = reveal_secret(subscription["secret"], self._box)
            body = webhook_body(event)
            headers = signed_headers(
                secret,
                str(event["id"]),
                body,
                self._clock(),
                previous_secrets=self._previous_secrets(subscription, now),
            )
        except ValueError:
            # Never the exception's text: it may come from the secret's decryption.
            error = (
                "the webhook secret cannot be opened (was BASTION_SECRET_KEY changed?); "
                "rotate the subscription's secret"
            )
            return DeliveryOutcome(
                ok=False, error=error, retry_at=await self._retry_at(delivery, attempt, now)
            )
        headers["user-agent"] = USER_AGENT
        result = await self._poster.send(subscription["url"], headers, body)
        try:
            # A success on a healthy endpoint changes nothing: no write (the common case).
            healthy = breaker_state(subscription.get("breaker")) == BreakerState()
            if not (result.ok and healthy):
                await self._record(subscription_id, ok=result.ok, now=now)
        except StoreUnavailable:
            # The delivery's own outcome still counts; only the breaker misses one result.
            log.warning("webhook %s: its breaker could not be updated", subscription_id)
        if result.ok:
            return DeliveryOutcome(
                ok=True, status=result.status, duration_seconds=result.duration_seconds
            )
        return DeliveryOutcome(
            ok=False,
            status=result.status,
            error=result.error,
            duration_seconds=result.duration_seconds,
            retry_at=await self._retry_at(delivery, attempt, now),
        )

    def _previous_secrets(self, subscription: Row, now: datetime) -> tuple[str, ...]:
        """The rotated-out secret while its overlap lasts (it signs too), else none."""
        stored = subscription.get("previous_secret")
        until = subscription.get("previous_secret_expires_at")
        if not stored or until is None or now >= until:
            return ()
        try:
            return (reveal_secret(stored, self._box),)
        except ValueError:
            # The current secret still signs; never the exception's text (see above).
            log.warning(
                "webhook %s: its previous secret cannot be opened; signing with the current "
                "one only",
                subscription["id"],
            )
            return ()

    async def _subscription(self, subscription_id: UUID | None) -> Row | None:
        if subscription_id is None:
            return None
        async with self._store.unit_of_work(read_only=True) as uow:
            return await uow.fetch(WEBHOOKS, subscription_id)

    async def _admit(
        self, subscription_id: UUID, subscription: Row, now: datetime
    ) -> datetime | None:
        """``None`` if a request may go out now, else when to look again."""
        if breaker_state(subscription.get("breaker")).state == "closed":
            return None  # the common case: no write
        async with self._store.unit_of_work() as uow:
            # Locked: of the workers that find the open period over, one starts the probe.
            row = await uow.fetch(WEBHOOKS, subscription_id, for_update=True)
            if row is None:
                return now  # deleted meanwhile: the next attempt, at once, finds it gone
            state = breaker_state(row.get("breaker"))
            allowed, after = self._breaker.allow(state, now)
            if allowed:
                if after != state:
                    await _store_breaker(uow, row, after)
                return None
        blocked_until = self._breaker.blocked_until(state) or now
        if state.state == "half_open":
            # A probe is out: its result comes within a lease, not only at the probe timeout.
            blocked_until = min(blocked_until, now + timedelta(seconds=self.lease_seconds))
        return max(blocked_until, now)

    async def _record(self, subscription_id: UUID, *, ok: bool, now: datetime) -> None:
        """Move the endpoint's breaker by one result (under a row lock, so no worker's
        result overwrites another's)."""
        async with self._store.unit_of_work() as uow:
            row = await uow.fetch(WEBHOOKS, subscription_id, for_update=True)
            if row is None:
                return
            state = breaker_state(row.get("breaker"))
            if ok:
                after = self._breaker.record_success(state, now)
            else:
                after = self._breaker.record_failure(state, now)
            if after != state:
                await _store_breaker(uow, row, after)
                if after.state == "open" and state.state != "open":
                    log.warning(
                        "webhook %s failed %d times in a row; its circuit breaker is open for %g s",
                        subscription_id,
                        after.consecutive_failures,
                        after.open_seconds,
                    )

    async def _retry_at(self, delivery: Row, attempt: int, now: datetime) -> datetime | None:
        first = await self._round_started(delivery, attempt, now)
        return self._retry.next_attempt_at(max(attempt, 1), first, now)

    async def _round_started(self, delivery: Row, attempt: int, now: datetime) -> datetime:
        """When the current round of attempts began: the delivery's creation, or the
        replay that restarted it (a replayed dead letter gets a full retry period)."""
        created: datetime = delivery["created_at"]
        spec = QuerySpec(
            limit=1,
            filters=(Filter("delivery", "eq", delivery["id"]), Filter("attempt", "eq", 1)),
            sort=(SortKey("id", descending=True),),
        )
        try:
            async with self._store.unit_of_work(read_only=True) as uow:
                firsts: Sequence[Row] = await uow.fetch_page(DELIVERY_ATTEMPTS, spec)
        except StoreUnavailable:
            return created
        # ``fetch_page`` returns up to limit + 1 rows: enough to tell one round from several.
        if attempt <= 1:
            return now if firsts else created
        if len(firsts) >= 2:
            started: datetime = firsts[0]["created_at"]
            return started
        return created


def _subscription_id(target: str) -> UUID | None:
    try:
        return UUID(target)
    except ValueError:
        return None


async def _store_breaker(uow: UnitOfWork, row: Row, state: BreakerState) -> None:
    # The row is locked: its version cannot have moved since it was read.
    await uow.update(
        WEBHOOKS,
        row["id"],
        {"breaker": state.as_json(), "version": row["version"] + 1},
        expected_version=row["version"],
    )
