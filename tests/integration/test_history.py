"""History and time travel over REST: ``/v1/{resource}/{id}/history`` and ``?as_of=``.

Both are rebuilt from the event log and shown through the record's access
rules: other people's records are missing, hidden fields stay hidden,
secrets stay redacted, personal data is readable until it is erased. A
property test checks that ``as_of`` at each write's time returns exactly
what a read returned right after that write. Every test runs on SQLite and
on PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app_support import production_settings
from bastion.app import BastionApp, create_app
from bastion.blueprint import Blueprint, parse_blueprint
from bastion.core import RequestContext, new_id
from bastion.core.events.history import RecordHistory, encode_history_cursor
from bastion.core.events.personal import subject_of
from bastion.settings import Settings
from schema_support import create_schema

BLUEPRINT = Blueprint.model_validate(
    {
        "name": "historytest",
        "auth": {
            "roles": ["member", "staff"],
            "registration": "open",
            "default_roles": ["member"],
        },
        "resources": {
            # Open to anyone in development (no access rules).
            "items": {
                "fields": {
                    "title": {"type": "string", "max_length": 40},
                    "count": {"type": "integer"},
                    "price": {"type": "decimal", "precision": 10, "scale": 2},
                    "due": {"type": "datetime"},
                    "ready": {"type": "boolean", "default": False},
                    "extra": {"type": "json"},
                    "token": {"type": "string", "write_only": True},
                    "contact": {"type": "email", "personal": True},
                }
            },
            "notes": {
                "fields": {
                    "title": {"type": "string"},
                    "secret": {"type": "string", "hidden_from": ["member"]},
                    "author": {"type": "belongs_to", "resource": "users", "owner": True},
                },
                "access": {"member": {"actions": "all", "rows": "own"}, "staff": "all"},
            },
            "memos": {"fields": {"text": {"type": "string"}}, "events": False},
        },
    }
)
ADMIN = RequestContext(actor=str(new_id()), roles=frozenset({"admin"}))
PASSWORD = "correct horse battery staple"


def quiet(url: str) -> Settings:
    """Development settings; events stay in the outbox (no relay: nothing here reads it)."""
    return Settings(database_url=url, relay_in_server=False)


def stamp(moment: datetime) -> str:
    """``moment`` as RFC 3339 with ``Z``, as the API writes it."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Api:
    app: BastionApp
    http: httpx.AsyncClient

    async def create(self, path: str, body: dict[str, Any], **kw: Any) -> dict[str, Any]:
        response = await self.http.post(path, json=body, **kw)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def patch(self, path: str, body: dict[str, Any], **kw: Any) -> dict[str, Any]:
        response = await self.http.patch(path, json=body, **kw)
        assert response.status_code == 200, response.text
        patched: dict[str, Any] = response.json()
        return patched

    async def history(
        self, path: str, headers: dict[str, str] | None = None, **params: Any
    ) -> list[dict[str, Any]]:
        """Every event of the record at ``path``, walking the pages."""
        events: list[dict[str, Any]] = []
        cursor = None
        while True:
            query = {**params, **({"cursor": cursor} if cursor else {})}
            response = await self.http.get(f"{path}/history", params=query, headers=headers)
            assert response.status_code == 200, response.text
            page = response.json()
            events += page["data"]
            cursor = page["next_cursor"]
            assert page["has_more"] is (cursor is not None)
            if cursor is None:
                return events


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[Api]:
    await create_schema(BLUEPRINT, database_url)
    app = create_app(BLUEPRINT, settings=quiet(database_url))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield Api(app, http)
    await app.stop()


