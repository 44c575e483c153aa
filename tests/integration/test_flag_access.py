"""Resources and fields behind a feature flag, over HTTP.

A resource behind a flag that is off for the caller answers 404 on every
endpoint, as a resource that does not exist would (never 401 or 403, which
would tell that it exists); a field behind one is hidden as ``hidden_from``
hides it. Turned on for a role, or for a percentage of users, both are served.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from app_support import production_settings
from bastion.api.rest.auth.admin_routes import admin_of
from bastion.app import BastionApp, create_app
from bastion.blueprint import Blueprint
from bastion.core.flags import bucket, in_percentage
from bastion.core.identity.admin import OPERATOR
from schema_support import create_schema

PASSWORD = "correct horse battery staple"
BLUEPRINT = Blueprint.model_validate(
    {
        "name": "flagaccess",
        "auth": {"roles": ["staff", "member"]},
        "flags": {
            "reviews": {
                "type": "boolean",
                "default": False,
                "rules": [
                    {"roles": ["staff"], "value": True},
                    {"percentage": 50, "value": True},
                ],
            },
            "ratings": {
                "type": "boolean",
                "default": False,
                "rules": [{"roles": ["staff"], "value": True}],
            },
        },
        "resources": {
            "products": {
                "fields": {
                    "name": {"type": "string", "filterable": True, "sortable": True},
                    "rating": {
                        "type": "integer",
                        "flag": "ratings",
                        "filterable": True,
                        "sortable": True,
                    },
                },
                "has_many": {"reviews": {"resource": "reviews", "via": "product"}},
                "access": {"authenticated": "all"},
            },
            "reviews": {
                "flag": "reviews",
                "fields": {
                    "product": {
                        "type": "belongs_to",
                        "resource": "products",
                        "required": True,
                        "filterable": True,
                    },
                    "text": {"type": "string"},
                },
                "access": {"anyone": ["list", "read"], "authenticated": "all"},
            },
        },
    }
)


@dataclass
class Shop:
    """The running application, a client, and signed-in callers."""

    app: BastionApp
    client: httpx.AsyncClient

    async def user(self, email: str, *roles: str) -> tuple[str, dict[str, str]]:
        """A new user's id and bearer header."""
        created = await admin_of(self.app.identity.identity).create_user(
            OPERATOR, email=email, password=PASSWORD, roles=list(roles), email_verified=True
        )
        token = await self.client.post(
            "/v1/auth/token",
            data={"grant_type": "password", "username": email, "password": PASSWORD},
        )
        assert token.status_code == 200, token.text
        return str(created["id"]), {"Authorization": f"Bearer {token.json()['access_token']}"}

    async def member(self, *, in_rollout: bool, role: str = "member") -> dict[str, str]:
        """A user with ``role`` inside (or outside) the 50 % rollout of ``reviews``."""
        for attempt in range(40):
            email = f"{role}-{in_rollout}-{attempt}@example.com"
            user, headers = await self.user(email, role)
            if in_percentage(bucket("reviews", user), 50) == in_rollout:
                return headers
        raise AssertionError("no member landed on that side of the rollout")

    async def created(self, path: str, body: Any, headers: dict[str, str]) -> dict[str, Any]:
        answer = await self.client.post(path, json=body, headers=headers)
        assert answer.status_code == 201, answer.text
        record: dict[str, Any] = answer.json()
        return record


@asynccontextmanager
async def shop(url: str) -> AsyncIterator[Shop]:
    await create_schema(BLUEPRINT, url)
    app = create_app(BLUEPRINT, settings=production_settings(url))
    await app.start()
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield Shop(app, client)
    finally:
        await app.stop()


async def _every_endpoint(
    client: httpx.AsyncClient, review: dict[str, Any], headers: dict[str, str]
) -> dict[str, int]:
    item = f"/v1/reviews/{review['id']}"
    body = {"product": review["product"], "text": "hi"}
    calls = {
        "list": client.get("/v1/reviews", headers=headers),
        "get": client.get(item, headers=headers),
        "aggregate": client.get("/v1/reviews:aggregate?count=true", headers=headers),
        "create": client.post("/v1/reviews", json=body, headers=headers),
        "batch": client.post("/v1/reviews:batch", json={"records": [body]}, headers=headers),
        "replace": client.put(item, json=body, headers=headers),
        "update": client.patch(item, json={"text": "changed"}, headers=headers),
    }
    statuses = {name: (await call).status_code for name, call in calls.items()}
    statuses["delete"] = (await client.delete(item, headers=headers)).status_code
    return statuses


async def test_a_resource_behind_an_off_flag_is_absent_on_every_endpoint(
    database_url: str,
) -> None:
    async with shop(database_url) as s:
        _, staff = await s.user("staff@example.com", "staff")
        product = await s.created("/v1/products", {"name": "Lamp"}, staff)
        review = await s.created("/v1/reviews", {"product": product["id"], "text": "ok"}, staff)
        outside = await s.member(in_rollout=False)
        admin = await s.member(in_rollout=False, role="admin")
        unknown = await s.client.get("/v1/no_such_things", headers=outside)

        # A member and an admin outside the rollout, and an anonymous caller (never in it).
        for caller in (outside, {}, admin):
            statuses = await _every_endpoint(s.client, review, caller)
            assert set(statuses.values()) == {404}, statuses
            refused = await s.client.get("/v1/reviews", headers=caller)
            assert refused.json()["code"] == unknown.json()["code"] == "not_found"
            assert refused.json()["detail"] == "there is no resource called 'reviews'"
        # Nothing was changed or deleted on the way.
        kept = await s.client.get(f"/v1/reviews/{review['id']}", headers=staff)
        assert kept.json()["text"] == "ok"


