"""Webhooks end to end: subscriptions through the admin API, signed deliveries to a real
HTTP receiver on loopback, retries, the circuit breaker, dead letters and replays.

The delivery runner is driven round by round (``deliver_due``) on a clock the test
moves, instead of sleeping through backoffs and open periods. The signature
timestamps stay on the real clock, so an independent Standard Webhooks library
verifies every request as a receiver would.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import orjson
import pytest
import uvicorn
from pydantic import ValidationError
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from app_support import production_settings
from bastion.adapters.webhooks import OutboundPolicy, WebhookSender, check_url
from bastion.api.rest.auth.admin_routes import admin_of
from bastion.api.rest.webhooks import webhook_routes
from bastion.app import BastionApp, create_app
from bastion.app.identity import FernetSecretBox
from bastion.blueprint import AuthSpec, Blueprint, Resource, RoleGrant, StringField
from bastion.blueprint.events import EVENTS, WEBHOOKS
from bastion.core.caching import CachingStore
from bastion.core.events.deliveries import DeliveryRunner
from bastion.core.events.personal import SubjectKeys
from bastion.core.events.relay import load_events
from bastion.core.identity.admin import OPERATOR
from bastion.core.query import QuerySpec, SortKey
from bastion.core.webhooks import BreakerPolicy, RetryPolicy
from bastion.core.webhooks.target import WebhookTarget
from bastion.settings import Settings
from schema_support import create_schema

PASSWORD = "correct horse battery staple"
EVERYONE_SIGNED_IN = {"authenticated": RoleGrant(actions="all")}
BLUEPRINT = Blueprint(
    name="hookshop",
    resources={
        "orders": Resource(fields={"title": StringField(required=True)}, access=EVERYONE_SIGNED_IN),
        "notes": Resource(fields={"text": StringField()}, events=False, access=EVERYONE_SIGNED_IN),
    },
    auth=AuthSpec.model_validate({"roles": ["member"]}),
)
HOOKS = "/v1/admin/webhooks"


# A webhook receiver on loopback ------------------------------------------------------------


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class Receiver:
    """Answers each POST with the next of ``statuses``, then with ``then``."""

    port: int
    statuses: list[int] = field(default_factory=list)
    then: int = 200
    requests: list[Received] = field(default_factory=list)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def answered(self) -> list[int]:
        return [r.status for r in self.requests]


@asynccontextmanager
async def receiving() -> AsyncIterator[Receiver]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    receiver = Receiver(port=sock.getsockname()[1])

    async def hook(request: Request) -> Response:
        status = receiver.statuses.pop(0) if receiver.statuses else receiver.then
        receiver.requests.append(Received(dict(request.headers), await request.body(), status))
        return PlainTextResponse("noted", status_code=status)

    app = Starlette(routes=[Route("/{path}", hook, methods=["POST"])])
    config = uvicorn.Config(app, lifespan="off", ws="none", log_config=None, access_log=False)
    server = uvicorn.Server(config)
    sock.listen()
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task
        sock.close()


# The application, its delivery runner, and a clock the test moves ---------------------------


class Clock:
    """The delivery runner's time: starts now, moves only when told."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@dataclass