async def test_history_pages_the_changes_in_order_with_a_cursor(api: Api) -> None:
    item = await api.create("/v1/items", {"title": "one", "count": 1, "token": "s3cret"})
    path = f"/v1/items/{item['id']}"
    for count in (2, 3, 4):
        await api.patch(path, {"count": count})
    await api.patch(path, {"title": "five"})

    first = await api.http.get(f"{path}/history", params={"limit": 2})
    assert first.status_code == 200
    assert first.headers["cache-control"] == "no-store"
    assert "etag" not in first.headers
    page = first.json()
    assert [e["sequence"] for e in page["data"]] == [1, 2]
    assert page["has_more"] is True
    events = await api.history(path, limit=2)
    assert [e["sequence"] for e in events] == [1, 2, 3, 4, 5]
    assert [e["version"] for e in events] == [1, 2, 3, 4, 5]
    assert [e["type"] for e in events] == ["items.created"] + ["items.updated"] * 4
    created, *_, last = events
    assert created["changes"]["title"] == {"before": None, "after": "one"}
    assert created["changes"]["token"] == {"before": None, "after": "[redacted]"}
    assert last["changes"] == {"title": {"before": "one", "after": "five"}}
    assert created["actor"] == {"kind": "anonymous", "id": None}
    assert created["request_id"]
    assert created["time"] == item["created_at"]
    assert events == await api.history(path)  # the default page holds them all

    other = await api.create("/v1/items", {"title": "other"})
    borrowed = await api.http.get(
        f"/v1/items/{other['id']}/history", params={"cursor": page["next_cursor"]}
    )
    assert borrowed.status_code == 400
    assert borrowed.json()["errors"][0]["pointer"] == "cursor"
    huge = encode_history_cursor("items", UUID(item["id"]), 10**30)
    for forged in ("nope", huge):
        assert (await api.http.get(f"{path}/history", params={"cursor": forged})).status_code == 400
    for limit in ("0", "101", "ten"):
        refused = await api.http.get(f"{path}/history", params={"limit": limit})
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["pointer"] == "limit"
    unknown = await api.http.get(f"{path}/history", params={"sort": "-sequence"})
    assert unknown.status_code == 400
    not_allowed = await api.http.post(f"{path}/history", json={})
    assert not_allowed.status_code == 405
    assert not_allowed.headers["allow"] == "GET, HEAD"


async def test_history_as_of_rebuilds_each_past_state(api: Api) -> None:
    item = await api.create(
        "/v1/items",
        {"title": "draft", "count": 1, "price": "9.50", "extra": {"a": [1, 2]}, "token": "x"},
    )
    path = f"/v1/items/{item['id']}"
    second = await api.patch(path, {"count": 2, "due": "2026-03-01T12:00:00+02:00"})
    third = await api.patch(path, {"title": "final", "price": None})
    reads = []
    for written in (item, second, third):
        response = await api.http.get(path, params={"as_of": written["updated_at"]})
        assert response.status_code == 200, response.text
        assert "etag" not in response.headers
        assert response.headers["cache-control"] == "no-store"
        reads.append(response.json())
    assert [(r["title"], r["count"], r["price"], r["version"]) for r in reads] == [
        ("draft", 1, "9.50", 1),
        ("draft", 2, "9.50", 2),
        ("final", 2, None, 3),
    ]
    assert reads[1]["due"] == "2026-03-01T10:00:00Z"
    assert all(r["created_at"] == item["created_at"] for r in reads)
    assert "token" not in reads[0]
    assert reads[2] == (await api.http.get(path)).json()
    # Between two writes, the earlier one holds.
    between = (
        parse(second["updated_at"]) + (parse(third["updated_at"]) - parse(second["updated_at"])) / 2
    )
    assert (await api.http.get(path, params={"as_of": stamp(between)})).json() == reads[1]
    sparse = await api.http.get(path, params={"as_of": item["updated_at"], "fields": "title"})
    assert sparse.json() == {"id": item["id"], "title": "draft"}

    before = stamp(parse(item["created_at"]) - timedelta(microseconds=1))
    too_early = await api.http.get(path, params={"as_of": before})
    assert too_early.status_code == 404
    assert too_early.json()["code"] == "not_found"
    for text in ("yesterday", "2026-03-01T10:00:00", ""):
        malformed = await api.http.get(path, params={"as_of": text})
        assert malformed.status_code == 400, text
        assert malformed.json()["errors"][0]["pointer"] == "as_of"
    future = stamp(datetime.now(UTC) + timedelta(hours=1))
    assert (await api.http.get(path, params={"as_of": future})).status_code == 400
    expanded = await api.http.get(path, params={"as_of": item["updated_at"], "expand": "x"})
    assert expanded.status_code == 400


