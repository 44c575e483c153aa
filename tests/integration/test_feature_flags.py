"""Feature flags at runtime: the admin API, its audit trail, several workers, the
OpenFeature provider and hooks.

"Workers" are several applications on one database (and one Redis prefix), as
``bastion serve --workers N`` runs them: a change made through one must reach
the others (at once where the read cache hears of every worker's writes, within
``flags_refresh_seconds`` where nothing does).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from openfeature import api
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason

from app_support import production_settings
from bastion.api.rest.auth.admin_routes import admin_of
from bastion.app import BastionApp, create_app
from bastion.blueprint import Blueprint
from bastion.core import HookEvent, Hooks
from bastion.core.context import RequestContext
from bastion.core.identity.admin import OPERATOR
from bastion.ops.flags import BastionProvider, evaluation_context_for
from schema_support import create_schema

PASSWORD = "correct horse battery staple"
DECLARED: dict[str, Any] = {
    "name": "flagtest",
    "auth": {"roles": ["staff", "member"], "default_roles": ["member"]},
    "flags": {
        "new_checkout": {
            "type": "boolean",
            "default": False,
            "description": "The new checkout.",
            "rules": [{"roles": ["staff"], "value": True}],
        },
        "theme": {"type": "string", "default": "classic", "variants": ["classic", "dark"]},
        "page_limit": {
            "type": "number",
            "default": 20,
            "rules": [{"roles": ["staff"], "value": 2.5}],
        },
    },
    "resources": {
        "coupons": {
            "flag": "new_checkout",
            "fields": {"code": {"type": "string"}},
            "access": {"anyone": ["list", "read"], "authenticated": "all"},
        },
        "orders": {
            "fields": {
                "title": {"type": "string"},
                "flow": {"type": "string", "read_only": True},
                "theme": {"type": "string", "read_only": True},
            },
            "access": {"authenticated": "all"},
        },
    },
}
BLUEPRINT = Blueprint.model_validate(DECLARED)
FLAG = "/v1/admin/flags/new_checkout"


@dataclass
class Worker:
    """One application and a client to it."""

    app: BastionApp
    client: httpx.AsyncClient

    async def headers(self, email: str, *roles: str) -> dict[str, str]:
        """Create the user (as the operator) and sign them in."""
        await admin_of(self.app.identity.identity).create_user(
            OPERATOR, email=email, password=PASSWORD, roles=list(roles), email_verified=True
        )
        return await self.sign_in(email)

    async def sign_in(self, email: str) -> dict[str, str]:
        """A bearer header for an existing user."""
        response = await self.client.post(
            "/v1/auth/token",
            data={"grant_type": "password", "username": email, "password": PASSWORD},
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}


@asynccontextmanager
async def workers(
    count: int,
    url: str,
    *,
    blueprint: Blueprint = BLUEPRINT,
    hooks: Hooks | None = None,
    **overrides: Any,
) -> AsyncIterator[list[Worker]]:
    """``count`` started applications sharing one fresh schema (and one secret)."""
    await create_schema(blueprint, url)
    settings = production_settings(url, **overrides)
    started: list[Worker] = []
    try:
        for _ in range(count):
            app = create_app(blueprint, settings=settings, hooks=hooks)
            await app.start()
            transport = httpx.ASGITransport(app=app)
            started.append(Worker(app, httpx.AsyncClient(transport=transport, base_url="http://t")))
        yield started
    finally:
        for worker in started:
            await worker.client.aclose()
            await worker.app.stop()


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    """Wait until ``check()`` holds (changes reach other workers asynchronously)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "the change never arrived"
        await asyncio.sleep(0.02)


# The admin API ---------------------------------------------------------------------


async def test_only_admins_reach_the_flag_api(sqlite_url: str) -> None:
    async with workers(1, sqlite_url) as (worker,):
        staff = await worker.headers("staff@example.com", "staff")
        calls = [
            ("GET", "/v1/admin/flags", None),
            ("GET", FLAG, None),
            ("PUT", FLAG, {"default": True}),
            ("DELETE", FLAG, None),
            ("POST", f"{FLAG}:evaluate", {}),
        ]
        for method, path, body in calls:
            anonymous = await worker.client.request(method, path, json=body)
            assert anonymous.status_code == 401, (method, path, anonymous.text)
            assert anonymous.headers["content-type"] == "application/problem+json"
            refused = await worker.client.request(method, path, json=body, headers=staff)
            assert refused.status_code == 403, (method, path, refused.text)
        # Nothing changed on the way.
        assert (await worker.client.get("/v1/coupons", headers=staff)).status_code == 200


