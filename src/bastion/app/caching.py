"""Which read cache a process gets, from its settings and database.

=====================  ================================================
configuration          cache
=====================  ================================================
``redis_url`` set      in-process LRU + Redis; changes by Redis pub/sub
SQLite, no Redis       in-process LRU; changes seen by ``data_version``
PostgreSQL, no Redis   none (workers could not hear of each other's writes)
``cache_enabled=false``  none
=====================  ================================================
"""

from __future__ import annotations

import logging

from bastion.adapters.redis.cache import RedisCache
from bastion.adapters.sql.change_feed import SqliteChangeFeed
from bastion.adapters.sql.store import SqlStore
from bastion.blueprint import Blueprint
from bastion.core.caching import CachePolicy, CachingStore, QueryKeys, RecordCache
from bastion.core.ports import ChangeFeed, SharedCache, Store, Telemetry
from bastion.settings import Settings

__all__ = ["cached_store"]

log = logging.getLogger("bastion.app")


def cached_store(
    settings: Settings, blueprint: Blueprint, store: SqlStore, telemetry: Telemetry | None
) -> Store:
    """``store`` behind the read cache the settings allow (or ``store`` itself)."""
    if not settings.cache_enabled:
        return store
    feed: ChangeFeed
    shared: SharedCache | None = None
    if settings.redis_url:
        redis_cache = RedisCache(settings.redis_url, settings.redis_prefix)
        feed, shared = redis_cache, redis_cache
    elif store.dialect == "sqlite":
        feed = SqliteChangeFeed(store.location)
    else:
        log.info("read cache off: PostgreSQL without Redis; set BASTION_REDIS_URL to cache reads")
        return store
    policy = CachePolicy(
        default_ttl=float(settings.cache_ttl_seconds), local_size=settings.cache_local_size
    )
    cache = RecordCache(blueprint, policy, feed=feed, shared=shared, telemetry=telemetry)
    return CachingStore(store, cache, QueryKeys(blueprint))