async def test_history_of_a_deleted_record_stays_readable_and_others_have_none(api: Api) -> None:
    item = await api.create("/v1/items", {"title": "gone soon"})
    path = f"/v1/items/{item['id']}"
    await api.patch(path, {"title": "going"})
    assert (await api.http.delete(path)).status_code == 204
    assert (await api.http.get(path)).status_code == 404

    events = await api.history(path)
    assert [e["type"] for e in events] == ["items.created", "items.updated", "items.deleted"]
    assert events[-1]["changes"]["title"] == {"before": "going", "after": None}
    deleted_at = events[-1]["time"]
    after_delete = await api.http.get(path, params={"as_of": deleted_at})
    assert after_delete.status_code == 404
    still_there = await api.http.get(path, params={"as_of": events[1]["time"]})
    assert still_there.status_code == 200
    assert still_there.json()["title"] == "going"

    never = f"/v1/items/{new_id()}"
    assert (await api.http.get(f"{never}/history")).status_code == 404
    assert (await api.http.get(never, params={"as_of": deleted_at})).status_code == 404
    assert (await api.http.get("/v1/items/not-a-uuid/history")).status_code == 404

    # A resource that does not log its changes has no history, and no past states.
    memo = await api.create("/v1/memos", {"text": "hello"})
    memo_path = f"/v1/memos/{memo['id']}"
    assert (await api.http.get(f"{memo_path}/history")).status_code == 404
    as_of = await api.http.get(memo_path, params={"as_of": memo["updated_at"]})
    assert as_of.status_code == 400
    assert as_of.json()["errors"][0]["pointer"] == "as_of"


async def test_history_decrypts_personal_fields_until_they_are_erased(api: Api) -> None:
    item = await api.create("/v1/items", {"title": "ada", "contact": "ada@example.com"})
    path = f"/v1/items/{item['id']}"
    await api.patch(path, {"contact": "ada@example.org"})

    events = await api.history(path)
    assert events[0]["changes"]["contact"] == {"before": None, "after": "ada@example.com"}
    assert events[1]["changes"]["contact"] == {
        "before": "ada@example.com",
        "after": "ada@example.org",
    }
    first = await api.http.get(path, params={"as_of": item["updated_at"]})
    assert first.json()["contact"] == "ada@example.com"
    assert "erased-fields" not in first.headers

    log = api.app.service.events
    assert log is not None
    async with api.app.store.unit_of_work() as uow:
        assert await log.keys.erase(uow, subject_of("items", UUID(item["id"])))

    erased = await api.history(path)
    assert erased[1]["changes"]["contact"] == {"before": "[erased]", "after": "[erased]"}
    assert erased[0]["changes"]["title"] == {"before": None, "after": "ada"}
    past = await api.http.get(path, params={"as_of": item["updated_at"]})
    assert past.status_code == 200
    assert "contact" not in past.json()
    assert past.json()["title"] == "ada"
    assert past.headers["erased-fields"] == "contact"


# Access rules ---------------------------------------------------------------------------------


@dataclass
class Person:
    id: str
    headers: dict[str, str]


async def sign_up(http: httpx.AsyncClient, email: str) -> Person:
    registered = await http.post("/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    token = await http.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": email, "password": PASSWORD},
    )
    assert token.status_code == 200, token.text
    return Person(
        registered.json()["id"], {"Authorization": f"Bearer {token.json()['access_token']}"}
    )


