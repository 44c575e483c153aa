"""Access rules hold at the record service, whatever API sits on top of it.

The OWASP API Security Top 10 checks that matter for a generic backend:
object level authorization (API1: nobody reaches someone else's records by
id, list, filter, expansion, aggregation or paging), object property level
authorization (API3: hidden fields stay hidden, read-only fields and
ownership cannot be written, no mass assignment), function level
authorization (API5: actions without a grant answer 401/403), credential
scopes, tenant isolation (a property test with random callers in random
tenants) and Bastion's internal resources, which nobody reaches. Every test
runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bastion.adapters.sql.store import SqlStore
from bastion.blueprint import Blueprint, validate_blueprint, with_identity
from bastion.blueprint.identity import (
    API_KEYS,
    AUTH_EVENTS,
    CREDENTIALS,
    INVITATIONS,
    ONE_TIME_TOKENS,
    REFRESH_TOKENS,
    REVOCATIONS,
    SIGNING_KEYS,
)
from bastion.core import (
    AccessRules,
    Aggregate,
    AggregateSpec,
    Filter,
    QuerySpec,
    RecordService,
    RequestContext,
    SortKey,
    TransactionRecords,
    decode_cursor,
)
from bastion.core.errors import (
    Forbidden,
    InvalidInput,
    InvalidQuery,
    NotAuthenticated,
    NotFound,
)
from schema_support import create_schema

BLUEPRINT = Blueprint.model_validate(
    {
        "name": "accesstest",
        "auth": {"roles": ["member", "staff", "auditor"]},
        "resources": {
            "notes": {
                "fields": {
                    "title": {"type": "string", "filterable": True, "sortable": True},
                    "secret": {
                        "type": "string",
                        "hidden_from": ["member"],
                        "filterable": True,
                        "sortable": True,
                    },
                    "pinned": {
                        "type": "boolean",
                        "default": False,
                        "read_only_for": ["member"],
                        "filterable": True,
                    },
                    "author": {
                        "type": "belongs_to",
                        "resource": "users",
                        "owner": True,
                        "filterable": True,
                    },
                },
                "has_many": {"comments": {"resource": "comments"}},
                "access": {"member": {"actions": "all", "rows": "own"}, "staff": "all"},
            },
            "comments": {
                "fields": {
                    "body": {"type": "string"},
                    "note": {
                        "type": "belongs_to",
                        "resource": "notes",
                        "required": True,
                        "on_delete": "cascade",
                        "filterable": True,
                    },
                    "author": {
                        "type": "belongs_to",
                        "resource": "users",
                        "owner": True,
                        "filterable": True,
                    },
                },
                "access": {"member": {"actions": "all", "rows": "own"}, "staff": "all"},
            },
            "projects": {
                "tenant_scoped": True,
                "fields": {"name": {"type": "string", "filterable": True, "sortable": True}},
                "access": {"member": "all"},
            },
            "memos": {"fields": {"text": {"type": "string"}}},
        },
    }
)
SERVED = with_identity(BLUEPRINT)
INTERNAL = (
    CREDENTIALS,
    REFRESH_TOKENS,
    API_KEYS,
    ONE_TIME_TOKENS,
    INVITATIONS,
    SIGNING_KEYS,
    REVOCATIONS,
    AUTH_EVENTS,
)
ADMIN = RequestContext(actor=str(uuid4()), roles=frozenset({"admin"}))
ANONYMOUS = RequestContext()
COUNT = AggregateSpec(aggregates=(Aggregate("count"),))


def test_the_test_blueprint_is_valid() -> None:
    assert validate_blueprint(BLUEPRINT) == []


def as_user(user: dict[str, Any], **extra: Any) -> RequestContext:
    """The context of a request signed in as ``user`` (the token's claims)."""
    tenant = user.get("tenant")
    return RequestContext(
        actor=str(user["id"]),
        roles=frozenset(user["roles"]),
        tenant=None if tenant is None else str(tenant),
        **extra,
    )


@dataclass
class World:
    """A started store with the enforcing service, and helpers to fill it."""

    store: SqlStore
    service: RecordService
    """Production rules: resources without rules are admin-only."""
    development: RecordService = field(init=False)
    """The same store with development rules: resources without rules are open."""

    def __post_init__(self) -> None:
        self.development = RecordService(
            blueprint=SERVED, store=self.store, access=AccessRules(SERVED, open_by_default=True)
        )

    async def user(self, name: str, *roles: str, tenant: UUID | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"email": f"{name}@example.com", "name": name, "roles": list(roles)}
        if tenant is not None:
            body["tenant"] = str(tenant)
        return await self.service.create("users", body, ctx=ADMIN)

    async def tenant(self, name: str) -> UUID:
        row = await self.service.create("tenants", {"name": name}, ctx=ADMIN)
        tenant_id: UUID = row["id"]
        return tenant_id

    async def note(self, owner: dict[str, Any], title: str, **extra: Any) -> dict[str, Any]:
        body = {"title": title, "author": str(owner["id"]), **extra}
        return await self.service.create("notes", body, ctx=ADMIN)

    async def stored(self, resource: str, record_id: UUID) -> dict[str, Any]:
        return await self.service.get(resource, record_id, ctx=ADMIN)


@asynccontextmanager
async def open_world(url: str) -> AsyncIterator[World]:
    store = SqlStore(url=url, blueprint=SERVED)
    await store.start()
    try:
        access = AccessRules(SERVED, open_by_default=False)
        yield World(store, RecordService(blueprint=SERVED, store=store, access=access))
    finally:
        await store.close()


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    await create_schema(BLUEPRINT, database_url)
    async with open_world(database_url) as opened:
        yield opened


@dataclass
class Pair:
    """Two members with a note each; B's note carries a secret and is pinned."""

    a: dict[str, Any]
    b: dict[str, Any]
    note_a: dict[str, Any]
    note_b: dict[str, Any]

    @property
    def ctx_a(self) -> RequestContext:
        return as_user(self.a)


@pytest.fixture
async def pair(world: World) -> Pair:
    a = await world.user("ada", "member")
    b = await world.user("bob", "member")
    note_a = await world.note(a, "ada's note", secret="ada's secret")
    note_b = await world.note(b, "bob's plan", secret="bob's secret", pinned=True)
    return Pair(a, b, note_a, note_b)


def ids(records: list[dict[str, Any]]) -> set[UUID]:
    return {record["id"] for record in records}


# --- API1: object level authorization --------------------------------------------------


async def test_a_member_cannot_read_change_or_delete_another_members_note_by_id(
    world: World, pair: Pair
) -> None:
    notes, theirs = world.service, pair.note_b["id"]
    before = await world.stored("notes", theirs)

    with pytest.raises(NotFound):
        await notes.get("notes", theirs, ctx=pair.ctx_a)
    with pytest.raises(NotFound):
        await notes.update("notes", theirs, {"title": "mine now"}, ctx=pair.ctx_a)
    with pytest.raises(NotFound):
        await notes.replace(
            "notes", theirs, {"title": "mine now", "author": str(pair.a["id"])}, ctx=pair.ctx_a
        )
    with pytest.raises(NotFound):
        await notes.update("notes", theirs, {"title": "x"}, ctx=pair.ctx_a, expected_version=1)
    with pytest.raises(NotFound):
        await notes.delete("notes", theirs, ctx=pair.ctx_a)

    assert await world.stored("notes", theirs) == before


async def test_a_member_edits_replaces_and_deletes_their_own_note(world: World, pair: Pair) -> None:
    notes, ctx, mine = world.service, pair.ctx_a, pair.note_a["id"]

    patched = await notes.update("notes", mine, {"title": "patched"}, ctx=ctx)
    replaced = await notes.replace(
        "notes", mine, {"title": "replaced", "author": str(pair.a["id"])}, ctx=ctx
    )
    await notes.delete("notes", mine, ctx=ctx)

    assert (patched["title"], patched["author"]) == ("patched", pair.a["id"])
    assert (replaced["title"], replaced["author"]) == ("replaced", pair.a["id"])
    assert (await notes.list("notes", QuerySpec(), ctx=ctx)).records == []


async def test_another_members_note_answers_exactly_like_a_note_that_does_not_exist(
    world: World, pair: Pair
) -> None:
    with pytest.raises(NotFound) as theirs:
        await world.service.get("notes", pair.note_b["id"], ctx=pair.ctx_a)
    missing_id = uuid4()
    with pytest.raises(NotFound) as missing:
        await world.service.get("notes", missing_id, ctx=pair.ctx_a)

    hidden = theirs.value.detail.replace(str(pair.note_b["id"]), "ID")
    assert hidden == missing.value.detail.replace(str(missing_id), "ID")


async def test_a_member_lists_filters_and_counts_only_their_own_notes(
    world: World, pair: Pair
) -> None:
    notes, ctx = world.service, pair.ctx_a
    by_b = (Filter("author", "eq", pair.b["id"]),)
    by_title = (Filter("title", "eq", "bob's plan"),)

    listed = await notes.list("notes", QuerySpec(count=True), ctx=ctx)
    filtered = await notes.list("notes", QuerySpec(filters=by_b, count=True), ctx=ctx)
    by_name = await notes.list("notes", QuerySpec(filters=by_title), ctx=ctx)
    counted = await notes.aggregate("notes", COUNT, ctx=ctx)
    counted_b = await notes.aggregate(
        "notes", AggregateSpec(aggregates=(Aggregate("count"),), filters=by_b), ctx=ctx
    )
    grouped = await notes.aggregate(
        "notes", AggregateSpec(aggregates=(Aggregate("count"),), group_by=("author",)), ctx=ctx
    )

    assert ids(listed.records) == {pair.note_a["id"]}
    assert listed.total == 1
    assert filtered.records == []
    assert filtered.total == 0
    assert by_name.records == []
    assert counted == [{"count": 1}]
    assert counted_b == [{"count": 0}]
    assert grouped == [{"author": pair.a["id"], "count": 1}]
    staff = await world.user("sam", "staff")
    assert (await notes.aggregate("notes", COUNT, ctx=as_user(staff))) == [{"count": 2}]


async def test_a_member_pages_through_their_own_notes_with_cursors(
    world: World, pair: Pair
) -> None:
    for i in range(4):
        await world.note(pair.a, f"ada {i}")
        await world.note(pair.b, f"bob {i}")
    # What an API layer parses from the client: no row filters of the caller's.
    spec = QuerySpec(limit=2, sort=(SortKey("title"),))
    seen: list[str] = []

    page = await world.service.list("notes", spec, ctx=pair.ctx_a)
    seen += [r["title"] for r in page.records]
    while page.next_cursor is not None:
        after = decode_cursor(page.next_cursor, "notes", spec)
        page = await world.service.list(
            "notes", QuerySpec(limit=2, sort=spec.sort, after=after), ctx=pair.ctx_a
        )
        seen += [r["title"] for r in page.records]

    assert seen == ["ada 0", "ada 1", "ada 2", "ada 3", "ada's note"]


async def test_expansion_embeds_only_records_the_caller_may_read(world: World, pair: Pair) -> None:
    # Ada commented on Bob's note (say, before it was made private) and Bob on Ada's.
    on_theirs = await world.service.create(
        "comments",
        {"body": "nice", "note": str(pair.note_b["id"]), "author": str(pair.a["id"])},
        ctx=ADMIN,
    )
    mine = await world.service.create(
        "comments",
        {"body": "me too", "note": str(pair.note_a["id"]), "author": str(pair.a["id"])},
        ctx=ADMIN,
    )
    await world.service.create(
        "comments",
        {"body": "hello", "note": str(pair.note_a["id"]), "author": str(pair.b["id"])},
        ctx=ADMIN,
    )
    ctx = pair.ctx_a

    comment = await world.service.get("comments", on_theirs["id"], ctx=ctx, expand=("note",))
    comments = await world.service.list("comments", QuerySpec(expand=("note",)), ctx=ctx)
    note = await world.service.get("notes", pair.note_a["id"], ctx=ctx, expand=("comments",))
    notes = await world.service.list("notes", QuerySpec(expand=("comments", "author")), ctx=ctx)

    assert comment["note"] is None
    by_id = {r["id"]: r["note"] for r in comments.records}
    assert by_id[on_theirs["id"]] is None
    assert by_id[mine["id"]]["id"] == pair.note_a["id"]
    assert "secret" not in by_id[mine["id"]]
    assert [c["id"] for c in note["comments"]] == [mine["id"]]
    assert [c["id"] for c in notes.records[0]["comments"]] == [mine["id"]]
    assert notes.records[0]["author"]["id"] == pair.a["id"]


async def test_filters_through_a_relation_cannot_probe_records_the_caller_may_not_read(
    world: World, pair: Pair
) -> None:
    await world.service.create(
        "comments",
        {"body": "nice", "note": str(pair.note_b["id"]), "author": str(pair.a["id"])},
        ctx=ADMIN,
    )
    probe = (Filter("title", "eq", "bob's plan", via="note"),)
    ctx = pair.ctx_a

    listed = await world.service.list("comments", QuerySpec(filters=probe), ctx=ctx)
    counted = await world.service.aggregate(
        "comments", AggregateSpec(aggregates=(Aggregate("count"),), filters=probe), ctx=ctx
    )

    assert listed.records == []
    assert counted == [{"count": 0}]


async def test_aggregations_cannot_filter_on_fields_hidden_through_a_relation(
    world: World, pair: Pair
) -> None:
    await world.service.create(
        "comments",
        {"body": "memo", "note": str(pair.note_a["id"]), "author": str(pair.a["id"])},
        ctx=ADMIN,
    )
    probe = (Filter("secret", "eq", "ada's secret", via="note"),)

    with pytest.raises(InvalidQuery):
        await world.service.list("comments", QuerySpec(filters=probe), ctx=pair.ctx_a)
    with pytest.raises(InvalidQuery):
        await world.service.aggregate(
            "comments",
            AggregateSpec(aggregates=(Aggregate("count"),), filters=probe),
            ctx=pair.ctx_a,
        )


# --- API3: object property level authorization --------------------------------------------


async def test_a_member_cannot_create_or_hand_over_notes_in_someone_elses_name(
    world: World, pair: Pair
) -> None:
    notes, ctx, b = world.service, pair.ctx_a, str(pair.b["id"])

    with pytest.raises(Forbidden):
        await notes.create("notes", {"title": "framed", "author": b}, ctx=ctx)
    with pytest.raises(Forbidden):
        await notes.create_many("notes", [{"title": "ok"}, {"title": "x", "author": b}], ctx=ctx)
    with pytest.raises(Forbidden):
        await notes.update("notes", pair.note_a["id"], {"author": b}, ctx=ctx)
    with pytest.raises(Forbidden):
        await notes.replace("notes", pair.note_a["id"], {"title": "t", "author": b}, ctx=ctx)
    created = await notes.create("notes", {"title": "mine"}, ctx=ctx)

    assert created["author"] == pair.a["id"]
    assert (await world.stored("notes", pair.note_a["id"]))["author"] == pair.a["id"]
    everything = await notes.list("notes", QuerySpec(), ctx=ADMIN)
    assert {r["title"] for r in everything.records} == {"ada's note", "bob's plan", "mine"}
    staff = await world.user("sam", "staff")
    assigned = await notes.create("notes", {"title": "for bob", "author": b}, ctx=as_user(staff))
    assert assigned["author"] == pair.b["id"]


async def test_a_member_cannot_write_a_field_read_only_for_their_role(
    world: World, pair: Pair
) -> None:
    notes, ctx, mine = world.service, pair.ctx_a, pair.note_a["id"]

    with pytest.raises(Forbidden) as created:
        await notes.create("notes", {"title": "t", "pinned": True}, ctx=ctx)
    with pytest.raises(Forbidden):
        await notes.update("notes", mine, {"pinned": True}, ctx=ctx)
    with pytest.raises(Forbidden):
        await notes.replace("notes", mine, {"title": "t", "pinned": True}, ctx=ctx)
    with pytest.raises(Forbidden):
        await notes.update("notes", mine, {"secret": "overwritten"}, ctx=ctx)

    assert [e.pointer for e in created.value.errors] == ["/pinned"]
    stored = await world.stored("notes", mine)
    assert (stored["pinned"], stored["secret"]) == (False, "ada's secret")
    staff = as_user(await world.user("sam", "staff"))
    assert (await notes.update("notes", mine, {"pinned": True}, ctx=staff))["pinned"] is True


async def test_a_field_hidden_from_a_role_is_absent_from_every_answer(
    world: World, pair: Pair
) -> None:
    notes, ctx = world.service, pair.ctx_a

    answers = [
        await notes.get("notes", pair.note_a["id"], ctx=ctx),
        *(await notes.list("notes", QuerySpec(), ctx=ctx)).records,
        await notes.create("notes", {"title": "new"}, ctx=ctx),
        await notes.update("notes", pair.note_a["id"], {"title": "renamed"}, ctx=ctx),
        await notes.replace(
            "notes", pair.note_a["id"], {"title": "again", "author": str(pair.a["id"])}, ctx=ctx
        ),
        *(await notes.create_many("notes", [{"title": "batch"}], ctx=ctx)),
    ]

    assert all("secret" not in answer and "title" in answer for answer in answers)
    staff = as_user(await world.user("sam", "staff"))
    assert (await notes.get("notes", pair.note_a["id"], ctx=staff))["secret"] == "ada's secret"


async def test_a_field_hidden_from_a_role_cannot_be_queried(world: World, pair: Pair) -> None:
    specs = [
        QuerySpec(filters=(Filter("secret", "eq", "bob's secret"),)),
        QuerySpec(filters=(Filter("secret", "isnull", False),)),
        QuerySpec(sort=(SortKey("secret"),)),
        QuerySpec(fields=frozenset({"title", "secret"})),
    ]
    for spec in specs:
        with pytest.raises(InvalidQuery):
            await world.service.list("notes", spec, ctx=pair.ctx_a)


async def test_a_field_hidden_from_a_role_cannot_be_aggregated(world: World, pair: Pair) -> None:
    specs = [
        AggregateSpec(aggregates=(Aggregate("count"),), group_by=("secret",)),
        AggregateSpec(aggregates=(Aggregate("distinct", "secret"),)),
        AggregateSpec(aggregates=(Aggregate("max", "secret"),)),
        AggregateSpec(
            aggregates=(Aggregate("count"),), filters=(Filter("secret", "like", "ada%"),)
        ),
    ]
    for spec in specs:
        with pytest.raises(InvalidQuery):
            await world.service.aggregate("notes", spec, ctx=pair.ctx_a)


async def test_system_fields_cannot_be_mass_assigned(world: World, pair: Pair) -> None:
    notes, ctx, mine = world.service, pair.ctx_a, pair.note_a["id"]
    before = await world.stored("notes", mine)

    for extra in ({"id": str(uuid4())}, {"version": 7}, {"created_at": "2020-01-01T00:00:00Z"}):
        with pytest.raises(InvalidInput):
            await notes.create("notes", {"title": "t", **extra}, ctx=ctx)
        with pytest.raises(InvalidInput):
            await notes.update("notes", mine, extra, ctx=ctx)
        with pytest.raises(InvalidInput):
            await notes.replace("notes", mine, {"title": "t", **extra}, ctx=ctx)

    assert await world.stored("notes", mine) == before


async def test_the_tenant_of_a_record_cannot_be_mass_assigned(world: World) -> None:
    home, other = await world.tenant("home"), await world.tenant("other")
    ctx = as_user(await world.user("ada", "member", tenant=home))
    project = await world.service.create("projects", {"name": "p"}, ctx=ctx)

    with pytest.raises((InvalidInput, Forbidden)):
        await world.service.create("projects", {"name": "q", "tenant": str(other)}, ctx=ctx)
    with pytest.raises((InvalidInput, Forbidden)):
        await world.service.update("projects", project["id"], {"tenant": str(other)}, ctx=ctx)
    with pytest.raises((InvalidInput, Forbidden)):
        await world.service.replace(
            "projects", project["id"], {"name": "p", "tenant": str(other)}, ctx=ctx
        )

    assert (await world.stored("projects", project["id"]))["tenant"] == home
    listed = await world.service.list("projects", QuerySpec(), ctx=ADMIN)
    assert [r["tenant"] for r in listed.records] == [home]


async def test_a_put_by_a_member_keeps_the_values_of_fields_they_may_not_write(
    world: World, pair: Pair
) -> None:
    ctx_b = as_user(pair.b)

    replaced = await world.service.replace(
        "notes", pair.note_b["id"], {"title": "rewritten", "author": str(pair.b["id"])}, ctx=ctx_b
    )

    stored = await world.stored("notes", pair.note_b["id"])
    assert replaced["title"] == "rewritten"
    assert "secret" not in replaced
    assert replaced["pinned"] is True
    assert (stored["title"], stored["pinned"], stored["secret"]) == (
        "rewritten",
        True,
        "bob's secret",
    )


async def test_a_put_without_the_owner_cannot_leave_a_members_note_ownerless(
    world: World, pair: Pair
) -> None:
    with pytest.raises(Forbidden):
        await world.service.replace("notes", pair.note_a["id"], {"title": "t"}, ctx=pair.ctx_a)

    assert (await world.stored("notes", pair.note_a["id"]))["author"] == pair.a["id"]


# --- the users resource ------------------------------------------------------------------


async def test_a_user_reads_and_edits_only_their_own_user_record(world: World, pair: Pair) -> None:
    users, ctx = world.service, pair.ctx_a

    me = await users.get("users", pair.a["id"], ctx=ctx)
    renamed = await users.update("users", pair.a["id"], {"name": "Ada L."}, ctx=ctx)
    with pytest.raises(NotFound):
        await users.get("users", pair.b["id"], ctx=ctx)
    with pytest.raises(NotFound):
        await users.update("users", pair.b["id"], {"name": "hacked"}, ctx=ctx)
    with pytest.raises(Forbidden):
        await users.delete("users", pair.b["id"], ctx=ctx)

    assert me["email"] == "ada@example.com"
    assert renamed["name"] == "Ada L."
    assert (await world.stored("users", pair.b["id"]))["name"] == "bob"


async def test_a_user_cannot_change_their_own_roles_status_email_or_tenant(world: World) -> None:
    home, other = await world.tenant("home"), await world.tenant("other")
    ada = await world.user("ada", "member", tenant=home)
    ctx = as_user(ada)
    before = await world.stored("users", ada["id"])
    changes = [
        {"roles": ["admin"]},
        {"roles": ["member", "staff"]},
        {"status": "disabled"},
        {"email": "new@example.com"},
        {"tenant": str(other)},
        {"tenant": None},
    ]

    for change in changes:
        with pytest.raises(Forbidden):
            await world.service.update("users", ada["id"], change, ctx=ctx)
        with pytest.raises(Forbidden):
            await world.service.replace("users", ada["id"], {"name": "ada", **change}, ctx=ctx)

    assert await world.stored("users", ada["id"]) == before


async def test_a_put_of_their_own_user_record_keeps_what_only_admins_write(
    world: World,
) -> None:
    home = await world.tenant("home")
    ada = await world.user("ada", "member", tenant=home)

    await world.service.replace("users", ada["id"], {"name": "Ada"}, ctx=as_user(ada))

    stored = await world.stored("users", ada["id"])
    assert (stored["name"], stored["roles"], stored["tenant"]) == ("Ada", ["member"], home)
    assert (stored["email"], stored["status"]) == ("ada@example.com", "active")


async def test_a_user_cannot_list_count_or_create_users(world: World, pair: Pair) -> None:
    ctx = pair.ctx_a

    with pytest.raises(Forbidden):
        await world.service.list("users", QuerySpec(), ctx=ctx)
    with pytest.raises(Forbidden):
        await world.service.aggregate("users", COUNT, ctx=ctx)
    with pytest.raises(Forbidden):
        await world.service.create("users", {"email": "c@example.com"}, ctx=ctx)
    with pytest.raises(NotAuthenticated):
        await world.service.get("users", pair.a["id"], ctx=ANONYMOUS)


# --- API5: function level authorization ---------------------------------------------------


async def test_anonymous_callers_are_asked_to_sign_in_for_what_they_are_not_granted(
    world: World, pair: Pair
) -> None:
    notes = world.service

    for call in (
        notes.list("notes", QuerySpec(), ctx=ANONYMOUS),
        notes.get("notes", pair.note_a["id"], ctx=ANONYMOUS),
        notes.create("notes", {"title": "t"}, ctx=ANONYMOUS),
        notes.update("notes", pair.note_a["id"], {"title": "t"}, ctx=ANONYMOUS),
        notes.delete("notes", pair.note_a["id"], ctx=ANONYMOUS),
        notes.aggregate("notes", COUNT, ctx=ANONYMOUS),
        notes.list("memos", QuerySpec(), ctx=ANONYMOUS),
    ):
        with pytest.raises(NotAuthenticated):
            await call

    assert (await world.stored("notes", pair.note_a["id"]))["title"] == "ada's note"


async def test_a_signed_in_caller_without_a_grant_is_forbidden(world: World, pair: Pair) -> None:
    auditor = as_user(await world.user("ivy", "auditor"))
    nobody = as_user(await world.user("nia"))
    notes = world.service

    for ctx in (auditor, nobody):
        for call in (
            notes.list("notes", QuerySpec(), ctx=ctx),
            notes.get("notes", pair.note_a["id"], ctx=ctx),
            notes.create("notes", {"title": "t"}, ctx=ctx),
            notes.update("notes", pair.note_a["id"], {"title": "t"}, ctx=ctx),
            notes.replace("notes", pair.note_a["id"], {"title": "t"}, ctx=ctx),
            notes.delete("notes", pair.note_a["id"], ctx=ctx),
            notes.aggregate("notes", COUNT, ctx=ctx),
            notes.create_many("notes", [{"title": "t"}], ctx=ctx),
        ):
            with pytest.raises(Forbidden):
                await call

    assert (await world.stored("notes", pair.note_a["id"]))["title"] == "ada's note"


async def test_a_resource_without_rules_is_open_in_development_and_admin_only_in_production(
    world: World, pair: Pair
) -> None:
    dev, prod = world.development, world.service

    created = await dev.create("memos", {"text": "hi"}, ctx=ANONYMOUS)
    assert (await dev.list("memos", QuerySpec(), ctx=pair.ctx_a)).records == [created]
    with pytest.raises(Forbidden):
        await prod.list("memos", QuerySpec(), ctx=pair.ctx_a)
    with pytest.raises(Forbidden):
        await prod.get("memos", created["id"], ctx=pair.ctx_a)
    with pytest.raises(Forbidden):
        await prod.create("memos", {"text": "x"}, ctx=pair.ctx_a)
    with pytest.raises(NotAuthenticated):
        await prod.delete("memos", created["id"], ctx=ANONYMOUS)

    assert (await prod.list("memos", QuerySpec(), ctx=ADMIN)).records == [created]
    # Resources with rules keep them in development too.
    with pytest.raises(NotFound):
        await dev.get("notes", pair.note_b["id"], ctx=pair.ctx_a)


# --- scopes --------------------------------------------------------------------------------


async def test_a_read_scope_lets_a_credential_read_but_not_write(world: World, pair: Pair) -> None:
    reader = as_user(pair.a, scopes=frozenset({"notes:read"}))

    listed = await world.service.list("notes", QuerySpec(), ctx=reader)
    assert ids(listed.records) == {pair.note_a["id"]}
    assert (await world.service.get("notes", pair.note_a["id"], ctx=reader))["title"]
    for call in (
        world.service.create("notes", {"title": "t"}, ctx=reader),
        world.service.update("notes", pair.note_a["id"], {"title": "t"}, ctx=reader),
        world.service.delete("notes", pair.note_a["id"], ctx=reader),
        world.service.list("comments", QuerySpec(), ctx=reader),
    ):
        with pytest.raises(Forbidden):
            await call


async def test_scopes_narrow_admins_too_and_a_star_allows_everything_the_roles_do(
    world: World, pair: Pair
) -> None:
    admin_reader = RequestContext(
        actor=ADMIN.actor, roles=ADMIN.roles, scopes=frozenset({"notes:read"})
    )
    writer = as_user(pair.a, scopes=frozenset({"notes:write"}))
    everything = as_user(pair.a, scopes=frozenset({"*"}))

    with pytest.raises(Forbidden):
        await world.service.delete("notes", pair.note_b["id"], ctx=admin_reader)
    with pytest.raises(Forbidden):
        await world.service.list("notes", QuerySpec(), ctx=writer)
    assert (await world.service.create("notes", {"title": "w"}, ctx=writer))["title"] == "w"
    assert (await world.service.create("notes", {"title": "s"}, ctx=everything))["title"] == "s"
    with pytest.raises(NotFound):
        await world.service.get("notes", pair.note_b["id"], ctx=everything)


# --- tenants -------------------------------------------------------------------------------


async def test_records_of_another_tenant_answer_as_missing(world: World) -> None:
    home, other = await world.tenant("home"), await world.tenant("other")
    ada = as_user(await world.user("ada", "member", tenant=home))
    oslo = as_user(await world.user("oslo", "member", tenant=other))
    theirs = await world.service.create("projects", {"name": "theirs"}, ctx=oslo)

    with pytest.raises(NotFound):
        await world.service.get("projects", theirs["id"], ctx=ada)
    with pytest.raises(NotFound):
        await world.service.update("projects", theirs["id"], {"name": "mine"}, ctx=ada)
    with pytest.raises(NotFound):
        await world.service.replace("projects", theirs["id"], {"name": "mine"}, ctx=ada)
    with pytest.raises(NotFound):
        await world.service.delete("projects", theirs["id"], ctx=ada)
    with pytest.raises(NotFound):
        await world.service.get("tenants", other, ctx=ada)

    assert (await world.stored("projects", theirs["id"]))["name"] == "theirs"
    assert (await world.service.list("projects", QuerySpec(), ctx=ada)).records == []
    assert await world.service.aggregate("projects", COUNT, ctx=ada) == [{"count": 0}]
    assert (await world.service.get("tenants", home, ctx=ada))["name"] == "home"


async def test_a_member_without_a_tenant_cannot_touch_tenant_scoped_records(
    world: World,
) -> None:
    loner = as_user(await world.user("lone", "member"))

    with pytest.raises(Forbidden):
        await world.service.create("projects", {"name": "p"}, ctx=loner)
    with pytest.raises(Forbidden):
        await world.service.list("projects", QuerySpec(), ctx=loner)


# --- internal resources --------------------------------------------------------------------


async def test_internal_resources_are_unreachable_even_for_admins(world: World) -> None:
    admin = await world.user("root", "admin")
    async with world.store.unit_of_work() as uow:
        credential = await TransactionRecords(world.service, uow, ADMIN).create(
            CREDENTIALS, {"user": str(admin["id"]), "password_hash": "not-a-real-hash"}
        )
    star_admin = RequestContext(actor=ADMIN.actor, roles=ADMIN.roles, scopes=frozenset({"*"}))

    for resource, ctx in itertools.product(INTERNAL, (ADMIN, star_admin, ANONYMOUS)):
        known = credential["id"] if resource == CREDENTIALS else uuid4()
        for call in (
            world.service.list(resource, QuerySpec(), ctx=ctx),
            world.service.get(resource, known, ctx=ctx),
            world.service.create(resource, {}, ctx=ctx),
            world.service.create_many(resource, [{}], ctx=ctx),
            world.service.update(resource, known, {}, ctx=ctx),
            world.service.replace(resource, known, {}, ctx=ctx),
            world.service.delete(resource, known, ctx=ctx),
            world.service.aggregate(resource, COUNT, ctx=ctx),
        ):
            with pytest.raises(NotFound):
                await call


# --- tenant isolation, as a property -----------------------------------------------------

Operation = tuple[str, int, int]
"""(action, index of the acting user, index of the target project among all created)."""

_operations = st.lists(
    st.tuples(
        st.sampled_from(["create", "create", "list", "get", "update", "replace", "delete"]),
        st.integers(0, 5),
        st.integers(0, 50),
    ),
    min_size=1,
    max_size=12,
)


@dataclass
class _Ledger:
    """What the property test expects: each project's tenant, and which still exist."""

    tenant_of: dict[UUID, UUID] = field(default_factory=dict)
    deleted: set[UUID] = field(default_factory=set)
    created: list[UUID] = field(default_factory=list)


def _check_visible(records: list[dict[str, Any]], ctx: RequestContext, ledger: _Ledger) -> None:
    for record in records:
        assert str(record["tenant"]) == ctx.tenant, "a record of another tenant leaked"
        assert ledger.tenant_of[record["id"]] == record["tenant"]
        assert record["id"] not in ledger.deleted


async def _perform(
    world: World, ctx: RequestContext, action: str, target: UUID | None, ledger: _Ledger
) -> None:
    projects = world.service
    mine = target is not None and str(ledger.tenant_of[target]) == ctx.tenant
    present = target is not None and target not in ledger.deleted
    if action == "create":
        row = await projects.create("projects", {"name": f"p{len(ledger.created)}"}, ctx=ctx)
        assert str(row["tenant"]) == ctx.tenant
        ledger.tenant_of[row["id"]] = row["tenant"]
        ledger.created.append(row["id"])
        return
    if action == "list":
        page = await projects.list("projects", QuerySpec(limit=100, count=True), ctx=ctx)
        _check_visible(page.records, ctx, ledger)
        expected = {p for p, t in ledger.tenant_of.items() if str(t) == ctx.tenant}
        assert ids(page.records) == expected - ledger.deleted
        return
    if target is None:
        return
    try:
        if action == "get":
            _check_visible([await projects.get("projects", target, ctx=ctx)], ctx, ledger)
        elif action == "update":
            row = await projects.update("projects", target, {"name": "renamed"}, ctx=ctx)
            _check_visible([row], ctx, ledger)
        elif action == "replace":
            row = await projects.replace("projects", target, {"name": "replaced"}, ctx=ctx)
            _check_visible([row], ctx, ledger)
        else:
            await projects.delete("projects", target, ctx=ctx)
            ledger.deleted.add(target)
    except NotFound:
        assert not (mine and present), f"{action} of an own project answered not found"
    else:
        assert mine, f"{action} reached a project of another tenant"
        assert present, f"{action} reached a deleted project"


async def _tenant_example(world: World, tenant_count: int, ops: list[Operation]) -> None:
    run = uuid4().hex[:8]  # fresh tenants and users for every example
    tenants = [await world.tenant(f"{run}-t{i}") for i in range(tenant_count)]
    members = [
        as_user(await world.user(f"{run}-u{i}", "member", tenant=tenants[i % tenant_count]))
        for i in range(2 * tenant_count)
    ]
    ledger = _Ledger()
    for action, who, which in ops:
        ctx = members[who % len(members)]
        target = ledger.created[which % len(ledger.created)] if ledger.created else None
        await _perform(world, ctx, action, target, ledger)
    # Whatever happened, every stored project kept its creator's tenant.
    theirs = (Filter("tenant", "in", tuple(tenants)),)
    stored = await world.service.list("projects", QuerySpec(limit=100, filters=theirs), ctx=ADMIN)
    for record in stored.records:
        assert record["tenant"] == ledger.tenant_of[record["id"]]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(tenant_count=st.integers(2, 3), ops=_operations)
async def test_no_caller_ever_reaches_a_project_of_another_tenant(
    world: World, tenant_count: int, ops: list[Operation]
) -> None:
    await _tenant_example(world, tenant_count, ops)
