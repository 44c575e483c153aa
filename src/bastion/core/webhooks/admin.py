"""What admins do to webhooks: subscriptions, their secrets, the delivery log, replays.

Every call needs the ``admin`` role (and a credential not narrowed by scopes).
A subscription's secret (``whsec_...``) is shown once, in the answer that
makes it (creation, rotation), and stored sealed by the server's secret box.
A rotation keeps the previous secret signing too for an overlap period (a
receiver verifies with either while it switches over); it is stored sealed
likewise and never shown. Only two secrets sign at a time: rotating during an
overlap makes the current secret the previous one and drops the older one.
Every change is audited in the auth audit trail, in its own transaction:
``webhook.created``, ``webhook.updated``, ``webhook.deleted``,
``webhook.secret_rotated`` and ``delivery.replayed`` (never with a secret).

A subscription whose URL changes, or that is enabled again, starts with a
closed circuit breaker: it is another endpoint, or the admin says it is back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

from bastion.blueprint.events import DELIVERIES, WEBHOOKS
from bastion.core.context import RequestContext
from bastion.core.errors import Conflict, NotFound
from bastion.core.identity.admin_parts import require_admin
from bastion.core.identity.store import IdentityRecords
from bastion.core.ports import Row, SecretBox, seal_text
from bastion.core.query import QuerySpec, SortKey
from bastion.core.records import RecordService
from bastion.core.webhooks.delivery_log import (
    DeliveryPage,
    DeliveryQuery,
    read_deliveries,
    read_delivery,
)
from bastion.core.webhooks.signing import new_secret
from bastion.core.webhooks.subscriptions import (
    UrlCheck,
    event_resources_of,
    parse_changes,
    parse_create,
    parse_rotation,
    subscription_json,
)

__all__ = [
    "DEFAULT_SECRET_OVERLAP",
    "DELIVERY_REPLAYED",
    "MAX_SUBSCRIPTIONS",
    "WEBHOOK_CREATED",
    "WEBHOOK_DELETED",
    "WEBHOOK_SECRET_ROTATED",
    "WEBHOOK_UPDATED",
    "Replay",
    "WebhookAdmin",
]

WEBHOOK_CREATED = "webhook.created"
WEBHOOK_UPDATED = "webhook.updated"
WEBHOOK_DELETED = "webhook.deleted"
WEBHOOK_SECRET_ROTATED = "webhook.secret_rotated"
DELIVERY_REPLAYED = "delivery.replayed"
MAX_SUBSCRIPTIONS = 1000
"""The most subscriptions the list shows."""
DEFAULT_SECRET_OVERLAP = timedelta(days=1)
"""How long a rotated-out secret keeps signing, unless told otherwise."""

Replay = Callable[[UUID], Awaitable[Row]]
"""Sends a delivery again from attempt 1 (``DeliveryRunner.replay``); raises ``NotFound``."""


def _audited(row: Row) -> Row:
    """A subscription as the audit trail records it (JSON values, no secret)."""
    return {
        "url": row["url"],
        "event_types": list(row["event_types"] or []),
        "description": row.get("description"),
        "enabled": bool(row.get("enabled", True)),
    }


class WebhookAdmin:
    """Admin operations on webhook subscriptions and event deliveries.

    Args:
        service: the record service (identity and event resources included).
        secret_box: seals the subscriptions' secrets at rest (``None``: kept in clear,
            for tests and embedding only).
        check_url: the SSRF guard for subscription URLs; raises ``ValueError`` with
            a message saying what is wrong and how to allow it.
        replay: sends a delivery again (the delivery runner's ``replay``).
        secret_overlap: how long a rotated-out secret keeps signing when the rotation
            does not say (``BASTION_WEBHOOK_SECRET_OVERLAP_SECONDS``).
    """

    def __init__(
        self,
        service: RecordService,
        *,
        secret_box: SecretBox | None,
        check_url: UrlCheck,
        replay: Replay,
        secret_overlap: timedelta = DEFAULT_SECRET_OVERLAP,
    ) -> None:
        if secret_overlap < timedelta(0):
            raise ValueError(f"secret_overlap must not be negative, not {secret_overlap}")
        self.service = service
        self._box = secret_box
        self._check_url = check_url
        self._replay = replay
        self._overlap = secret_overlap
        self._resources = event_resources_of(service.blueprint)

    def _sealed(self, secret: str) -> str:
        return secret if self._box is None else seal_text(self._box, secret)

    # Subscriptions ---------------------------------------------------------

    async def subscriptions(self, ctx: RequestContext) -> list[Row]:
        """Every subscription, oldest first (up to :data:`MAX_SUBSCRIPTIONS`)."""
        require_admin(ctx)
        spec = QuerySpec(limit=MAX_SUBSCRIPTIONS, sort=(SortKey("id"),))
        async with self.service.store.unit_of_work(read_only=True) as uow:
            rows = await uow.fetch_page(WEBHOOKS, spec)
        return [subscription_json(row) for row in rows[:MAX_SUBSCRIPTIONS]]

    async def subscription(self, ctx: RequestContext, subscription_id: UUID) -> Row:
        """One subscription.

        Raises:
            NotFound: there is none with this id.
        """
        require_admin(ctx)
        async with self.service.store.unit_of_work(read_only=True) as uow:
            row = await uow.fetch(WEBHOOKS, subscription_id)
        if row is None:
            raise _missing(subscription_id)
        return subscription_json(row)

    async def create(self, ctx: RequestContext, body: Any) -> Row:
        """A new subscription from ``body`` (``url``, ``event_types``, ``description``,
        ``enabled``), with its ``secret``: the only answer that shows it.

        Raises:
            InvalidInput: pointing at each bad member (``/url`` for a refused URL).
        """
        require_admin(ctx)
        asked = parse_create(body, check_url=self._check_url, resources=self._resources)
        secret = new_secret()
        async with self.service.store.unit_of_work() as uow:
            records = IdentityRecords(self.service, uow, ctx)
            row = await records.records.create(
                WEBHOOKS,
                {
                    "url": asked.url,
                    "event_types": asked.event_types,
                    "secret": self._sealed(secret),
                    "description": asked.description,
                    "enabled": asked.enabled,
                    "breaker": None,
                },
            )
            await records.audit(
                WEBHOOK_CREATED, detail={"webhook": str(row["id"]), "after": _audited(row)}
            )
        return {**subscription_json(row), "secret": secret}

    async def update(self, ctx: RequestContext, subscription_id: UUID, body: Any) -> Row:
        """Apply ``body`` (a merge patch of ``url``, ``event_types``, ``description``,
        ``enabled``) to a subscription.

        Raises:
            NotFound: there is none with this id.
            InvalidInput: pointing at each bad member.
        """
        require_admin(ctx)
        changes = parse_changes(body, check_url=self._check_url, resources=self._resources)
        async with self.service.store.unit_of_work() as uow:
            records = IdentityRecords(self.service, uow, ctx)
            current = await records.records.get(WEBHOOKS, subscription_id, for_update=True)
            if current is None:
                raise _missing(subscription_id)
            changes = {k: v for k, v in changes.items() if v != current.get(k)}
            if not changes:
                return subscription_json(current)
            if "url" in changes or (changes.get("enabled") and not current.get("enabled")):
                changes["breaker"] = None
            row = await records.records.update(WEBHOOKS, subscription_id, changes)
            await records.audit(
                WEBHOOK_UPDATED,
                detail={
                    "webhook": str(subscription_id),
                    "before": _audited(current),
                    "after": _audited(row),
                },
            )
        return subscription_json(row)

    async def delete(self, ctx: RequestContext, subscription_id: UUID) -> None:
        """Delete a subscription. Its deliveries stay in the log; those still pending
        become dead letters at their next attempt.

        Raises:
            NotFound: there is none with this id.
        """
        require_admin(ctx)
        async with self.service.store.unit_of_work() as uow:
            records = IdentityRecords(self.service, uow, ctx)
            current = await records.records.get(WEBHOOKS, subscription_id, for_update=True)
            if current is None:
                raise _missing(subscription_id)
            await records.records.delete(WEBHOOKS, subscription_id)
            await records.audit(
                WEBHOOK_DELETED,
                detail={"webhook": str(subscription_id), "before": _audited(current)},
            )

    async def rotate_secret(
        self, ctx: RequestContext, subscription_id: UUID, body: Any = None
    ) -> Row:
        """Give a subscription a new secret, returned in ``secret`` (shown only here).

        Deliveries are signed with it from the next attempt on, and with the secret
        it replaces too until ``previous_secret_expires_at`` (also in the answer;
        ``None`` when the old secret stops at once). ``body`` (optional) may set
        ``overlap_seconds``, else the admin's ``secret_overlap`` applies.

        Raises:
            InvalidInput: ``body`` is not a valid rotation (``/overlap_seconds``).
            NotFound: there is none with this id.
        """
        require_admin(ctx)
        asked = parse_rotation(body)
        overlap = (
            self._overlap
            if asked.overlap_seconds is None
            else timedelta(seconds=asked.overlap_seconds)
        )
        secret = new_secret()
        async with self.service.store.unit_of_work() as uow:
            records = IdentityRecords(self.service, uow, ctx)
            current = await records.records.get(WEBHOOKS, subscription_id, for_update=True)
            if current is None:
                raise _missing(subscription_id)
            # The current secret is kept as stored (sealed): it is never opened here.
            expires_at = records.now + overlap if overlap else None
            row = await records.records.update(
                WEBHOOKS,
                subscription_id,
                {
                    "secret": self._sealed(secret),
                    "previous_secret": current["secret"] if expires_at else None,
                    "previous_secret_expires_at": expires_at,
                },
            )
            await records.audit(
                WEBHOOK_SECRET_ROTATED,
                detail={
                    "webhook": str(subscription_id),
                    "previous_secret_expires_at": (
                        expires_at.isoformat().replace("+00:00", "Z") if expires_at else None
                    ),
                },
            )
        return {
            **subscription_json(row),
            "secret": secret,
            "previous_secret_expires_at": row["previous_secret_expires_at"],
        }

    # The delivery log --------------------------------------------------------

    async def deliveries(self, ctx: RequestContext, query: DeliveryQuery) -> DeliveryPage:
        """A page of deliveries (any target kind), newest first, with their attempts."""
        require_admin(ctx)
        async with self.service.store.unit_of_work(read_only=True) as uow:
            return await read_deliveries(uow, query)

    async def subscription_deliveries(
        self, ctx: RequestContext, subscription_id: UUID, query: DeliveryQuery
    ) -> DeliveryPage:
        """A page of one subscription's deliveries, newest first, with their attempts.

        Raises:
            NotFound: there is no subscription with this id.
        """
        require_admin(ctx)
        scoped = DeliveryQuery(
            status=query.status,
            target_kind="webhook",
            target=str(subscription_id),
            limit=query.limit,
            before=query.before,
        )
        async with self.service.store.unit_of_work(read_only=True) as uow:
            if await uow.fetch(WEBHOOKS, subscription_id) is None:
                raise _missing(subscription_id)
            return await read_deliveries(uow, scoped)

    async def delivery(self, ctx: RequestContext, delivery_id: UUID) -> Row:
        """One delivery with its attempts.

        Raises:
            NotFound: there is none with this id.
        """
        require_admin(ctx)
        async with self.service.store.unit_of_work(read_only=True) as uow:
            found = await read_delivery(uow, delivery_id)
        if found is None:
            raise NotFound(f"there is no delivery with id {delivery_id}")
        return found

    async def replay(self, ctx: RequestContext, delivery_id: UUID) -> Row:
        """Send a dead (or delivered) delivery again, from attempt 1; the delivery, pending.

        Raises:
            NotFound: there is no delivery with this id.
            Conflict: it is still pending (its retries are under way).
        """
        require_admin(ctx)
        async with self.service.store.unit_of_work(read_only=True) as uow:
            current = await uow.fetch(DELIVERIES, delivery_id)
        if current is None:
            raise NotFound(f"there is no delivery with id {delivery_id}")
        if current["status"] == "pending":
            raise Conflict(
                "the delivery is still pending: it is tried again at its next_attempt_at; "
                "replay it once it is delivered or dead"
            )
        await self._replay(delivery_id)
        async with self.service.store.unit_of_work() as uow:
            records = IdentityRecords(self.service, uow, ctx)
            await records.audit(
                DELIVERY_REPLAYED,
                detail={
                    "delivery": str(delivery_id),
                    "target_kind": current["target_kind"],
                    "target": current["target"],
                    "event": str(current["event"]),
                    "status_before": current["status"],
                },
            )
            found = await read_delivery(uow, delivery_id)
        if found is None:  # pragma: no cover - deliveries are never deleted
            raise NotFound(f"there is no delivery with id {delivery_id}")
        return found


def _missing(subscription_id: UUID) -> NotFound:
    return NotFound(f"there is no webhook subscription with id {subscription_id}")