@pytest.fixture
async def guarded(database_url: str) -> AsyncIterator[Api]:
    await create_schema(BLUEPRINT, database_url)
    app = create_app(BLUEPRINT, settings=production_settings(database_url, relay_in_server=False))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield Api(app, http)
    await app.stop()


async def test_history_follows_the_access_rules_of_the_record(guarded: Api) -> None:
    http = guarded.http
    ada = await sign_up(http, "ada@example.com")
    bob = await sign_up(http, "bob@example.com")
    # An admin writes a field members may not see into Ada's note.
    note = await guarded.app.service.create(
        "notes", {"title": "plan", "secret": "s", "author": ada.id}, ctx=ADMIN
    )
    path = f"/v1/notes/{note['id']}"
    await guarded.patch(path, {"title": "plan b"}, headers=ada.headers)
    when = (await http.get(path, headers=ada.headers)).json()["updated_at"]

    mine = await http.get(f"{path}/history", headers=ada.headers)
    assert mine.status_code == 200
    assert [set(e["changes"]) for e in mine.json()["data"]] == [{"title", "author"}, {"title"}]
    past = await http.get(path, params={"as_of": when}, headers=ada.headers)
    assert past.status_code == 200
    assert "secret" not in past.json()
    assert past.json()["title"] == "plan b"

    for response in (
        await http.get(f"{path}/history", headers=bob.headers),
        await http.get(path, params={"as_of": when}, headers=bob.headers),
    ):
        assert response.status_code == 404
        assert response.json()["detail"] == f"there is no notes record with id {note['id']}"
    assert (await http.get(f"{path}/history")).status_code == 401

    # Ada deletes her note: its history stays hers, and still nobody else's.
    assert (await http.delete(path, headers=ada.headers)).status_code == 204
    kept = await http.get(f"{path}/history", headers=ada.headers)
    assert kept.status_code == 200
    assert [e["type"] for e in kept.json()["data"]][-1] == "notes.deleted"
    assert "secret" not in kept.json()["data"][-1]["changes"]
    assert (await http.get(f"{path}/history", headers=bob.headers)).status_code == 404
    ada_then = await http.get(path, params={"as_of": when}, headers=ada.headers)
    assert ada_then.status_code == 200
    assert (await http.get(path, params={"as_of": when}, headers=bob.headers)).status_code == 404


async def test_history_leaves_out_updates_of_hidden_fields_only(guarded: Api) -> None:
    http = guarded.http
    ada = await sign_up(http, "ada@example.com")
    note = await guarded.app.service.create(
        "notes", {"title": "plan", "secret": "s0", "author": ada.id}, ctx=ADMIN
    )
    path = f"/v1/notes/{note['id']}"
    # Three updates Ada cannot see, between two she can.
    for n in range(1, 4):
        await guarded.app.service.update("notes", note["id"], {"secret": f"s{n}"}, ctx=ADMIN)
    await guarded.patch(path, {"title": "plan b"}, headers=ada.headers)
    await guarded.app.service.update("notes", note["id"], {"secret": "s4"}, ctx=ADMIN)

    seen = await guarded.history(path, headers=ada.headers)
    assert [(e["type"], e["version"]) for e in seen] == [("notes.created", 1), ("notes.updated", 5)]
    assert seen[1]["changes"] == {"title": {"before": "plan", "after": "plan b"}}
    # Page by page, one entry at a time: the same two, whatever lies between them, and
    # the last page says it is the last (only a hidden update follows it).
    assert await guarded.history(path, headers=ada.headers, limit=1) == seen
    first = (await http.get(f"{path}/history?limit=1", headers=ada.headers)).json()
    assert first["has_more"] is True
    second = await http.get(
        f"{path}/history", params={"limit": 1, "cursor": first["next_cursor"]}, headers=ada.headers
    )
    assert [e["version"] for e in second.json()["data"]] == [5]
    assert second.json()["has_more"] is False
    whole = (await http.get(f"{path}/history?limit=2", headers=ada.headers)).json()
    assert [e["version"] for e in whole["data"]] == [1, 5]
    assert whole["has_more"] is False
    # An admin sees every update.
    staff = await RecordHistory(guarded.app.service).page("notes", note["id"], ctx=ADMIN)
    assert [e["version"] for e in staff.entries] == [1, 2, 3, 4, 5, 6]