class World:
    app: BastionApp
    api: httpx.AsyncClient
    runner: DeliveryRunner
    clock: Clock
    keys: SubjectKeys
    admin: dict[str, str] = field(default_factory=dict)
    member: dict[str, str] = field(default_factory=dict)
    published: set[UUID] = field(default_factory=set)

    @property
    def sql_store(self) -> Any:
        store = self.app.store
        return store.inner if isinstance(store, CachingStore) else store

    async def subscribe(self, url: str, *event_types: str, **extra: Any) -> dict[str, Any]:
        body = {"url": url, "event_types": list(event_types or ["orders.*"]), **extra}
        response = await self.api.post(HOOKS, json=body, headers=self.admin)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def order(self, title: str) -> dict[str, Any]:
        response = await self.api.post("/v1/orders", json={"title": title}, headers=self.member)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def skip_existing(self) -> None:
        """Leave out the events so far (the users signing in): tests publish their own."""
        async with self.sql_store.unit_of_work(read_only=True) as uow:
            rows = await uow.fetch_page(EVENTS, QuerySpec(limit=10_000))
        self.published.update(row["id"] for row in rows)

    async def publish(self) -> list[dict[str, Any]]:
        """Hand the events not yet published to the fan-out, as the relay does."""
        async with self.sql_store.unit_of_work() as uow:
            rows = await uow.fetch_page(EVENTS, QuerySpec(limit=10_000, sort=(SortKey("id"),)))
            fresh = [row["id"] for row in rows if row["id"] not in self.published]
            events = await load_events(uow, self.keys, fresh)
            await self.runner.fan_out(uow, events)
        self.published.update(fresh)
        return events

    async def get(self, path: str) -> dict[str, Any]:
        response = await self.api.get(path, headers=self.admin)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def deliveries(self, subscription: dict[str, Any]) -> list[dict[str, Any]]:
        page = await self.get(f"{HOOKS}/{subscription['id']}/deliveries")
        data: list[dict[str, Any]] = page["data"]
        return data


