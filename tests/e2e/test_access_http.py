"""Access rules over HTTP with real accounts and tokens, as a production server runs.

Two people register, sign in with their passwords and use the bearer
tokens they get: neither reaches the other's notes by id, list, filter or
cursor; calls without a token are asked to sign in (401), calls outside
the caller's grants are refused (403); every refusal is a problem document.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app_support import production_settings
from bastion.app import BastionApp, create_app
from bastion.blueprint import Blueprint
from schema_support import create_schema

BLUEPRINT = Blueprint.model_validate(
    {
        "name": "accesshttp",
        "auth": {"roles": ["member"], "registration": "open", "default_roles": ["member"]},
        "resources": {
            "notes": {
                "fields": {
                    "title": {"type": "string", "filterable": True, "sortable": True},
                    "pinned": {"type": "boolean", "default": False, "read_only_for": ["member"]},
                    "author": {
                        "type": "belongs_to",
                        "resource": "users",
                        "owner": True,
                        "filterable": True,
                    },
                },
                "access": {"member": {"actions": "all", "rows": "own"}},
            },
            "memos": {"fields": {"text": {"type": "string"}}},
        },
    }
)
PASSWORD = "correct horse battery staple"
PROBLEM = "application/problem+json"


@dataclass
class Person:
    """A registered user and the headers that carry their access token."""

    id: str
    headers: dict[str, str]


@pytest.fixture
async def client(sqlite_url: str) -> AsyncIterator[httpx.AsyncClient]:
    await create_schema(BLUEPRINT, sqlite_url)
    settings = production_settings(sqlite_url)
    app: BastionApp = create_app(BLUEPRINT, settings=settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    await app.stop()


async def sign_up(client: httpx.AsyncClient, email: str) -> Person:
    registered = await client.post("/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    token = await client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": email, "password": PASSWORD},
    )
    assert token.status_code == 200, token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    return Person(id=registered.json()["id"], headers=headers)


async def new_note(client: httpx.AsyncClient, person: Person, title: str) -> dict[str, Any]:
    response = await client.post("/v1/notes", json={"title": title}, headers=person.headers)
    assert response.status_code == 201, response.text
    note: dict[str, Any] = response.json()
    return note


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert (problem["status"], problem["code"]) == (status, code)


async def test_a_signed_in_user_cannot_reach_another_users_note(
    client: httpx.AsyncClient,
) -> None:
    ada, bob = await sign_up(client, "ada@example.com"), await sign_up(client, "bob@example.com")
    mine = await new_note(client, ada, "ada's note")
    theirs = await new_note(client, bob, "bob's plan")
    path = f"/v1/notes/{theirs['id']}"
    etag = {**ada.headers, "If-Match": '"1"'}

    attempts = [
        await client.get(path, headers=ada.headers),
        await client.patch(path, json={"title": "mine now"}, headers=ada.headers),
        await client.patch(path, json={"title": "mine now"}, headers=etag),
        await client.put(path, json={"title": "mine now", "author": ada.id}, headers=ada.headers),
        await client.delete(path, headers=ada.headers),
    ]

    for response in attempts:
        assert_problem(response, 404, "not_found")
    unchanged = await client.get(path, headers=bob.headers)
    assert unchanged.status_code == 200
    assert (unchanged.json()["title"], unchanged.json()["version"]) == ("bob's plan", 1)
    listed = await client.get("/v1/notes", headers=ada.headers)
    assert [n["id"] for n in listed.json()["data"]] == [mine["id"]]
    filtered = await client.get("/v1/notes", params={"author": bob.id}, headers=ada.headers)
    assert filtered.status_code == 200
    assert filtered.json()["data"] == []
    counted = await client.get("/v1/notes:aggregate?count=true", headers=ada.headers)
    assert counted.json()["data"] == [{"count": 1}]


async def test_a_user_pages_through_only_their_own_notes(client: httpx.AsyncClient) -> None:
    ada, bob = await sign_up(client, "ada@example.com"), await sign_up(client, "bob@example.com")
    for i in range(3):
        await new_note(client, ada, f"ada {i}")
        await new_note(client, bob, f"bob {i}")
    titles: list[str] = []
    params = {"limit": "2", "sort": "title"}

    while True:
        page = await client.get("/v1/notes", params=params, headers=ada.headers)
        assert page.status_code == 200, page.text
        titles += [note["title"] for note in page.json()["data"]]
        if page.json()["next_cursor"] is None:
            break
        params = {**params, "cursor": page.json()["next_cursor"]}

    assert titles == ["ada 0", "ada 1", "ada 2"]


async def test_calls_without_a_token_are_asked_to_sign_in(client: httpx.AsyncClient) -> None:
    ada = await sign_up(client, "ada@example.com")
    note = await new_note(client, ada, "ada's note")

    for response in (
        await client.get("/v1/notes"),
        await client.get(f"/v1/notes/{note['id']}"),
        await client.post("/v1/notes", json={"title": "x"}),
        await client.get("/v1/memos"),
    ):
        assert_problem(response, 401, "not_authenticated")
        assert response.headers["www-authenticate"].startswith("Bearer")
    forged = await client.get("/v1/notes", headers={"Authorization": "Bearer not.a.token"})
    assert_problem(forged, 401, "not_authenticated")


async def test_actions_outside_the_callers_grants_are_forbidden(
    client: httpx.AsyncClient,
) -> None:
    ada, bob = await sign_up(client, "ada@example.com"), await sign_up(client, "bob@example.com")
    note = await new_note(client, ada, "ada's note")

    refused = [
        # A resource without access rules is admin-only in production.
        await client.get("/v1/memos", headers=ada.headers),
        await client.post("/v1/memos", json={"text": "hi"}, headers=ada.headers),
        await client.get("/v1/users", headers=ada.headers),
        await client.post("/v1/notes", json={"title": "x", "author": bob.id}, headers=ada.headers),
        await client.patch(f"/v1/notes/{note['id']}", json={"pinned": True}, headers=ada.headers),
        await client.patch(f"/v1/users/{ada.id}", json={"roles": ["admin"]}, headers=ada.headers),
    ]

    for response in refused:
        assert_problem(response, 403, "forbidden")
    me = await client.get(f"/v1/users/{ada.id}", headers=ada.headers)
    assert me.json()["roles"] == ["member"]
    assert_problem(await client.get(f"/v1/users/{bob.id}", headers=ada.headers), 404, "not_found")
    internal = await client.get("/v1/bastion_credentials", headers=ada.headers)
    assert internal.status_code == 404
