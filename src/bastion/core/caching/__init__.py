"""The read cache: records and list pages in process memory and, with Redis, shared.

Wiring (done by :func:`bastion.app.create_app`)::

    cache = RecordCache(blueprint, CachePolicy(), feed=feed, shared=redis_cache)
    store = CachingStore(sql_store, cache, QueryKeys(blueprint))

See :mod:`bastion.core.caching.cache` for how invalidation stays exact.
"""

from bastion.core.caching.cache import CachePolicy, Lookup, RecordCache
from bastion.core.caching.codec import RowCodec
from bastion.core.caching.keys import QueryKeys, record_key
from bastion.core.caching.store import CachingStore

__all__ = [
    "CachePolicy",
    "CachingStore",
    "Lookup",
    "QueryKeys",
    "RecordCache",
    "RowCodec",
    "record_key",
]