async def test_admins_see_each_flag_as_declared_overridden_and_in_force(sqlite_url: str) -> None:
    async with workers(1, sqlite_url) as (worker,):
        admin = await worker.headers("admin@example.com", "admin")
        listed = await worker.client.get("/v1/admin/flags", headers=admin)
        assert listed.status_code == 200
        assert [flag["name"] for flag in listed.json()["data"]] == [
            "new_checkout",
            "theme",
            "page_limit",
        ]
        checkout = listed.json()["data"][0]
        assert checkout == {
            "name": "new_checkout",
            "type": "boolean",
            "description": "The new checkout.",
            "variants": None,
            "declared": {"default": False, "rules": [{"roles": ["staff"], "value": True}]},
            "override": None,
            "effective": {
                "default": False,
                "rules": [{"roles": ["staff"], "value": True}],
                "enabled": True,
            },
            "problems": [],
        }

        rules = [{"percentage": 50, "value": True}, {"tenants": ["acme"], "value": True}]
        changed = await worker.client.put(FLAG, json={"rules": rules}, headers=admin)
        assert changed.status_code == 200, changed.text
        body = changed.json()
        assert body["declared"] == checkout["declared"]
        assert body["override"]["default"] is None
        assert body["override"]["rules"] == rules
        assert body["override"]["updated_by"] is not None
        assert body["effective"] == {"default": False, "rules": rules, "enabled": True}
        assert (await worker.client.get(FLAG, headers=admin)).json() == body

        assert (await worker.client.delete(FLAG, headers=admin)).status_code == 204
        assert (await worker.client.get(FLAG, headers=admin)).json() == checkout
        # Resetting what is not overridden is no error.
        assert (await worker.client.delete(FLAG, headers=admin)).status_code == 204


async def test_an_override_applies_to_the_next_request_and_a_reset_undoes_it(
    database_url: str,
) -> None:
    async with workers(1, database_url) as (worker,):
        admin = await worker.headers("admin@example.com", "admin")
        member = await worker.headers("member@example.com", "member")
        assert (await worker.client.get("/v1/coupons", headers=member)).status_code == 404

        on = await worker.client.put(FLAG, json={"default": True}, headers=admin)
        assert on.status_code == 200, on.text
        assert (await worker.client.get("/v1/coupons", headers=member)).status_code == 200
        assert (await worker.client.get("/v1/coupons")).status_code == 200

        assert (await worker.client.delete(FLAG, headers=admin)).status_code == 204
        assert (await worker.client.get("/v1/coupons", headers=member)).status_code == 404


async def test_switching_a_flag_off_gives_everyone_its_default_and_keeps_its_rules(
    sqlite_url: str,
) -> None:
    async with workers(1, sqlite_url) as (worker,):
        admin = await worker.headers("admin@example.com", "admin")
        staff = await worker.headers("staff@example.com", "staff")
        assert (await worker.client.get("/v1/coupons", headers=staff)).status_code == 200

        off = await worker.client.put(FLAG, json={"enabled": False}, headers=admin)
        assert off.json()["effective"]["enabled"] is False
        assert off.json()["effective"]["rules"] == [{"roles": ["staff"], "value": True}]
        assert (await worker.client.get("/v1/coupons", headers=staff)).status_code == 404
        asked = await worker.client.post(
            f"{FLAG}:evaluate", json={"roles": ["staff"]}, headers=admin
        )
        assert asked.json()["reason"] == "DISABLED"

        await worker.client.put(FLAG, json={"enabled": True}, headers=admin)
        assert (await worker.client.get("/v1/coupons", headers=staff)).status_code == 200


async def test_bad_overrides_are_422_with_pointers_and_change_nothing(sqlite_url: str) -> None:
    async with workers(1, sqlite_url) as (worker,):
        admin = await worker.headers("admin@example.com", "admin")
        bad = [
            ({"default": "yes"}, ["/default"]),
            ({"rules": [{"percentage": 120, "value": True}]}, ["/rules/0/percentage"]),
            ({"rules": [{"roles": ["staf"], "value": True}]}, ["/rules/0/roles/0"]),
            ({"rules": [{"value": True}]}, ["/rules/0"]),
            ({"rules": [{"users": ["u1"]}]}, ["/rules/0/value"]),
            ({"enabled": "off"}, ["/enabled"]),
            ({"colour": "red"}, ["/colour"]),
            ({}, [""]),
            ([True], [""]),
        ]
        for body, pointers in bad:
            answer = await worker.client.put(FLAG, json=body, headers=admin)
            assert answer.status_code == 422, (body, answer.text)
            problem = answer.json()
            assert problem["code"] == "validation_failed"
            assert [error["pointer"] for error in problem["errors"]] == pointers, problem
        theme = await worker.client.put(
            "/v1/admin/flags/theme", json={"default": "neon"}, headers=admin
        )
        assert theme.status_code == 422
        assert "not one of the variants: classic, dark" in theme.json()["errors"][0]["detail"]
        not_json = await worker.client.put(
            FLAG, content=b"default=true", headers={**admin, "Content-Type": "text/plain"}
        )
        assert not_json.status_code == 415
        assert (await worker.client.get(FLAG, headers=admin)).json()["override"] is None


