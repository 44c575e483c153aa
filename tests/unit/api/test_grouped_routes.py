"""Grouping routes under a shared prefix into one Mount never changes which route answers."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Mount, Route

from bastion.app.routing import grouped_routes


def _named(name: str):  # type: ignore[no-untyped-def]
    async def endpoint(request: Request) -> PlainTextResponse:
        return PlainTextResponse(name)

    return endpoint


def _route(path: str, name: str, methods: list[str] | None = None) -> Route:
    return Route(path, _named(name), methods=methods or ["GET"])


async def _answers(routes: list[BaseRoute], method: str, path: str) -> tuple[int, str]:
    app = Starlette(routes=routes)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await c.request(method, path)
    return response.status_code, response.text


ROUTES: list[BaseRoute] = [
    _route("/v1/auth/token", "token", ["POST"]),
    _route("/v1/auth/me", "me"),
    _route("/v1/auth/me", "forget-me", ["DELETE"]),
    _route("/.well-known/jwks.json", "jwks"),
    _route("/v1/auth/keys", "keys"),
    _route("/v1/auth/keys/{id}", "key"),
    _route("/v1/{resource}", "collection"),
    _route("/v1/{resource}/{id}", "item"),
]


async def test_every_route_under_a_prefix_is_mounted_once_where_the_first_was() -> None:
    grouped = grouped_routes(ROUTES)
    assert [type(r).__name__ for r in grouped] == ["Mount", "Route", "Route", "Route"]
    assert isinstance(grouped[0], Mount)
    assert grouped[0].path == "/v1/auth"


async def test_requests_reach_the_same_route_as_before() -> None:
    requests = [
        ("POST", "/v1/auth/token"),
        ("GET", "/v1/auth/me"),
        ("DELETE", "/v1/auth/me"),
        ("GET", "/v1/auth/keys"),  # after the jwks route: still reached
        ("GET", "/v1/auth/keys/7"),
        ("GET", "/.well-known/jwks.json"),
        ("GET", "/v1/orders"),
        ("GET", "/v1/orders/7"),
    ]
    for method, path in requests:
        assert await _answers(grouped_routes(ROUTES), method, path) == await _answers(
            ROUTES, method, path
        ), (method, path)


async def test_a_wrong_method_under_the_prefix_answers_405_instead_of_falling_through() -> None:
    # Ungrouped, GET /v1/auth/token fell through to /v1/{resource}/{id} (Bastion: 404 "no
    # resource auth"); mounted, the route's own 405 with its Allow list answers.
    assert await _answers(ROUTES, "GET", "/v1/auth/token") == (200, "item")
    assert await _answers(grouped_routes(ROUTES), "GET", "/v1/auth/token") == (
        405,
        "Method Not Allowed",
    )


async def test_a_route_that_could_match_in_between_keeps_the_prefix_ungrouped() -> None:
    routes: list[BaseRoute] = [
        _route("/v1/auth/a", "a"),
        _route("/v1/auth/b", "b"),
        _route("/v1/{resource}/c", "shadow"),
        _route("/v1/auth/c", "c"),
    ]
    assert grouped_routes(routes) == routes
    assert await _answers(grouped_routes(routes), "GET", "/v1/auth/c") == (200, "shadow")