# API versions ---------------------------------------------------------------------------------

VERSIONED = parse_blueprint(
    """
name: versioned
resources:
  people:
    fields:
      name: {type: string, required: true}
      phone: {type: string}
api_versions:
  v1:
    deprecated: 2026-06-01
    resources:
      people: {renamed: {name: full_name}, hidden: [phone]}
  v2: {}
"""
)


async def test_history_speaks_the_names_of_each_api_version(sqlite_url: str) -> None:
    await create_schema(VERSIONED, sqlite_url)
    app = create_app(VERSIONED, settings=quiet(sqlite_url))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        created = await http.post("/v2/people", json={"name": "Ada", "phone": "+44 1"})
        path = f"people/{created.json()['id']}"
        old = await http.get(f"/v1/{path}/history")
        new = await http.get(f"/v2/{path}/history")
        past = await http.get(f"/v1/{path}", params={"as_of": created.json()["updated_at"]})
    await app.stop()
    assert old.json()["data"][0]["changes"] == {"full_name": {"before": None, "after": "Ada"}}
    assert "deprecation" in old.headers
    assert set(new.json()["data"][0]["changes"]) == {"name", "phone"}
    assert past.json()["full_name"] == "Ada"
    assert "phone" not in past.json()


# Property: as_of at each write's time is what a read returned right after it -----------------

_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=8)
_patches = st.fixed_dictionaries(
    {},
    optional={
        "title": st.none() | _text,
        "count": st.none() | st.integers(-(2**31), 2**31),
        "price": st.none()
        | st.decimals(min_value=-9999, max_value=9999, places=2).map(lambda d: format(d, "f")),
        "due": st.none()
        | st.datetimes(
            min_value=datetime(2000, 1, 1),
            max_value=datetime(2100, 1, 1),
            timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5, minutes=-30))]),
        ).map(datetime.isoformat),
        "ready": st.booleans(),
        "extra": st.none() | st.dictionaries(st.text("abé", max_size=3), st.integers(0, 9)),
        "token": st.none() | st.text("xyz", min_size=1, max_size=4),
        "contact": st.none() | st.sampled_from(["a@example.com", "b@example.org"]),
    },
)


@pytest.fixture
def items_api(database_url: str) -> Iterator[tuple[asyncio.AbstractEventLoop, httpx.AsyncClient]]:
    """One application for every example, on an event loop of its own (hypothesis drives
    synchronous tests)."""
    loop = asyncio.new_event_loop()
    loop.run_until_complete(create_schema(BLUEPRINT, database_url))
    app = create_app(BLUEPRINT, settings=quiet(database_url))
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    try:
        yield loop, http
    finally:
        loop.run_until_complete(http.aclose())
        loop.run_until_complete(app.stop())
        loop.close()


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(patches=st.lists(_patches, min_size=1, max_size=5))
def test_history_as_of_each_write_equals_the_read_right_after_it(
    items_api: tuple[asyncio.AbstractEventLoop, httpx.AsyncClient], patches: list[dict[str, Any]]
) -> None:
    loop, http = items_api

    async def run() -> None:
        created = await http.post("/v1/items", json={"title": "start", "price": "1.00"})
        assert created.status_code == 201, created.text
        path = f"/v1/items/{created.json()['id']}"
        seen = [(await http.get(path)).json()]
        for patch in patches:
            response = await http.patch(path, json=patch)
            assert response.status_code == 200, (patch, response.text)
            seen.append((await http.get(path)).json())
        for read in seen:
            past = await http.get(path, params={"as_of": read["updated_at"]})
            assert past.status_code == 200, past.text
            assert past.json() == read

    loop.run_until_complete(run())