async def test_unknown_flags_are_404(sqlite_url: str) -> None:
    async with workers(1, sqlite_url) as (worker,):
        admin = await worker.headers("admin@example.com", "admin")
        path = "/v1/admin/flags/nope"
        for method, body in (("GET", None), ("PUT", {"default": 1}), ("DELETE", None)):
            answer = await worker.client.request(method, path, json=body, headers=admin)
            assert answer.status_code == 404, (method, answer.text)
        asked = await worker.client.post(f"{path}:evaluate", json={}, headers=admin)
        assert asked.status_code == 404


async def test_evaluate_says_what_a_caller_would_get_and_why(sqlite_url: str) -> None:
    async with workers(1, sqlite_url) as (worker,):
        admin = await worker.headers("admin@example.com", "admin")

        async def ask(path: str, body: Any) -> Any:
            answer = await worker.client.post(path, json=body, headers=admin)
            assert answer.status_code == 200, answer.text
            return answer.json()

        assert await ask(f"{FLAG}:evaluate", {"user": "u1", "roles": ["staff"]}) == {
            "flag": "new_checkout",
            "value": True,
            "reason": "TARGETING_MATCH",
            "variant": "true",
            "rule": 0,
        }
        assert (await ask(f"{FLAG}:evaluate", {}))["reason"] == "DEFAULT"
        assert (await ask("/v1/admin/flags/theme:evaluate", {}))["reason"] == "STATIC"
        limit = await ask("/v1/admin/flags/page_limit:evaluate", {"roles": ["staff"]})
        assert (limit["value"], limit["variant"]) == (2.5, "2.5")

        await worker.client.put(
            FLAG, json={"rules": [{"percentage": 100, "value": True}]}, headers=admin
        )
        split = await ask(f"{FLAG}:evaluate", {"user": "someone"})
        assert (split["value"], split["reason"]) == (True, "SPLIT")
        anonymous = await ask(f"{FLAG}:evaluate", {"user": None})
        assert (anonymous["value"], anonymous["reason"]) == (False, "DEFAULT")

        refused = await worker.client.post(
            f"{FLAG}:evaluate", json={"roles": "staff"}, headers=admin
        )
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["pointer"] == "/roles"


async def test_every_change_is_in_the_audit_trail(database_url: str) -> None:
    async with workers(1, database_url) as (worker,):
        admin = await worker.headers("admin@example.com", "admin")
        me = (await worker.client.get("/v1/auth/me", headers=admin)).json()["id"]
        first = await worker.client.put(FLAG, json={"default": True}, headers=admin)
        second = await worker.client.put(
            FLAG, json={"rules": [{"users": ["u1"], "value": True}]}, headers=admin
        )
        reset = await worker.client.delete(FLAG, headers=admin)
        await worker.client.delete(FLAG, headers=admin)  # nothing to reset: nothing audited

        async def events(kind: str) -> list[dict[str, Any]]:
            page = await worker.client.get(f"/v1/admin/audit?kind={kind}", headers=admin)
            assert page.status_code == 200, page.text
            found: list[dict[str, Any]] = page.json()["data"]
            return found

        updated = await events("flag.updated")
        assert [event["detail"] for event in reversed(updated)] == [
            {
                "flag": "new_checkout",
                "before": None,
                "after": {"default": True, "rules": None, "enabled": True},
            },
            {
                "flag": "new_checkout",
                "before": {"default": True, "rules": None, "enabled": True},
                "after": {
                    "default": None,
                    "rules": [{"users": ["u1"], "value": True}],
                    "enabled": True,
                },
            },
        ]
        assert [event["request_id"] for event in reversed(updated)] == [
            first.headers["x-request-id"],
            second.headers["x-request-id"],
        ]
        assert {event["actor"] for event in updated} == {me}
        (reset_event,) = await events("flag.reset")
        assert reset_event["detail"] == {
            "flag": "new_checkout",
            "before": {
                "default": None,
                "rules": [{"users": ["u1"], "value": True}],
                "enabled": True,
            },
            "after": None,
        }
        assert reset_event["actor"] == me
        assert reset_event["request_id"] == reset.headers["x-request-id"]
        # A refused change is not audited.
        await worker.client.put(FLAG, json={"default": 3}, headers=admin)
        assert len(await events("flag.updated")) == 2


