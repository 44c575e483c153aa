"""The access log and request ids through a real application: one line per request."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from auth_support import FAST_SETTINGS, auth_blueprint, bearer, signed_up
from bastion.app import create_app
from bastion.settings import Settings
from log_capture import LogOutput
from schema_support import create_schema

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


async def hello(request: Request) -> Response:
    logging.getLogger("bastion.shop").info("saying hello")
    return PlainTextResponse("hello")


@pytest.fixture
async def api(sqlite_url: str, log_output: LogOutput) -> AsyncIterator[httpx.AsyncClient]:
    blueprint = auth_blueprint()
    await create_schema(blueprint, sqlite_url)
    # httpx logs each URL it requests at INFO: the test client's lines, not the server's.
    log_output.configure(json=True, level="INFO", levels={"httpx": "WARNING"})
    app = create_app(
        blueprint,
        settings=Settings(database_url=sqlite_url, **FAST_SETTINGS),
        routes=[Route("/v1/hello", hello)],
    )
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
    finally:
        await app.stop()


def access_lines(log_output: LogOutput) -> list[dict[str, Any]]:
    return [line for line in log_output.lines() if line["logger"] == "bastion.access"]


async def test_a_line_logged_while_handling_a_request_carries_its_request_and_trace_ids(
    api: httpx.AsyncClient, log_output: LogOutput
) -> None:
    response = await api.get(
        "/v1/hello", headers={"X-Request-ID": "client-chosen-42", "traceparent": TRACEPARENT}
    )
    assert response.headers["x-request-id"] == "client-chosen-42"
    [hello_line] = [line for line in log_output.lines() if line["event"] == "saying hello"]
    assert hello_line["request_id"] == "client-chosen-42"
    assert hello_line["trace_id"] == TRACE_ID
    [access] = access_lines(log_output)
    assert access["event"] == "GET /v1/hello 200"
    assert (access["request_id"], access["trace_id"]) == ("client-chosen-42", TRACE_ID)


async def test_lines_logged_after_the_request_no_longer_carry_its_ids(
    api: httpx.AsyncClient, log_output: LogOutput
) -> None:
    await api.get("/v1/hello", headers={"X-Request-ID": "client-chosen-42"})
    logging.getLogger("bastion.shop").info("between requests")
    [after] = [line for line in log_output.lines() if line["event"] == "between requests"]
    assert "request_id" not in after


async def test_the_access_line_names_the_route_template_the_user_and_never_the_query_string(
    api: httpx.AsyncClient, log_output: LogOutput
) -> None:
    tokens = await signed_up(api, "ada@example.com")
    headers = bearer(tokens["access_token"])
    me = (await api.get("/v1/auth/me", headers=headers)).json()
    note = (await api.post("/v1/notes", json={"title": "groceries"}, headers=headers)).json()

    response = await api.get(
        f"/v1/notes/{note['id']}",
        params={"fields": "title"},
        headers={**headers, "X-Request-ID": "get-note-1"},
    )
    assert response.status_code == 200
    [access] = [line for line in access_lines(log_output) if line["request_id"] == "get-note-1"]
    assert access["event"] == "GET /v1/notes/{id} 200"
    assert access["level"] == "info"
    assert access["method"] == "GET"
    assert access["route"] == "/v1/notes/{id}"
    assert access["path"] == f"/v1/notes/{note['id']}"
    assert access["status"] == 200
    assert access["user_id"] == me["id"]
    assert access["client_ip"] == "127.0.0.1"
    assert isinstance(access["duration_ms"], float)
    assert access["duration_ms"] == round(access["duration_ms"], 2)
    assert "fields=title" not in log_output.text()


async def test_every_request_gets_one_line_and_an_unknown_path_is_unmatched(
    api: httpx.AsyncClient, log_output: LogOutput
) -> None:
    await api.get("/healthz")
    await api.get("/v1/hello")
    missing = await api.get("/no/such/page")
    assert missing.status_code == 404
    lines = access_lines(log_output)
    # /healthz is logged at DEBUG, below the INFO this server runs at.
    assert [line["event"] for line in lines] == ["GET /v1/hello 200", "GET unmatched 404"]
    assert lines[1]["path"] == "/no/such/page"
    assert lines[0]["request_id"] != lines[1]["request_id"]