async def _signed_in(
    app: BastionApp, api: httpx.AsyncClient, email: str, role: str
) -> dict[str, str]:
    await admin_of(app.identity.identity).create_user(
        OPERATOR, email=email, password=PASSWORD, roles=[role], email_verified=True
    )
    response = await api.post(
        "/v1/auth/token", data={"grant_type": "password", "username": email, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@asynccontextmanager
async def webhook_world(
    url: str,
    *,
    failure_threshold: int = 5,
    open_seconds: float = 60.0,
    retry_seconds: float = 86_400.0,
    allow_private: bool = True,
    test_routes: bool = True,
    **overrides: Any,
) -> AsyncIterator[World]:
    """An application (its relay off: the test drives delivery) with the webhook admin
    routes mounted, and a delivery runner on a movable clock.

    With ``test_routes`` off, the admin routes are the application's own (whose replays
    the test runner does not see)."""
    await create_schema(BLUEPRINT, url)
    settings = production_settings(
        url,
        relay_in_server=False,
        webhook_failure_threshold=failure_threshold,
        webhook_open_seconds=open_seconds,
        webhook_retry_seconds=retry_seconds,
        webhook_timeout_seconds=5.0,
        webhook_allow_private=allow_private,
        **overrides,
    )
    app = create_app(BLUEPRINT, settings=settings)
    await app.start()
    box = FernetSecretBox(settings.secret_key.get_secret_value())
    clock = Clock()
    sender = WebhookSender(OutboundPolicy(allow_private=True), settings.webhook_timeout_seconds)
    target = WebhookTarget(
        app.store,
        sender,
        box,
        retry=RetryPolicy(
            initial=timedelta(seconds=10),
            maximum=timedelta(hours=1),
            give_up_after=timedelta(seconds=settings.webhook_retry_seconds),
            jitter=timedelta(0),
        ),
        breaker=BreakerPolicy(
            failure_threshold=settings.webhook_failure_threshold,
            open_seconds=settings.webhook_open_seconds,
        ),
        timeout_seconds=settings.webhook_timeout_seconds,
    )
    keys = SubjectKeys(box)
    sql_store = app.store.inner if isinstance(app.store, CachingStore) else app.store
    runner = DeliveryRunner(sql_store, [target], keys=keys, clock=clock)
    policy = OutboundPolicy(
        allow_private=settings.webhook_allow_private,
        allowed_networks=tuple(ipaddress.ip_network(n) for n in settings.webhook_allowed_networks),
    )

    def checked(candidate: str) -> None:
        check_url(candidate, policy)

    if test_routes:
        routes = webhook_routes(
            app.service,
            secret_box=box,
            check_url=checked,
            replay=runner.replay,
            secret_overlap=timedelta(seconds=settings.webhook_secret_overlap_seconds),
        )
        app.starlette.router.routes[0:0] = routes
    api = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    try:
        world = World(app, api, runner, clock, keys)
        world.admin = await _signed_in(app, api, "admin@example.com", "admin")
        world.member = await _signed_in(app, api, "member@example.com", "member")
        await world.skip_existing()
        yield world
    finally:
        await api.aclose()
        await sender.aclose()
        await app.stop()


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# Retries until the endpoint recovers -------------------------------------------------------


async def test_webhooks_a_failing_endpoint_gets_the_event_exactly_once_it_recovers(
    database_url: str,
) -> None:
    async with receiving() as receiver, webhook_world(database_url, failure_threshold=10) as w:
        subscription = await w.subscribe(receiver.url(), "orders.created")
        receiver.statuses = [500] * 5
        order = await w.order("first")
        [event] = await w.publish()

        for _ in range(6):
            assert await w.runner.deliver_due() == 1
            w.clock.advance(3600)
        assert await w.runner.deliver_due() == 0

        assert receiver.answered == [500] * 5 + [200]
        secret = subscription["secret"]
        for request in receiver.requests:
            # Every request verifies as Standard Webhooks says, with the subscription's secret.
            payload = Webhook(secret).verify(request.body, request.headers)
            assert payload == orjson.loads(request.body)
            assert request.headers["webhook-id"] == event["id"]
            assert request.headers["user-agent"] == "Bastion-Webhooks/1"
        document = orjson.loads(receiver.requests[-1].body)
        assert document["type"] == "orders.created"
        assert document["subject"] == f"orders/{order['id']}"
        assert document["data"]["changes"]["title"] == {"before": None, "after": "first"}
        assert secret not in str(receiver.requests)

        [delivery] = await w.deliveries(subscription)
        assert delivery["status"] == "delivered"
        assert delivery["event"] == event["id"]
        assert [a["attempt"] for a in delivery["attempts"]] == [1, 2, 3, 4, 5, 6]
        assert [a["ok"] for a in delivery["attempts"]] == [False] * 5 + [True]
        assert [a["status"] for a in delivery["attempts"]] == [500] * 5 + [200]
        assert "expected 2xx" in delivery["attempts"][0]["error"]
        shown = await w.get(f"{HOOKS}/{subscription['id']}")
        assert shown["breaker"]["state"] == "closed"
        assert shown["breaker"]["consecutive_failures"] == 0

        # A delivered event may be sent again: same message id, so receivers can deduplicate.
        replayed = await w.api.post(
            f"/v1/admin/deliveries/{delivery['id']}:replay", headers=w.admin
        )
        assert replayed.status_code == 202, replayed.text
        assert replayed.json()["status"] == "pending"
        assert await w.runner.deliver_due() == 1
        assert len(receiver.requests) == 7
        assert receiver.requests[-1].headers["webhook-id"] == event["id"]
        assert (await w.get(f"/v1/admin/deliveries/{delivery['id']}"))["status"] == "delivered"


# The circuit breaker, dead letters, replay -------------------------------------------------


async def test_webhooks_breaker_holds_deliveries_back_and_dead_letters_replay(
    database_url: str,
) -> None:
    async with (
        receiving() as receiver,
        webhook_world(database_url, failure_threshold=3, open_seconds=600, retry_seconds=3600) as w,
    ):
        receiver.then = 503
        subscription = await w.subscribe(receiver.url())
        hook = f"{HOOKS}/{subscription['id']}"
        start = w.clock.now
        await w.order("a")
        await w.publish()

        for _ in range(3):  # 10 s, 20 s backoffs: each round finds it due
            assert await w.runner.deliver_due() == 1
            w.clock.advance(60)
        assert len(receiver.requests) == 3
        breaker = (await w.get(hook))["breaker"]
        assert breaker["state"] == "open"
        assert breaker["consecutive_failures"] == 3
        opened_at = _at(breaker["opened_at"])
        assert opened_at == start + timedelta(seconds=120)
        assert _at(breaker["open_until"]) == opened_at + timedelta(seconds=600)

        # Due again (40 s after the third attempt), but the breaker is open: nothing goes out,
        # and the delivery waits for the end of the open period without losing an attempt.
        await w.runner.deliver_due()
        assert len(receiver.requests) == 3
        [delivery] = await w.deliveries(subscription)
        assert delivery["status"] == "pending"
        assert delivery["attempt_count"] == 3
        assert len(delivery["attempts"]) == 3
        assert _at(delivery["next_attempt_at"]) == opened_at + timedelta(seconds=600)

        # After the open period, one probe goes out; it fails and the breaker opens again,
        # for twice as long.
        w.clock.now = opened_at + timedelta(seconds=610)
        assert await w.runner.deliver_due() == 1
        assert len(receiver.requests) == 4
        breaker = (await w.get(hook))["breaker"]
        assert (breaker["state"], breaker["consecutive_failures"]) == ("open", 4)
        assert _at(breaker["open_until"]) == w.clock.now + timedelta(seconds=1200)
        w.clock.advance(300)
        await w.runner.deliver_due()
        assert len(receiver.requests) == 4

        # Past the retry period: the next failed attempt is the last one.
        w.clock.now = start + timedelta(seconds=3700)
        assert await w.runner.deliver_due() == 1
        assert len(receiver.requests) == 5
        [delivery] = await w.deliveries(subscription)
        assert delivery["status"] == "dead"
        assert delivery["next_attempt_at"] is None
        assert [a["ok"] for a in delivery["attempts"]] == [False] * 5
        assert delivery["last_status"] == 503
        dead = await w.get("/v1/admin/deliveries?status=dead&target_kind=webhook")
        assert [d["id"] for d in dead["data"]] == [delivery["id"]]
        assert (await w.get("/v1/admin/deliveries?status=dead&target_kind=consumer"))["data"] == []

        # Another event while the breaker is open: not attempted either.
        await w.order("b")
        await w.publish()
        await w.runner.deliver_due()
        assert len(receiver.requests) == 5
        pending = await w.get(f"{hook}/deliveries?status=pending")
        [second] = pending["data"]
        refused = await w.api.post(f"/v1/admin/deliveries/{second['id']}:replay", headers=w.admin)
        assert refused.status_code == 409, refused.text

        # The endpoint recovers; the dead letter is replayed and both events arrive.
        receiver.then = 204
        replayed = await w.api.post(
            f"/v1/admin/deliveries/{delivery['id']}:replay", headers=w.admin
        )
        assert replayed.status_code == 202, replayed.text
        assert (replayed.json()["status"], replayed.json()["attempt_count"]) == ("pending", 0)
        await w.runner.deliver_due()
        assert len(receiver.requests) == 5  # still open
        w.clock.now = start + timedelta(seconds=3700 + 2400 + 10)
        for _ in range(3):
            await w.runner.deliver_due()
            w.clock.advance(60)
        assert receiver.answered == [503] * 5 + [204, 204]
        statuses = {d["id"]: d["status"] for d in await w.deliveries(subscription)}
        assert statuses == {delivery["id"]: "delivered", second["id"]: "delivered"}
        assert (await w.get(hook))["breaker"]["state"] == "closed"
        audit = await w.get("/v1/admin/audit?kind=delivery.replayed")
        assert [e["detail"]["delivery"] for e in audit["data"]] == [delivery["id"]]


async def test_webhooks_disabled_and_deleted_subscriptions_get_nothing(sqlite_url: str) -> None:
    async with receiving() as receiver, webhook_world(sqlite_url) as w:
        kept = await w.subscribe(receiver.url("/kept"), "*")
        paused = await w.subscribe(receiver.url("/paused"), "orders.*")
        gone = await w.subscribe(receiver.url("/gone"), "*.created")
        await w.api.post("/v1/notes", json={"text": "no events"}, headers=w.member)
        await w.order("x")
        await w.publish()
        patched = await w.api.patch(
            f"{HOOKS}/{paused['id']}", json={"enabled": False}, headers=w.admin
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["enabled"] is False
        assert (await w.api.delete(f"{HOOKS}/{gone['id']}", headers=w.admin)).status_code == 204

        assert await w.runner.deliver_due() == 3
        assert len(receiver.requests) == 1
        dead = (await w.get("/v1/admin/deliveries?status=dead"))["data"]
        assert sorted(d["last_error"] for d in dead) == [
            "the webhook subscription is disabled",
            "the webhook subscription was deleted",
        ]
        assert (await w.deliveries(kept))[0]["status"] == "delivered"


# SSRF protection of subscription URLs --------------------------------------------------------


async def test_webhooks_refuse_internal_addresses_by_default(sqlite_url: str) -> None:
    async with webhook_world(sqlite_url, allow_private=False) as w:
        for url in ("http://127.0.0.1:8080/hook", "http://169.254.169.254/latest/meta-data"):
            response = await w.api.post(
                HOOKS, json={"url": url, "event_types": ["*"]}, headers=w.admin
            )
            assert response.status_code == 422, response.text
            [error] = response.json()["errors"]
            assert error["pointer"] == "/url"
            assert "BASTION_WEBHOOK_ALLOWED_NETWORKS" in error["detail"]
        loopback = await w.api.post(
            HOOKS, json={"url": "http://127.0.0.1/x", "event_types": ["*"]}, headers=w.admin
        )
        assert "BASTION_WEBHOOK_ALLOW_PRIVATE=true" in loopback.json()["errors"][0]["detail"]
        assert (await w.get(HOOKS))["data"] == []


# The admin API -------------------------------------------------------------------------------


async def test_webhooks_admin_api_shows_the_secret_once_and_only_to_admins(
    database_url: str,
) -> None:
    async with webhook_world(database_url) as w:
        body = {"url": "https://example.com/hooks", "event_types": ["orders.*"]}
        assert (await w.api.get(HOOKS)).status_code == 401
        for method, path in (
            ("GET", HOOKS),
            ("POST", HOOKS),
            ("GET", "/v1/admin/deliveries?status=dead"),
        ):
            refused = await w.api.request(method, path, json=body, headers=w.member)
            assert refused.status_code == 403, (method, path, refused.text)

        created = await w.api.post(
            HOOKS, json={**body, "description": "orders to the ERP"}, headers=w.admin
        )
        assert created.status_code == 201, created.text
        assert created.headers["cache-control"] == "no-store"
        subscription = created.json()
        secret = subscription["secret"]
        assert secret.startswith("whsec_")
        assert subscription["enabled"] is True
        assert subscription["breaker"] == {
            "state": "closed",
            "consecutive_failures": 0,
            "opened_at": None,
            "open_until": None,
        }
        hook = f"{HOOKS}/{subscription['id']}"
        assert created.headers["location"] == hook
        assert (await w.api.get(created.headers["location"], headers=w.admin)).status_code == 200
        document = (await w.api.get("/openapi.json")).json()
        assert "Location" in document["paths"][HOOKS]["post"]["responses"]["201"]["headers"]

        listed = await w.api.get(HOOKS, headers=w.admin)
        shown = await w.api.get(hook, headers=w.admin)
        for response in (listed, shown):
            assert "secret" not in response.text
            assert secret.removeprefix("whsec_") not in response.text
        assert [s["id"] for s in listed.json()["data"]] == [subscription["id"]]
        assert shown.json()["description"] == "orders to the ERP"
        async with w.sql_store.unit_of_work(read_only=True) as uow:
            stored = await uow.fetch(WEBHOOKS, UUID(subscription["id"]))
        assert secret.removeprefix("whsec_") not in stored["secret"]  # sealed at rest

        rotated = await w.api.post(f"{hook}:rotate-secret", headers=w.admin)
        assert rotated.status_code == 200, rotated.text
        assert rotated.json()["secret"].startswith("whsec_")
        assert rotated.json()["secret"] != secret

        patched = await w.api.patch(
            hook,
            json={"event_types": ["orders.created", "*.deleted"], "description": None},
            headers={**w.admin, "Content-Type": "application/merge-patch+json"},
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["event_types"] == ["orders.created", "*.deleted"]
        assert patched.json()["description"] is None
        assert patched.json()["url"] == body["url"]

        audit = await w.api.get("/v1/admin/audit?limit=200", headers=w.admin)
        kinds = [e["kind"] for e in audit.json()["data"] if e["kind"].startswith("webhook.")]
        assert kinds == ["webhook.updated", "webhook.secret_rotated", "webhook.created"]
        assert "whsec_" not in audit.text

        assert (await w.api.delete(hook, headers=w.admin)).status_code == 204
        missing = await w.api.get(hook, headers=w.admin)
        assert missing.status_code == 404
        assert (await w.api.get(f"{hook}/deliveries", headers=w.admin)).status_code == 404
        assert (await w.api.get(f"{HOOKS}/not-a-uuid", headers=w.admin)).status_code == 404


async def test_webhooks_bad_subscriptions_are_422_with_pointers_and_change_nothing(
    sqlite_url: str,
) -> None:
    async with webhook_world(sqlite_url) as w:

        async def pointers(body: Any) -> list[str]:
            response = await w.api.post(HOOKS, json=body, headers=w.admin)
            assert response.status_code == 422, response.text
            return [e["pointer"] for e in response.json()["errors"]]

        url = "http://127.0.0.1:9/hook"
        assert await pointers({}) == ["/url", "/event_types"]
        assert await pointers([]) == [""]
        assert await pointers({"url": url, "event_types": []}) == ["/event_types"]
        assert await pointers({"url": url, "event_types": ["*"], "secret": "mine"}) == ["/secret"]
        assert await pointers({"url": "ftp://example.com/x", "event_types": ["*"]}) == ["/url"]
        patterns = [
            "orders.created",
            "nope.created",
            "orders.archived",
            "notes.created",  # a resource without events
            "*.*",
            "orders",
        ]
        assert await pointers({"url": url, "event_types": patterns}) == [
            f"/event_types/{i}" for i in range(1, 6)
        ]
        response = await w.api.post(
            HOOKS, json={"url": url, "event_types": ["nope.created"]}, headers=w.admin
        )
        assert "resources with events: orders" in response.json()["errors"][0]["detail"]
        good = ["*", "orders.*", "*.deleted", "orders.updated", "orders.updated"]
        created = await w.subscribe(url, *good)
        assert created["event_types"] == good[:4]

        hook = f"{HOOKS}/{created['id']}"
        # BASTION_WEBHOOK_ALLOW_PRIVATE let the loopback URL in; the metadata service never is.
        metadata = "http://169.254.169.254/latest/meta-data"
        for change, pointer in (
            ({"url": None}, "/url"),
            ({"enabled": "yes"}, "/enabled"),
            ({"url": metadata}, "/url"),
        ):
            response = await w.api.patch(hook, json=change, headers=w.admin)
            assert response.status_code == 422, response.text
            assert [e["pointer"] for e in response.json()["errors"]] == [pointer]
        assert "the cloud metadata service" in response.json()["errors"][0]["detail"]
        bad_query = await w.api.get("/v1/admin/deliveries?status=lost", headers=w.admin)
        assert bad_query.status_code == 400
        assert bad_query.json()["errors"][0]["pointer"] == "status"
        [unchanged] = (await w.get(HOOKS))["data"]
        assert (unchanged["url"], unchanged["event_types"]) == (url, good[:4])


# Secret rotation with an overlap -------------------------------------------------------------


def _verifies(secret: str, request: Received) -> bool:
    """Whether a receiver holding ``secret`` accepts ``request`` (Standard Webhooks)."""
    try:
        Webhook(secret).verify(request.body, request.headers)
    except WebhookVerificationError:
        return False
    return True


def _signatures(request: Received) -> list[str]:
    return request.headers["webhook-signature"].split(" ")


async def _rotate(w: World, subscription: dict[str, Any], body: Any = None) -> httpx.Response:
    path = f"{HOOKS}/{subscription['id']}:rotate-secret"
    if body is None:
        return await w.api.post(path, headers=w.admin)
    return await w.api.post(path, json=body, headers=w.admin)


async def _deliver_one(w: World, receiver: Receiver, title: str) -> Received:
    await w.order(title)
    await w.publish()
    assert await w.runner.deliver_due() == 1
    assert receiver.answered[-1] == 200
    return receiver.requests[-1]


async def test_webhooks_rotation_signs_with_both_secrets_until_the_overlap_ends(
    database_url: str,
) -> None:
    async with (
        receiving() as receiver,
        webhook_world(database_url, webhook_secret_overlap_seconds=3600) as w,
    ):
        subscription = await w.subscribe(receiver.url(), "orders.created")
        old = subscription["secret"]
        before = datetime.now(UTC)
        rotated = await _rotate(w, subscription)
        assert rotated.status_code == 200, rotated.text
        assert rotated.headers["cache-control"] == "no-store"
        new = rotated.json()["secret"]
        assert new.startswith("whsec_")
        assert new != old
        ends = _at(rotated.json()["previous_secret_expires_at"])
        assert before + timedelta(seconds=3600) <= ends <= datetime.now(UTC) + timedelta(hours=1)
        assert old.removeprefix("whsec_") not in rotated.text

        # During the overlap a receiver holding either secret accepts the delivery.
        during = await _deliver_one(w, receiver, "during")
        assert len(_signatures(during)) == 2
        assert _verifies(old, during)
        assert _verifies(new, during)

        # Once the overlap is over (by the delivery runner's clock) only the new one signs.
        w.clock.now = ends + timedelta(seconds=1)
        after = await _deliver_one(w, receiver, "after")
        assert len(_signatures(after)) == 1
        assert _verifies(new, after)
        assert not _verifies(old, after)

        # The previous secret is stored sealed, and no answer or audit entry shows it.
        async with w.sql_store.unit_of_work(read_only=True) as uow:
            stored = await uow.fetch(WEBHOOKS, UUID(subscription["id"]))
        assert stored["previous_secret"]
        assert old.removeprefix("whsec_") not in stored["previous_secret"]
        answers = [
            rotated.text,
            (await w.api.get(HOOKS, headers=w.admin)).text,
            (await w.api.get(f"{HOOKS}/{subscription['id']}", headers=w.admin)).text,
            (await w.api.get(f"{HOOKS}/{subscription['id']}/deliveries", headers=w.admin)).text,
            (await w.api.get("/v1/admin/audit?limit=200", headers=w.admin)).text,
        ]
        for text in answers:
            assert old.removeprefix("whsec_") not in text
            assert stored["previous_secret"] not in text
        audit = await w.get("/v1/admin/audit?kind=webhook.secret_rotated")
        [entry] = audit["data"]
        # The same instant, written as the answer writes it.
        assert (
            entry["detail"]["previous_secret_expires_at"]
            == rotated.json()["previous_secret_expires_at"]
        )
        assert _at(entry["detail"]["previous_secret_expires_at"]) == ends
        assert new.removeprefix("whsec_") not in str(audit)


async def test_webhooks_rotation_keeps_two_secrets_at_most_and_zero_overlap_stops_the_old_one(
    sqlite_url: str,
) -> None:
    async with receiving() as receiver, webhook_world(sqlite_url) as w:
        subscription = await w.subscribe(receiver.url(), "orders.created")
        first = subscription["secret"]
        second = (await _rotate(w, subscription, {"overlap_seconds": 600})).json()["secret"]
        # Rotating again during the overlap: the secret it replaces is the one kept.
        third = await _rotate(w, subscription, {"overlap_seconds": 600})
        assert third.status_code == 200, third.text
        request = await _deliver_one(w, receiver, "two")
        assert len(_signatures(request)) == 2
        assert _verifies(third.json()["secret"], request)
        assert _verifies(second, request)
        assert not _verifies(first, request)

        # No overlap: the secret it replaces stops signing at once.
        fourth = await _rotate(w, subscription, {"overlap_seconds": 0})
        assert fourth.status_code == 200, fourth.text
        assert fourth.json()["previous_secret_expires_at"] is None
        request = await _deliver_one(w, receiver, "one")
        assert len(_signatures(request)) == 1
        assert _verifies(fourth.json()["secret"], request)
        assert not _verifies(third.json()["secret"], request)
        async with w.sql_store.unit_of_work(read_only=True) as uow:
            stored = await uow.fetch(WEBHOOKS, UUID(subscription["id"]))
        assert (stored["previous_secret"], stored["previous_secret_expires_at"]) == (None, None)


async def test_webhooks_rotation_refuses_a_bad_overlap_with_a_422_and_keeps_the_secret(
    sqlite_url: str,
) -> None:
    async with receiving() as receiver, webhook_world(sqlite_url) as w:
        subscription = await w.subscribe(receiver.url(), "orders.created")
        for body, pointer in (
            ({"overlap_seconds": -1}, "/overlap_seconds"),
            ({"overlap_seconds": 30 * 86_400 + 1}, "/overlap_seconds"),
            ({"overlap_seconds": "60"}, "/overlap_seconds"),
            ({"overlap_seconds": 1.5}, "/overlap_seconds"),
            ({"overlap_seconds": True}, "/overlap_seconds"),
            ({"overlap": 60}, "/overlap"),
            ([60], ""),
        ):
            response = await _rotate(w, subscription, body)
            assert response.status_code == 422, (body, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            problem = response.json()
            assert problem["status"] == 422
            assert [e["pointer"] for e in problem["errors"]] == [pointer], body
            assert "whsec_" not in response.text
        not_json = await w.api.post(
            f"{HOOKS}/{subscription['id']}:rotate-secret",
            content=b"overlap_seconds=60",
            headers={**w.admin, "Content-Type": "application/x-www-form-urlencoded"},
        )
        assert not_json.status_code == 415, not_json.text

        # Nothing was rotated: the original secret alone still signs.
        request = await _deliver_one(w, receiver, "unchanged")
        assert _signatures(request) == [request.headers["webhook-signature"]]
        assert _verifies(subscription["secret"], request)
        assert (await w.get("/v1/admin/audit?kind=webhook.secret_rotated"))["data"] == []

        longest = await _rotate(w, subscription, {"overlap_seconds": 30 * 86_400})
        assert longest.status_code == 200, longest.text
        assert _at(longest.json()["previous_secret_expires_at"]) > datetime.now(UTC) + timedelta(
            days=29
        )


async def test_webhooks_rotation_overlap_defaults_to_the_setting(
    sqlite_url: str, tmp_path: Path
) -> None:
    for bad in (-1, 30 * 86_400 + 1):
        with pytest.raises(ValidationError, match="webhook_secret_overlap_seconds"):
            production_settings(sqlite_url, webhook_secret_overlap_seconds=bad)
    assert Settings.model_fields["webhook_secret_overlap_seconds"].default == 86_400

    # The application's own admin routes (not the test's) take the setting.
    async with webhook_world(sqlite_url, test_routes=False) as w:
        subscription = await w.subscribe("http://127.0.0.1:9/hook")
        before = datetime.now(UTC)
        rotated = await _rotate(w, subscription)
        assert rotated.status_code == 200, rotated.text
        ends = _at(rotated.json()["previous_secret_expires_at"])
        assert before + timedelta(days=1) <= ends <= datetime.now(UTC) + timedelta(days=1)
    other_url = f"sqlite+aiosqlite:///{tmp_path / 'no-overlap.db'}"
    async with webhook_world(other_url, test_routes=False, webhook_secret_overlap_seconds=0) as w:
        subscription = await w.subscribe("http://127.0.0.1:9/hook")
        rotated = await _rotate(w, subscription)
        assert rotated.status_code == 200, rotated.text
        assert rotated.json()["previous_secret_expires_at"] is None
        # A call may still ask for an overlap the server does not give by default.
        asked = await _rotate(w, subscription, {"overlap_seconds": 60})
        assert asked.json()["previous_secret_expires_at"] is not None