async def test_an_override_that_no_longer_fits_the_blueprint_is_set_aside(
    sqlite_url: str,
) -> None:
    async with workers(1, sqlite_url) as (worker,):
        admin = await worker.headers("admin@example.com", "admin")
        set_dark = await worker.client.put(
            "/v1/admin/flags/theme", json={"default": "dark"}, headers=admin
        )
        assert set_dark.status_code == 200
    # The next deploy drops the "dark" variant: the stored override breaks it.
    changed = {
        **DECLARED,
        "flags": {
            **DECLARED["flags"],
            "theme": {"type": "string", "default": "classic", "variants": ["classic", "light"]},
        },
    }
    async with workers(1, sqlite_url, blueprint=Blueprint.model_validate(changed)) as (worker,):
        admin = await worker.sign_in("admin@example.com")
        theme = (await worker.client.get("/v1/admin/flags/theme", headers=admin)).json()
        assert theme["override"]["default"] == "dark"
        assert theme["effective"]["default"] == "classic"
        assert theme["problems"] == [
            "/default: the default 'dark' is not one of the variants: classic, light "
            "(string flag) — write one of them, or add 'dark' to variants"
        ]
        # Resetting it (or overriding it again) clears the problem.
        assert (
            await worker.client.delete("/v1/admin/flags/theme", headers=admin)
        ).status_code == 204
        assert (await worker.client.get("/v1/admin/flags/theme", headers=admin)).json()[
            "problems"
        ] == []


# Several workers -------------------------------------------------------------------


async def _changes_reach_the_other_worker(first: Worker, second: Worker) -> None:
    admin = await first.headers("admin@example.com", "admin")
    member = await first.headers("member@example.com", "member")
    # The second worker has read the flags already (and cached them where it caches).
    assert (await second.client.get("/v1/coupons", headers=member)).status_code == 404
    assert (await second.client.get("/v1/coupons", headers=member)).status_code == 404

    assert (await first.client.put(FLAG, json={"default": True}, headers=admin)).status_code == 200

    async def served() -> bool:
        return (await second.client.get("/v1/coupons", headers=member)).status_code == 200

    await eventually(served)
    effective = (await second.client.get(FLAG, headers=admin)).json()["effective"]
    assert effective["default"] is True

    assert (await first.client.delete(FLAG, headers=admin)).status_code == 204

    async def gone() -> bool:
        return (await second.client.get("/v1/coupons", headers=member)).status_code == 404

    await eventually(gone)


async def test_sqlite_workers_apply_each_others_changes_at_once(sqlite_url: str) -> None:
    async with workers(2, sqlite_url) as (first, second):
        admin = await first.headers("admin@example.com", "admin")
        member = await first.headers("member@example.com", "member")
        assert (await second.client.get("/v1/coupons", headers=member)).status_code == 404
        await first.client.put(FLAG, json={"default": True}, headers=admin)
        # No waiting: SQLite's data_version tells the second worker at its next request.
        assert (await second.client.get("/v1/coupons", headers=member)).status_code == 200
        await first.client.delete(FLAG, headers=admin)
        assert (await second.client.get("/v1/coupons", headers=member)).status_code == 404


async def test_postgresql_workers_hear_of_changes_through_redis(
    postgres_url: str, redis_url: str, redis_prefix: str
) -> None:
    async with workers(2, postgres_url, redis_url=redis_url, redis_prefix=redis_prefix) as (
        first,
        second,
    ):
        for worker in (first, second):
            cache = worker.app.store.cache  # type: ignore[attr-defined]
            await asyncio.wait_for(cache.feed.subscribed.wait(), 10)
        await _changes_reach_the_other_worker(first, second)


async def test_postgresql_workers_without_redis_poll_for_changes(postgres_url: str) -> None:
    async with workers(2, postgres_url, flags_refresh_seconds=0.2) as (first, second):
        await _changes_reach_the_other_worker(first, second)


