"""Test support for the MFA and recovery flows: the identity endpoints over ASGI on a
real database, with a clock the test moves and a mailer that keeps what it "sends"."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware

from bastion.adapters.sql.store import SqlStore
from bastion.api.rest import ProblemMiddleware, http_exception_handler
from bastion.app.identity import build_identity
from bastion.blueprint import Blueprint, Resource, StringField, with_identity
from bastion.blueprint.access import AuthSpec
from bastion.core.context import RequestContext
from bastion.core.identity.container import Identity
from bastion.core.identity.mail import OutgoingMail
from bastion.core.identity.store import IdentityRecords
from bastion.core.records import RecordService
from bastion.settings import Settings
from schema_support import create_schema

BLUEPRINT = Blueprint(
    name="notebook",
    resources={"notes": Resource(fields={"text": StringField(max_length=200)})},
    auth=AuthSpec(roles={"staff": {}}, mfa_required_roles=["staff"]),
)
PASSWORD = "correct horse battery staple"
_TOKEN_LINE = re.compile(r"^[A-Za-z0-9_-]{32,}$")


class Clock:
    """Real time shifted by an offset the test moves forward."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


class CapturingMailer:
    """An in-process account mailer that keeps every message it is given."""

    def __init__(self) -> None:
        self.sent: list[OutgoingMail] = []

    async def send(self, *, to: str, subject: str, body: str, purpose: str) -> None:
        self.sent.append(OutgoingMail(to=to, subject=subject, body=body, purpose=purpose))

    def last_token(self, purpose: str, to: str | None = None) -> str:
        """The token in the latest message of ``purpose`` (to ``to``, if given)."""
        for mail in reversed(self.sent):
            if mail.purpose == purpose and (to is None or mail.to == to):
                return next(line for line in mail.body.splitlines() if _TOKEN_LINE.match(line))
        raise AssertionError(f"no {purpose} mail was sent")


@dataclass
class AuthHarness:
    """An HTTP client for the identity endpoints and the pieces behind it."""

    client: httpx.AsyncClient
    identity: Identity
    clock: Clock
    mailer: CapturingMailer
    users: dict[str, UUID] = field(default_factory=dict)

    async def register(self, email: str, password: str = PASSWORD) -> UUID:
        response = await self.client.post(
            "/v1/auth/register", json={"email": email, "password": password}
        )
        assert response.status_code == 201, response.text
        user_id = UUID(response.json()["id"])
        self.users[email] = user_id
        return user_id

    async def token_request(self, **params: str) -> httpx.Response:
        return await self.client.post("/v1/auth/token", data=params)

    async def sign_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        return await self.token_request(grant_type="password", username=email, password=password)

    async def bearer(self, email: str, password: str = PASSWORD) -> dict[str, str]:
        response = await self.sign_in(email, password)
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    async def me(self, headers: dict[str, str]) -> httpx.Response:
        return await self.client.get("/v1/auth/me", headers=headers)

    async def set_roles(self, email: str, roles: list[str]) -> None:
        service = self.identity.service
        async with service.store.unit_of_work() as uow:
            ids = IdentityRecords(service, uow, RequestContext())
            await ids.records.update("users", self.users[email], {"roles": roles})

    async def credentials(self, email: str) -> dict[str, Any]:
        service = self.identity.service
        async with service.store.unit_of_work(read_only=True) as uow:
            row = await IdentityRecords(service, uow, RequestContext()).credentials(
                self.users[email]
            )
        assert row is not None
        return row


@asynccontextmanager
async def auth_harness(database_url: str) -> AsyncIterator[AuthHarness]:
    """The identity endpoints (MFA and recovery included) on a fresh schema."""
    blueprint = with_identity(BLUEPRINT)
    await create_schema(blueprint, database_url)
    clock = Clock()
    store = SqlStore(url=database_url, blueprint=blueprint)
    await store.start()
    service = RecordService(blueprint=blueprint, store=store, clock=clock)
    settings = Settings(database_url=database_url, argon2_time_cost=1, argon2_memory_kib=8192)
    mailer = CapturingMailer()
    wiring = build_identity(settings, blueprint, service, store, mailer=mailer)
    identity = wiring.identity
    app = Starlette(
        routes=wiring.routes,
        middleware=[Middleware(ProblemMiddleware), wiring.middleware],
        exception_handlers={HTTPException: http_exception_handler},
    )
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    try:
        yield AuthHarness(client=client, identity=identity, clock=clock, mailer=mailer)
    finally:
        await client.aclose()
        await wiring.stop()
        await store.close()
