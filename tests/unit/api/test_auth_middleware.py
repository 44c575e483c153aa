"""The authentication middleware: which requests get which context, and its 401s."""

from __future__ import annotations

from typing import Any, cast

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.rest import ProblemMiddleware
from bastion.api.rest.auth import AuthenticationMiddleware
from bastion.api.rest.client_ip import parse_trusted_proxies
from bastion.api.rest.http import json_response, request_context
from bastion.core.context import RequestContext
from bastion.core.errors import NotAuthenticated
from bastion.core.identity.tokens import TokenService


class _Tokens:
    """Accepts ``Bearer good`` as user ``u1``."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    async def authenticate(
        self, authorization: str, *, client_ip: str | None, request_id: str | None
    ) -> RequestContext:
        self.seen.append({"header": authorization, "ip": client_ip, "request_id": request_id})
        if authorization != "Bearer good":
            raise NotAuthenticated("the access token is invalid", reason="invalid_token")
        return RequestContext(
            actor="u1", credential="token", client_ip=client_ip, request_id=request_id
        )


async def _context(request: Request) -> Response:
    ctx = request_context(request)
    return json_response({"actor": ctx.actor, "ip": ctx.client_ip, "request_id": ctx.request_id})


def _client(tokens: _Tokens, proxies: tuple[str, ...] = ()) -> httpx.AsyncClient:
    app = Starlette(
        routes=[
            Route("/v1/context", _context),
            Route("/v1/auth/token", _context, methods=["POST"]),
        ],
        middleware=[
            Middleware(ProblemMiddleware),
            Middleware(
                AuthenticationMiddleware,
                tokens=cast(TokenService, tokens),
                trusted_proxies=parse_trusted_proxies(proxies),
            ),
        ],
    )
    transport = httpx.ASGITransport(app=app, client=("10.0.0.1", 1234))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_a_request_without_credentials_is_anonymous_with_its_ip_and_id() -> None:
    tokens = _Tokens()
    async with _client(tokens) as client:
        response = await client.get("/v1/context", headers={"X-Request-ID": "req-1"})
    assert response.json() == {"actor": None, "ip": "10.0.0.1", "request_id": "req-1"}
    assert tokens.seen == []


async def test_a_valid_bearer_token_sets_the_actor() -> None:
    tokens = _Tokens()
    async with _client(tokens) as client:
        response = await client.get("/v1/context", headers={"Authorization": "Bearer good"})
    assert response.json()["actor"] == "u1"


async def test_an_invalid_token_is_a_401_problem_with_www_authenticate() -> None:
    async with _client(_Tokens()) as client:
        response = await client.get("/v1/context", headers={"Authorization": "Bearer bad"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="bastion", error="invalid_token"'
    assert response.json()["code"] == "not_authenticated"
    assert response.headers["x-request-id"] == response.json()["request_id"]


async def test_basic_credentials_reach_the_token_endpoint_untouched() -> None:
    tokens = _Tokens()
    async with _client(tokens) as client:
        response = await client.post("/v1/auth/token", headers={"Authorization": "Basic YTpi"})
    assert response.status_code == 200
    assert response.json()["actor"] is None
    assert tokens.seen == []


async def test_the_client_ip_comes_from_trusted_proxies_only() -> None:
    tokens = _Tokens()
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    async with _client(tokens, proxies=("10.0.0.0/8",)) as client:
        trusted = await client.get("/v1/context", headers=forwarded)
    async with _client(tokens) as client:
        untrusted = await client.get("/v1/context", headers=forwarded)
    assert trusted.json()["ip"] == "203.0.113.9"
    assert untrusted.json()["ip"] == "10.0.0.1"