async def test_flags_that_cannot_be_read_keep_their_values_and_requests_go_on(
    sqlite_url: str,
) -> None:
    async with workers(1, sqlite_url, flags_refresh_seconds=0.01) as (worker,):
        admin = await worker.headers("admin@example.com", "admin")
        member = await worker.headers("member@example.com", "member")
        await worker.client.put(FLAG, json={"default": True}, headers=admin)
        # As if the table were not migrated yet.
        with sqlite3.connect(sqlite_url.removeprefix("sqlite+aiosqlite:///")) as conn:
            conn.execute("DROP TABLE bastion_flags")
        for _ in range(3):
            await asyncio.sleep(0.02)
            assert (await worker.client.get("/v1/coupons", headers=member)).status_code == 200


# OpenFeature and hooks -------------------------------------------------------------


async def test_the_openfeature_client_answers_from_the_applications_flags(
    sqlite_url: str,
) -> None:
    async with workers(1, sqlite_url) as (worker,):
        client = api.get_client("flagtest")
        assert isinstance(client.provider, BastionProvider)
        assert api.get_client().provider is client.provider
        staff = evaluation_context_for(RequestContext(actor="u1", roles=frozenset({"staff"})))
        anonymous = evaluation_context_for(RequestContext())

        details = client.get_boolean_details("new_checkout", False, staff)
        assert (details.value, details.reason, details.variant) == (
            True,
            Reason.TARGETING_MATCH,
            "true",
        )
        assert details.flag_metadata == {"rule": 0}
        fallback = client.get_boolean_details("new_checkout", True, anonymous)
        assert (fallback.value, fallback.reason) == (False, Reason.DEFAULT)
        assert client.get_string_details("theme", "x").reason == Reason.STATIC
        assert client.get_string_value("theme", "x") == "classic"
        assert client.get_float_value("page_limit", 0.0, staff) == 2.5
        assert client.get_integer_value("page_limit", 0, anonymous) == 20
        whole = client.get_integer_details("page_limit", 7, staff)  # 2.5 is not whole
        assert (whole.value, whole.error_code) == (7, ErrorCode.TYPE_MISMATCH)

        missing = client.get_boolean_details("no_such_flag", True)
        assert (missing.value, missing.error_code, missing.reason) == (
            True,
            ErrorCode.FLAG_NOT_FOUND,
            Reason.ERROR,
        )
        wrong = client.get_string_details("new_checkout", "fallback")
        assert (wrong.value, wrong.error_code) == ("fallback", ErrorCode.TYPE_MISMATCH)
        assert client.get_object_details("theme", {}).error_code == ErrorCode.TYPE_MISMATCH

        admin = await worker.headers("admin@example.com", "admin")
        rules = [{"percentage": 100, "value": True}]
        await worker.client.put(FLAG, json={"rules": rules}, headers=admin)
        split = client.get_boolean_details("new_checkout", False, staff)
        assert (split.value, split.reason) == (True, Reason.SPLIT)
        # Anonymous callers have no targeting key to bucket.
        assert client.get_boolean_value("new_checkout", True, anonymous) is False
        provider = client.provider
    # Stopped: the application's provider is no longer registered.
    assert api.get_client("flagtest").provider is not provider
    assert api.get_client().provider is not provider


def _hooks() -> Hooks:
    hooks = Hooks()

    @hooks.before_create("orders")
    async def choose(event: HookEvent) -> None:
        event.record["flow"] = "express" if event.flags.enabled("new_checkout") else "classic"
        client = api.get_client("flagtest")
        context = evaluation_context_for(event.context)
        event.record["theme"] = client.get_string_value("theme", "none", context)

    return hooks


async def test_hooks_read_flags_for_the_caller(sqlite_url: str) -> None:
    async with workers(1, sqlite_url, hooks=_hooks()) as (worker,):
        staff = await worker.headers("staff@example.com", "staff")
        member = await worker.headers("member@example.com", "member")
        admin = await worker.headers("admin@example.com", "admin")

        async def order(headers: dict[str, str]) -> dict[str, Any]:
            created = await worker.client.post("/v1/orders", json={"title": "x"}, headers=headers)
            assert created.status_code == 201, created.text
            body: dict[str, Any] = created.json()
            return body

        assert (await order(staff))["flow"] == "express"
        assert (await order(member))["flow"] == "classic"
        assert (await order(member))["theme"] == "classic"

        await worker.client.put("/v1/admin/flags/theme", json={"default": "dark"}, headers=admin)
        await worker.client.put(FLAG, json={"default": True}, headers=admin)
        changed = await order(member)
        assert (changed["flow"], changed["theme"]) == ("express", "dark")


@pytest.fixture(autouse=True)
def _no_provider_left_behind() -> Iterator[None]:
    yield
    for domain in (None, "flagtest"):
        assert not isinstance(api.get_client(domain).provider, BastionProvider)
