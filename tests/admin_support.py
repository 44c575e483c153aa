"""Test support: an application serving a small blueprint with the identity layer, and
helpers to create users and sign them in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware

from bastion.adapters.sql.store import SqlStore
from bastion.api.rest import ProblemMiddleware, RestConfig, http_exception_handler, resource_routes
from bastion.app.identity import IdentityWiring, build_identity
from bastion.blueprint import (
    AuthSpec,
    BelongsTo,
    Blueprint,
    Resource,
    RoleGrant,
    StringField,
    with_identity,
)
from bastion.core import RecordService
from bastion.core.access import AccessRules
from bastion.core.identity.admin import OPERATOR
from bastion.core.identity.container import Identity
from bastion.core.identity.mail import OutgoingMail
from bastion.settings import Settings
from schema_support import create_schema

PASSWORD = "correct horse battery staple"


def shop_blueprint(*, registration: str = "open") -> Blueprint:
    """Notes any signed-in user may manage, and two declared roles."""
    notes = Resource(
        fields={
            "title": StringField(required=True),
            "author": BelongsTo(resource="users", owner=True),
        },
        access={"authenticated": RoleGrant(actions="all")},
    )
    auth = AuthSpec.model_validate({"roles": ["member", "staff"], "registration": registration})
    return with_identity(Blueprint(name="shop", resources={"notes": notes}, auth=auth))


@dataclass
class Mailbox:
    """Every account email the application sent."""

    sent: list[OutgoingMail] = field(default_factory=list)

    async def send(self, *, to: str, subject: str, body: str, purpose: str) -> None:
        self.sent.append(OutgoingMail(to=to, subject=subject, body=body, purpose=purpose))


@dataclass
class AuthApp:
    """The running application and what tests reach into."""

    client: httpx.AsyncClient
    identity: Identity
    mailbox: Mailbox

    async def create_user(self, email: str, *roles: str, password: str = PASSWORD) -> str:
        """A user created as the server operator would; their id."""
        assert self.identity.admin is not None
        user = await self.identity.admin.create_user(
            OPERATOR, email=email, password=password, roles=roles, email_verified=True
        )
        return str(user["id"])

    async def token(self, email: str, password: str = PASSWORD) -> str:
        """An access token from the password grant."""
        response = await self.client.post(
            "/v1/auth/token",
            data={"grant_type": "password", "username": email, "password": password},
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    async def signed_in(self, email: str, *roles: str) -> dict[str, str]:
        """Create the user and return the headers of their bearer token."""
        await self.create_user(email, *roles)
        return bearer(await self.token(email))


def bearer(token: str) -> dict[str, str]:
    """The ``Authorization`` header carrying ``token``."""
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def auth_app(
    url: str, *, registration: str = "open", **settings: Any
) -> AsyncIterator[AuthApp]:
    """The shop served with identity on the database at ``url`` (schema created)."""
    blueprint = shop_blueprint(registration=registration)
    await create_schema(blueprint, url)
    config = Settings(database_url=url, argon2_time_cost=1, argon2_memory_kib=8192, **settings)
    store = SqlStore(url=url, blueprint=blueprint)
    service = RecordService(
        blueprint=blueprint, store=store, access=AccessRules(blueprint, open_by_default=False)
    )
    mailbox = Mailbox()
    await store.start()
    wiring: IdentityWiring = build_identity(config, blueprint, service, store, mailer=mailbox)
    try:
        await wiring.start()
        app = Starlette(
            routes=[*wiring.routes, *resource_routes(service, RestConfig())],
            middleware=[Middleware(ProblemMiddleware), wiring.middleware],
            exception_handlers={HTTPException: http_exception_handler},
        )
        # The admin service is built when the routes are; tests use it to seed users.
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://auth.test") as client:
            yield AuthApp(client, wiring.identity, mailbox)
    finally:
        await wiring.stop()
        await store.close()