async def test_the_resource_is_served_to_the_role_and_the_share_it_is_on_for(
    sqlite_url: str,
) -> None:
    async with shop(sqlite_url) as s:
        _, staff = await s.user("staff@example.com", "staff")
        inside = await s.member(in_rollout=True)
        for caller in (staff, inside):
            product = await s.created("/v1/products", {"name": "Lamp"}, caller)
            review = await s.created("/v1/reviews", {"product": product["id"]}, caller)
            statuses = await _every_endpoint(s.client, review, caller)
            assert statuses == {
                "list": 200,
                "get": 200,
                "aggregate": 200,
                "create": 201,
                "batch": 201,
                "replace": 200,
                "update": 200,
                "delete": 204,
            }


async def test_admins_see_it_once_an_override_targets_them(sqlite_url: str) -> None:
    async with shop(sqlite_url) as s:
        admin = await s.member(in_rollout=False, role="admin")
        assert (await s.client.get("/v1/reviews", headers=admin)).status_code == 404
        rules = [{"roles": ["admin"], "value": True}]
        targeted = await s.client.put(
            "/v1/admin/flags/reviews", json={"rules": rules}, headers=admin
        )
        assert targeted.status_code == 200, targeted.text
        assert (await s.client.get("/v1/reviews", headers=admin)).status_code == 200
        _, staff = await s.user("staff@example.com", "staff")
        # The override replaced the blueprint's rules: staff are no longer named.
        assert (await s.client.get("/v1/reviews", headers=staff)).status_code == 404


async def test_relations_to_a_resource_behind_an_off_flag_cannot_be_expanded(
    sqlite_url: str,
) -> None:
    async with shop(sqlite_url) as s:
        _, staff = await s.user("staff@example.com", "staff")
        outside = await s.member(in_rollout=False)
        product = await s.created("/v1/products", {"name": "Lamp"}, staff)
        await s.created("/v1/reviews", {"product": product["id"], "text": "ok"}, staff)
        expanded = f"/v1/products/{product['id']}?expand=reviews"

        refused = await s.client.get(expanded, headers=outside)
        assert refused.status_code == 400, refused.text
        assert refused.json()["errors"] == [
            {"pointer": "expand", "detail": "reviews is not a relation you may query"}
        ]
        listed = await s.client.get("/v1/products?expand=reviews", headers=outside)
        assert listed.status_code == 400
        served = await s.client.get(expanded, headers=staff)
        assert [r["text"] for r in served.json()["reviews"]] == ["ok"]


async def test_a_field_behind_an_off_flag_is_hidden_like_hidden_from(sqlite_url: str) -> None:
    async with shop(sqlite_url) as s:
        _, staff = await s.user("staff@example.com", "staff")
        inside = await s.member(in_rollout=True)  # reviews on, ratings off
        product = await s.created("/v1/products", {"name": "Lamp", "rating": 4}, staff)
        item = f"/v1/products/{product['id']}"
        assert product["rating"] == 4

        read = (await s.client.get(item, headers=inside)).json()
        assert "rating" not in read
        assert read["name"] == "Lamp"
        page = (await s.client.get("/v1/products", headers=inside)).json()["data"]
        assert [set(r) & {"rating"} for r in page] == [set()]
        review = await s.created("/v1/reviews", {"product": product["id"]}, inside)
        embedded = await s.client.get(f"/v1/reviews/{review['id']}?expand=product", headers=inside)
        assert embedded.json()["product"]["name"] == "Lamp"
        assert "rating" not in embedded.json()["product"]

        for query in ("fields=rating", "rating=4", "sort=rating"):
            answer = await s.client.get(f"/v1/products?{query}", headers=inside)
            assert answer.status_code == 400, (query, answer.text)

        written = await s.client.post(
            "/v1/products", json={"name": "Desk", "rating": 1}, headers=inside
        )
        assert written.status_code == 403
        assert written.json()["errors"] == [
            {"pointer": "/rating", "detail": "you may not write it"}
        ]
        patched = await s.client.patch(item, json={"rating": 1}, headers=inside)
        assert patched.status_code == 403
        # A replace by someone the field is hidden from keeps its stored value.
        replaced = await s.client.put(item, json={"name": "Big lamp"}, headers=inside)
        assert replaced.status_code == 200, replaced.text
        assert "rating" not in replaced.json()

        seen = (await s.client.get(item, headers=staff)).json()
        assert (seen["name"], seen["rating"]) == ("Big lamp", 4)
        sorted_page = await s.client.get("/v1/products?sort=-rating&rating[gte]=4", headers=staff)
        assert sorted_page.status_code == 200
        assert [r["rating"] for r in sorted_page.json()["data"]] == [4]


async def test_the_api_documents_what_is_behind_flags(sqlite_url: str) -> None:
    async with shop(sqlite_url) as s:
        document = (await s.client.get("/openapi.json")).json()
    reviews = document["paths"]["/v1/reviews"]
    for operation in (reviews["get"], reviews["post"]):
        assert "404" in operation["responses"]
        assert "feature flag `reviews`" in operation["description"]
    assert "404" in document["paths"]["/v1/reviews:aggregate"]["get"]["responses"]
    products = document["components"]["schemas"]["Products"]
    assert "rating" in products["properties"]
    assert "rating" not in products["required"]
    assert "name" in products["required"]
    assert "/v1/admin/flags/{name}" in document["paths"]
    assert "Flag" in document["components"]["schemas"]
