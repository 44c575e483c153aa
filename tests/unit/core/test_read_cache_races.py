"""The read cache never keeps what a commit replaced, whatever order reads and commits race in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from bastion.blueprint import Blueprint
from bastion.core.caching import CachePolicy, QueryKeys, RecordCache, RowCodec, record_key
from bastion.core.ports import ChangeListener, Changes
from bastion.core.query import Filter, QuerySpec

BLUEPRINT = Blueprint.model_validate(
    {
        "resources": {
            "customers": {"fields": {"name": {"type": "string", "filterable": True}}},
            "orders": {
                "fields": {
                    "customer": {"type": "belongs_to", "resource": "customers"},
                    "total": {"type": "decimal", "precision": 10, "scale": 2},
                    "placed": {"type": "datetime"},
                    "day": {"type": "date"},
                    "extra": {"type": "json"},
                }
            },
            "logs": {"fields": {"line": {"type": "string"}}, "cache": False},
        }
    }
)


class ListeningFeed:
    """A feed that is always live and lets the test deliver other processes' commits."""

    def __init__(self) -> None:
        self.listener: ChangeListener | None = None
        self.live = True

    async def start(self, listener: ChangeListener) -> None:
        self.listener = listener

    async def stop(self) -> None:
        self.listener = None

    def poll(self) -> None:
        pass

    def deliver(self, changes: Changes | None) -> None:
        assert self.listener is not None
        self.listener.changed(changes)


async def _cache() -> tuple[RecordCache, ListeningFeed]:
    feed = ListeningFeed()
    cache = RecordCache(BLUEPRINT, CachePolicy(), feed=feed)
    await cache.start()
    return cache, feed


async def test_a_fill_that_raced_a_local_commit_is_dropped() -> None:
    cache, _ = await _cache()
    record_id = uuid.uuid4()
    key = record_key("customers", record_id)
    missed = await cache.lookup("customers", key)
    await cache.committed({"customers": {record_id}})  # committed while the read was out
    await cache.fill(missed, {"id": record_id, "name": "old"})
    assert (await cache.lookup("customers", key)).value is None


async def test_a_fill_that_raced_another_process_commit_is_dropped() -> None:
    cache, feed = await _cache()
    spec = QuerySpec(filters=(Filter("name", "eq", "Ada"),))
    key = QueryKeys.page("customers", spec)
    missed = await cache.lookup("customers", key, ("customers",))
    feed.deliver(Changes({"customers": frozenset({uuid.uuid4()})}))
    await cache.fill(missed, [])
    assert (await cache.lookup("customers", key, ("customers",))).value is None


async def test_a_commit_retires_pages_of_every_resource_they_filter_through() -> None:
    cache, _ = await _cache()
    keys = QueryKeys(BLUEPRINT)
    spec = QuerySpec(filters=(Filter("name", "eq", "Ada", via="customer"),))
    depends_on = keys.depends_on("orders", spec)
    assert depends_on == ("orders", "customers")
    key = keys.page("orders", spec)
    await cache.fill(await cache.lookup("orders", key, depends_on), [])
    assert (await cache.lookup("orders", key, depends_on)).value == []

    await cache.committed({"customers": {uuid.uuid4()}})

    assert (await cache.lookup("orders", key, depends_on)).value is None


async def test_unknown_changes_empty_the_cache() -> None:
    cache, feed = await _cache()
    record_id = uuid.uuid4()
    key = record_key("customers", record_id)
    await cache.fill(await cache.lookup("customers", key), {"id": record_id})
    missed_before_reset = await cache.lookup("orders", record_key("orders", record_id))
    feed.deliver(None)
    assert (await cache.lookup("customers", key)).value is None
    # A read that began before the reset cannot fill after it, even for a resource
    # the cache had never seen.
    await cache.fill(missed_before_reset, {"id": record_id})
    assert (await cache.lookup("orders", record_key("orders", record_id))).value is None


async def test_hits_are_copies() -> None:
    cache, _ = await _cache()
    record_id = uuid.uuid4()
    key = record_key("customers", record_id)
    await cache.fill(await cache.lookup("customers", key), {"id": record_id, "name": "Ada"})
    first = (await cache.lookup("customers", key)).value
    first["name"] = "changed by a reader"
    assert (await cache.lookup("customers", key)).value["name"] == "Ada"


async def test_opted_out_resources_are_not_cached() -> None:
    cache, _ = await _cache()
    assert cache.caches("customers")
    assert not cache.caches("logs")


@given(
    total=st.decimals(min_value=-(10**7), max_value=10**7, places=2, allow_nan=False),
    placed=st.datetimes(timezones=st.just(UTC)),
    extra=st.recursive(
        st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=5),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
        max_leaves=8,
    ),
)
def test_rows_survive_the_shared_cache_encoding(
    total: Decimal, placed: datetime, extra: object
) -> None:
    codec = RowCodec(BLUEPRINT.resources["orders"])
    row = {
        "id": uuid.uuid4(),
        "created_at": placed,
        "updated_at": placed,
        "version": 3,
        "customer": uuid.uuid4(),
        "total": total,
        "placed": placed,
        "day": placed.date(),
        "extra": extra,
    }
    data = RowCodec.encode([row])
    assert data is not None
    assert codec.decode_rows(data) == [row]
