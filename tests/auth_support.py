"""Test support for the identity endpoints: a small application made of the
identity routes and middleware on a real store, with fast password hashing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.adapters.sql.store import SqlStore
from bastion.api.rest import ProblemMiddleware, http_exception_handler
from bastion.api.rest.http import json_response, request_context
from bastion.app.identity import IdentityWiring, build_identity
from bastion.blueprint import Blueprint, Resource, StringField, with_identity
from bastion.blueprint.access import AuthSpec, Registration
from bastion.core import RecordService
from bastion.core.identity.throttling import ACCOUNT_POLICY, ThrottlePolicy
from bastion.settings import Settings
from schema_support import create_schema

PASSWORD = "correct horse battery staple"
"""A password every test user has unless a test says otherwise."""

FAST_SETTINGS: dict[str, Any] = {"argon2_time_cost": 1, "argon2_memory_kib": 8192}

QUICK_LOCK = ThrottlePolicy(
    free_attempts=4,
    window=timedelta(minutes=1),
    base_delay=timedelta(seconds=1),
    max_delay=timedelta(seconds=1),
)
"""The fifth failure locks the account for one second."""


@dataclass
class CapturingMailer:
    """Keeps every account email instead of sending it."""

    sent: list[dict[str, str]] = field(default_factory=list)

    async def send(self, *, to: str, subject: str, body: str, purpose: str) -> None:
        self.sent.append({"to": to, "subject": subject, "body": body, "purpose": purpose})


@dataclass
class AuthApp:
    """An application serving the identity routes, and what tests reach into."""

    client: httpx.AsyncClient
    wiring: IdentityWiring
    service: RecordService
    mailer: CapturingMailer


def auth_blueprint(
    registration: Registration = "open", mfa_required_roles: Sequence[str] = ()
) -> Blueprint:
    """A blueprint with one resource and the roles ``member`` and ``staff``."""
    blueprint = Blueprint(
        name="authtest",
        resources={"notes": Resource(fields={"title": StringField(max_length=50)})},
        auth=AuthSpec(
            roles={"member": {}, "staff": {}},
            registration=registration,
            default_roles=["member"],
            mfa_required_roles=list(mfa_required_roles),
        ),
    )
    return with_identity(blueprint)


async def whoami(request: Request) -> Response:
    """Echoes the request context the middleware set."""
    ctx = request_context(request)
    return json_response(
        {
            "actor": ctx.actor,
            "roles": sorted(ctx.roles),
            "tenant": ctx.tenant,
            "scopes": None if ctx.scopes is None else sorted(ctx.scopes),
            "credential": ctx.credential,
            "client_ip": ctx.client_ip,
        }
    )


@asynccontextmanager
async def auth_app(
    database_url: str,
    *,
    registration: Registration = "open",
    mfa_required_roles: Sequence[str] = (),
    account_policy: ThrottlePolicy = ACCOUNT_POLICY,
    **settings: Any,
) -> AsyncIterator[AuthApp]:
    """A started application on a fresh schema in ``database_url``."""
    blueprint = auth_blueprint(registration, mfa_required_roles)
    await create_schema(blueprint, database_url)
    config = Settings(database_url=database_url, **{**FAST_SETTINGS, **settings})
    store = SqlStore(url=database_url, blueprint=blueprint)
    service = RecordService(blueprint=blueprint, store=store)
    mailer = CapturingMailer()
    wiring = build_identity(
        config, blueprint, service, store, account_policy=account_policy, mailer=mailer
    )
    app = Starlette(
        routes=[*wiring.routes, Route("/v1/whoami", whoami)],
        middleware=[Middleware(ProblemMiddleware), wiring.middleware],
        exception_handlers={HTTPException: http_exception_handler},
    )
    await store.start()
    await wiring.start()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    try:
        yield AuthApp(client=client, wiring=wiring, service=service, mailer=mailer)
    finally:
        await client.aclose()
        await wiring.stop()
        await store.close()


async def register(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, **extra: Any
) -> httpx.Response:
    """POST /v1/auth/register."""
    return await client.post(
        "/v1/auth/register", json={"email": email, "password": password, **extra}
    )


async def password_grant(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, **extra: str
) -> httpx.Response:
    """POST /v1/auth/token with grant_type=password, form-encoded."""
    return await client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": email, "password": password, **extra},
    )


async def signed_up(client: httpx.AsyncClient, email: str) -> dict[str, Any]:
    """Register ``email`` and sign in; the token response."""
    registered = await register(client, email)
    assert registered.status_code == 201, registered.text
    response = await password_grant(client, email)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for ``token``."""
    return {"Authorization": f"Bearer {token}"}
