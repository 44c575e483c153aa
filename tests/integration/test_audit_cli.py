"""``bastion audit verify|erase`` and ``bastion events status|dead-letters``, against a
database written by a real application, on SQLite and PostgreSQL.

The commands run their own event loop, so these tests are synchronous. Each
command brings the schema up to date first (development), which takes a
moment: the tests group their steps to run few commands.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest
from typer.testing import CliRunner

from bastion.adapters.sql.store import SqlStore
from bastion.app import create_app
from bastion.app.identity import FernetSecretBox
from bastion.blueprint import load_blueprint
from bastion.blueprint.events import DELIVERIES, DELIVERY_ATTEMPTS, EVENTS, PROCESSED_EVENTS
from bastion.blueprint.identity import AUTH_EVENTS
from bastion.cli import app as cli
from bastion.cli.event_store import open_event_store
from bastion.core.events.envelope import cloud_event
from bastion.core.events.personal import SubjectKeys, subject_of
from bastion.core.events.retention import PruneResult, prune_deliveries
from bastion.core.ids import new_id
from bastion.core.query import Filter, QuerySpec, SortKey
from bastion.settings import Settings

BLUEPRINT = """\
name: shop
resources:
  customers:
    fields:
      name: {type: string, required: true, personal: true}
      email: {type: email, required: true, personal: true}
      tier: {type: string}
  orders:
    fields:
      customer: {type: belongs_to, resource: customers, on_delete: cascade, required: true}
      total: {type: decimal, precision: 10, scale: 2, default: "0"}
"""
SECRET = "audit-cli-test-secret-" + "x" * 32


def _run(*args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), input=input)
    return result.exit_code, result.output


@asynccontextmanager
async def _store(url: str) -> AsyncIterator[SqlStore]:
    settings = Settings(database_url=url, secret_key=SECRET)
    async with open_event_store(settings, load_blueprint(Path("bastion.yaml"))) as store:
        yield store


class Shop:
    """What the application wrote: a customer (personal fields) with one event, an order
    with four (created, then three updates), and every stored event in stream order."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.customer, self.order = asyncio.run(self._write())
        self.events = asyncio.run(self._events())

    async def _write(self) -> tuple[dict[str, Any], dict[str, Any]]:
        settings = Settings(database_url=self.url, secret_key=SECRET)
        app = create_app("bastion.yaml", settings=settings, relay=False)
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://audit.test") as api:
                created = await api.post(
                    "/v1/customers",
                    json={"name": "Ada", "email": "ada@example.com", "tier": "gold"},
                )
                assert created.status_code == 201, created.text
                order = await api.post(
                    "/v1/orders", json={"customer": created.json()["id"], "total": "9.50"}
                )
                assert order.status_code == 201, order.text
                for total in ("12.00", "15.00", "18.00"):
                    patched = await api.patch(
                        f"/v1/orders/{order.json()['id']}", json={"total": total}
                    )
                    assert patched.status_code == 200, patched.text
            return created.json(), order.json()
        finally:
            await app.stop()

    async def _events(self) -> list[dict[str, Any]]:
        spec = QuerySpec(
            limit=100, sort=(SortKey("resource"), SortKey("record_id"), SortKey("seq"))
        )
        async with _store(self.url) as store, store.unit_of_work(read_only=True) as uow:
            return await uow.fetch_page(EVENTS, spec)

    def event(self, record: dict[str, Any], seq: int) -> dict[str, Any]:
        return next(
            e for e in self.events if str(e["record_id"]) == record["id"] and e["seq"] == seq
        )


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "bastion.yaml").write_text(BLUEPRINT)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BASTION_SECRET_KEY", SECRET)
    monkeypatch.setenv("BASTION_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}")
    return tmp_path


@pytest.fixture
def shop(project: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Shop:
    monkeypatch.setenv("BASTION_DATABASE_URL", database_url)
    # The first command brings the new database's schema up (development), as `serve` would.
    code, output = _run("audit", "verify")
    assert code == 0, output
    assert "checked 0 events in 0 records: all chains intact" in output
    return Shop(database_url)


async def _tamper(url: str, *statements: str) -> None:
    """Change the stored log directly, as someone with access to the database could."""
    if url.startswith("sqlite"):
        with sqlite3.connect(url.split(":///", 1)[1]) as db:
            for statement in statements:
                db.execute(statement)
        db.close()
        return
    conn = await asyncpg.connect(url)
    try:
        # Skips the log's append-only trigger, if it has one (the owner, a superuser).
        await conn.execute("SET session_replication_role = replica")
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def test_audit_verify_checks_every_chain_across_pages(shop: Shop) -> None:
    code, output = _run("audit", "verify", "--page-size", "2")

    assert code == 0, output
    assert "checked 5 events in 2 records: all chains intact" in output


def test_audit_verify_names_altered_and_missing_events(shop: Shop) -> None:
    altered, after_gap = shop.event(shop.order, 2), shop.event(shop.order, 4)
    asyncio.run(
        _tamper(
            shop.url,
            'UPDATE bastion_events SET changes = \'{"total":{"after":"1.00","before":'
            "\"9.50\"}}' WHERE resource = 'orders' AND seq = 2",
            "DELETE FROM bastion_events WHERE resource = 'orders' AND seq = 3",
        )
    )

    code, output = _run("audit", "verify")

    assert code == 1, output
    order = shop.order["id"]
    assert (
        f"event {altered['id']} (orders {order}, #2): its content does not match its hash "
        "(it was altered)"
    ) in output
    assert (
        f"event {after_gap['id']} (orders {order}, #4): expected event #3 of this record, "
        "found #4 (an event is missing)"
    ) in output
    assert "3 break(s)" in output  # the altered one; the gap, and the gap's prev_hash


async def _customer_events(shop: Shop) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The customer's event as a CloudEvent, its personal fields opened with the record's
    key if it still has one; and the erasures in the auth audit trail."""
    keys = SubjectKeys(FernetSecretBox(SECRET))
    event = shop.event(shop.customer, 1)
    erasures = QuerySpec(limit=10, filters=(Filter("kind", "eq", "personal_data.erased"),))
    async with _store(shop.url) as store, store.unit_of_work(read_only=True) as uow:
        key = await keys.find(uow, subject_of("customers", event["record_id"]))
        audited = await uow.fetch_page(AUTH_EVENTS, erasures)
    return cloud_event(event, key), audited


def test_audit_erase_erases_personal_fields_and_keeps_the_chain(shop: Shop) -> None:
    code, output = _run("audit", "erase", "orders", shop.order["id"], "--yes")
    assert code == 0, output
    assert f"orders/{shop.order['id']} has no personal data in the event log" in output
    before, _ = asyncio.run(_customer_events(shop))
    assert before["data"]["changes"]["name"] == {"before": None, "after": "Ada"}

    code, output = _run("audit", "erase", "customers", shop.customer["id"], input="y\n")

    assert code == 0, output
    assert f"Erase the personal data of customers/{shop.customer['id']}" in output
    assert f"erased the personal data of customers/{shop.customer['id']}" in output
    after, audited = asyncio.run(_customer_events(shop))
    changes = after["data"]["changes"]
    assert changes["name"] == {"before": None, "after": "[erased]"}
    assert changes["email"] == {"before": None, "after": "[erased]"}
    assert changes["tier"] == {"before": None, "after": "gold"}
    assert [row["detail"] for row in audited] == [
        {"resource": "customers", "id": shop.customer["id"]}
    ]
    code, output = _run("audit", "verify")
    assert code == 0, output
    assert "checked 5 events in 2 records: all chains intact" in output


def test_audit_erase_refuses_unknown_resources_and_ids_before_asking(project: Path) -> None:
    record = str(new_id())
    code, output = _run("audit", "erase", "invoices", record, "--yes")
    assert code == 2
    assert (
        "the blueprint has no resource 'invoices' (it has: customers, orders, tenants, users)"
        in output
    )

    code, output = _run("audit", "erase", "customers", "not-an-id")
    assert code == 2
    assert "'not-an-id' is not a record id" in output

    code, output = _run("audit", "erase", "customers", record, input="n\n")
    assert code == 1
    assert "Aborted" in output
    assert not (project / "unused.db").exists()  # declined before touching any database


async def _dead_letter(
    shop: Shop, kind: str, target: str, *, status: str = "dead", age: timedelta = timedelta(0)
) -> UUID:
    """A delivery of the order's first event that was given up on after two attempts
    (or, with ``status``, that is delivered or pending), written ``age`` ago."""
    event = shop.event(shop.order, 1)
    now = datetime.now(UTC) - age
    delivery = new_id()
    system = {"created_at": now, "updated_at": now, "version": 1}
    async with _store(shop.url) as store, store.unit_of_work() as uow:
        await uow.insert(
            DELIVERIES,
            {
                "id": delivery,
                **system,
                "target_kind": kind,
                "target": target,
                "event": event["id"],
                "event_type": "orders.created",
                "stream": subject_of("orders", event["record_id"]),
                "seq": 1,
                "status": status,
                "attempts": 2,
                "next_attempt_at": now if status == "pending" else None,
                "last_status": 503,
                "last_error": f"HTTP 503 from {target}",
                "delivered_at": now if status == "delivered" else None,
            },
        )
        for attempt in (1, 2):
            await uow.insert(
                DELIVERY_ATTEMPTS,
                {
                    "id": new_id(),
                    **system,
                    "delivery": delivery,
                    "attempt": attempt,
                    "ok": False,
                    "status": 503,
                    "error": f"HTTP 503 from {target}",
                    "duration_ms": 12,
                },
            )
    return delivery


async def _statuses(shop: Shop, *deliveries: UUID) -> list[tuple[str, int]]:
    async with _store(shop.url) as store, store.unit_of_work(read_only=True) as uow:
        rows = {row["id"]: row for row in await uow.fetch_many(DELIVERIES, deliveries)}
    return [(rows[d]["status"], rows[d]["attempts"]) for d in deliveries]


def test_events_dead_letters_are_listed_shown_and_replayed(shop: Shop) -> None:
    webhook = asyncio.run(_dead_letter(shop, "webhook", "billing-hook"))
    consumer = asyncio.run(_dead_letter(shop, "consumer", "search-indexer"))
    event = shop.event(shop.order, 1)

    code, output = _run("events", "status")
    assert code == 0, output
    assert "outbox:      5 event(s) waiting to be published" in output  # no relay ran
    assert "deliveries:  0 pending, 0 delivered, 2 dead" in output

    code, output = _run("events", "dead-letters", "list")
    assert code == 0, output
    for expected in (webhook, consumer, event["id"], "billing-hook", "HTTP 503 from billing-hook"):
        assert str(expected) in output

    code, output = _run("events", "dead-letters", "show", str(webhook))
    assert code == 0, output
    assert "status:      dead" in output
    assert output.count("HTTP 503 from billing-hook") == 3  # the delivery and both attempts
    assert f'"id": "{event["id"]}"' in output  # the CloudEvent it carries
    assert '"type": "orders.created"' in output
    assert '"after": "9.50"' in output

    delivered = asyncio.run(_dead_letter(shop, "webhook", "erp-hook", status="delivered"))
    missing = new_id()
    code, output = _run(
        "events", "dead-letters", "replay", str(webhook), str(delivered), str(missing)
    )
    assert code == 1, output
    assert "replayed 1 delivery(ies)" in output
    assert (
        f"{delivered}: not a dead letter (status: delivered), skipped; --force sends it again"
    ) in output
    assert f"there is no delivery with id {missing}" in output
    assert asyncio.run(_statuses(shop, webhook, consumer, delivered)) == [
        ("pending", 0),
        ("dead", 2),
        ("delivered", 2),
    ]

    code, output = _run("events", "dead-letters", "replay", "--all", "--target-kind", "consumer")
    assert code == 0, output
    assert "replayed 1 dead letter(s)" in output
    assert asyncio.run(_statuses(shop, consumer)) == [("pending", 0)]

    code, output = _run("events", "dead-letters", "replay", str(webhook), str(delivered), "--force")
    assert code == 1, output  # the pending one is being tried: never replayed
    assert "replayed 1 delivery(ies)" in output
    assert f"{webhook}: not a dead letter (status: pending), skipped\n" in output
    assert asyncio.run(_statuses(shop, delivered)) == [("pending", 0)]

    audited = asyncio.run(_audited_replays(shop))
    assert [row["detail"] for row in audited] == [
        {
            "delivery": str(delivery),
            "target_kind": kind,
            "target": target,
            "event": str(event["id"]),
            "status_before": status,
        }
        for delivery, kind, target, status in (
            (webhook, "webhook", "billing-hook", "dead"),
            (consumer, "consumer", "search-indexer", "dead"),
            (delivered, "webhook", "erp-hook", "delivered"),
        )
    ]
    assert {row["request_id"] for row in audited} == {"bastion-cli"}


async def _audited_replays(shop: Shop) -> list[dict[str, Any]]:
    spec = QuerySpec(
        limit=10, filters=(Filter("kind", "eq", "delivery.replayed"),), sort=(SortKey("id"),)
    )
    async with _store(shop.url) as store, store.unit_of_work(read_only=True) as uow:
        return await uow.fetch_page(AUTH_EVENTS, spec)


def test_events_dead_letters_replay_needs_ids_or_all(project: Path) -> None:
    code, output = _run("events", "dead-letters", "replay")
    assert code == 2
    assert "give delivery ids, or --all" in output
    code, output = _run(
        "events", "dead-letters", "replay", str(new_id()), "--target-kind", "webhook"
    )
    assert code == 2
    assert "--target-kind only narrows --all" in output
    code, output = _run("events", "dead-letters", "replay", "--all", "--force")
    assert code == 2
    assert "--force only applies to deliveries given by id" in output


async def _processed_note(shop: Shop, consumer: str, age: timedelta) -> UUID:
    """An in-app consumer's note that it handled the order's first event, ``age`` ago."""
    at = datetime.now(UTC) - age
    note = new_id()
    async with _store(shop.url) as store, store.unit_of_work() as uow:
        await uow.insert(
            PROCESSED_EVENTS,
            {
                "id": note,
                "created_at": at,
                "updated_at": at,
                "version": 1,
                "consumer": consumer,
                "event": shop.event(shop.order, 1)["id"],
            },
        )
    return note


async def _left(shop: Shop) -> tuple[set[UUID], set[UUID], set[UUID]]:
    """The ids of every delivery, attempt and processed-event note left."""
    every = QuerySpec(limit=1000)
    async with _store(shop.url) as store, store.unit_of_work(read_only=True) as uow:
        return (
            {row["id"] for row in await uow.fetch_page(DELIVERIES, every)},
            {row["delivery"] for row in await uow.fetch_page(DELIVERY_ATTEMPTS, every)},
            {row["id"] for row in await uow.fetch_page(PROCESSED_EVENTS, every)},
        )


async def _prune(shop: Shop, *, before: datetime, progress: list[tuple[int, int]]) -> PruneResult:
    async with _store(shop.url) as store:
        return await prune_deliveries(
            store, before=before, batch_size=1, progress=lambda *done: progress.append(done)
        )


def test_events_prune_deletes_old_delivered_deliveries_and_notes_and_keeps_dead_letters(
    shop: Shop,
) -> None:
    old, recent = timedelta(days=45), timedelta(days=2)
    old_delivered = [
        asyncio.run(_dead_letter(shop, "webhook", f"hook-{n}", status="delivered", age=old))
        for n in range(3)
    ]
    recent_delivered = asyncio.run(
        _dead_letter(shop, "webhook", "fresh", status="delivered", age=recent)
    )
    old_dead = asyncio.run(_dead_letter(shop, "consumer", "stuck", age=old))
    old_pending = asyncio.run(_dead_letter(shop, "webhook", "slow", status="pending", age=old))
    old_note = asyncio.run(_processed_note(shop, "search-indexer", old))
    recent_note = asyncio.run(_processed_note(shop, "mailer", recent))

    code, output = _run("events", "prune", input="n\n")
    assert code == 1, output
    assert (
        "Delete 3 delivered delivery(ies) with their attempts and 1 processed-event note(s) "
        in (output)
    )
    assert "Aborted" in output
    assert len(asyncio.run(_left(shop))[0]) == 6  # declined: nothing deleted

    code, output = _run("events", "prune", "--older-than", "30d", "--yes")

    assert code == 0, output
    assert (
        "deleted 3 delivered delivery(ies), 6 attempt(s) and 1 processed-event note(s) "
        "older than 30d; dead letters are kept"
    ) in output
    deliveries, attempted, notes = asyncio.run(_left(shop))
    kept = {recent_delivered, old_dead, old_pending}
    assert deliveries == kept
    assert attempted == kept  # the attempts of the deleted deliveries went with them
    assert notes == {recent_note}
    assert old_note not in notes
    assert not set(old_delivered) & deliveries

    # One row per transaction: every batch is reported, the last one complete.
    reported: list[tuple[int, int]] = []
    result = asyncio.run(
        _prune(shop, before=datetime.now(UTC) - timedelta(days=1), progress=reported)
    )
    assert result == PruneResult(deliveries=1, attempts=2, processed=1)
    assert reported[-1] == (2, 2)
    assert len(reported) >= 3
    assert asyncio.run(_left(shop))[0] == {old_dead, old_pending}
    code, output = _run("events", "prune", "--older-than", "soon")
    assert code == 2
    assert "--older-than 'soon' is not an age" in output
