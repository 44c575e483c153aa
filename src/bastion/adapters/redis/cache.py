"""The read cache's shared tier and change feed on Redis.

Keys (``<p>`` is the configured prefix, ``<e>`` the cache epoch):

- ``<p>cache:gen:<resource>``: the resource's generation, bumped by every commit
  that writes it (list pages and counts remember the generations they were
  read under);
- ``<p>cache:<e>:r:<resource>:<id>``: a stored record, deleted by every commit
  that writes it;
- ``<p>cache:<e>:p:…`` / ``<p>cache:<e>:c:…``: list pages and counts;
- ``<p>cache:epoch``: bumped when a process could not invalidate (Redis was
  unreachable when it committed): every entry of the old epoch is then
  abandoned at once, to expire by itself;
- channel ``<p>cache:changes``: what each commit changed, for the other
  processes' in-process tiers.

A commit's invalidation is one Lua script (bump generations, delete the
records, publish), so it costs one round trip. Every call fails soft: an
unreachable Redis reads as a miss, and the in-process tier is not used
until the subscription is back (it is emptied then, since commits may have
been missed meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Mapping, Sequence

import orjson
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from bastion.adapters.redis.client import CONNECT_TIMEOUT, redis_from_url
from bastion.core.caching import record_key
from bastion.core.ports import ChangeListener, Changes

__all__ = ["RedisCache"]

log = logging.getLogger(__name__)

_OUTAGE = (RedisError, OSError)
_RETRY_AFTER = 1.0
"""Seconds a failed command keeps the shared tier out of use."""
_MAX_BACKOFF = 5.0
"""Longest wait between attempts to subscribe again."""

# KEYS: the generation keys, then the entry key. ARGV: ttl (ms), value, expected generations.
_WRITE = """
for i = 1, #KEYS - 1 do
  if (tonumber(redis.call('GET', KEYS[i])) or 0) ~= tonumber(ARGV[i + 2]) then
    return 0
  end
end
redis.call('SET', KEYS[#KEYS], ARGV[2], 'PX', ARGV[1])
return 1
"""

# KEYS: ARGV[1] generation keys, then record keys. ARGV: count, channel, message.
_COMMITTED = """
local gens = tonumber(ARGV[1])
for i = 1, gens do
  redis.call('INCR', KEYS[i])
end
if #KEYS > gens then
  redis.call('UNLINK', unpack(KEYS, gens + 1))
end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
"""


class RedisCache:
    """Implements :class:`~bastion.core.ports.SharedCache` and
    :class:`~bastion.core.ports.ChangeFeed` on one Redis server."""

    def __init__(self, url: str, prefix: str) -> None:
        self._client = redis_from_url(url)
        # The subscription gets its own connection, without a read timeout (it waits for
        # messages) and without silent reconnection: a reconnect may have missed messages,
        # so every lost connection must be seen (and the in-process tier emptied).
        self._subscriber = redis.asyncio.Redis.from_url(
            url,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_keepalive=True,
            health_check_interval=5,
            retry=Retry(NoBackoff(), 0),
        )
        self._prefix = f"{prefix}cache:"
        self._channel = f"{self._prefix}changes"
        self._origin = uuid.uuid4().hex
        self._write = self._client.register_script(_WRITE)
        self._committed = self._client.register_script(_COMMITTED)
        self._epoch = 0
        self._live = False
        self._dirty = False
        self._down_until = 0.0
        self._listener: ChangeListener | None = None
        self._task: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()
        """Set while the subscription is live (tests wait on it)."""

    # ChangeFeed --------------------------------------------------------------

    async def start(self, listener: ChangeListener) -> None:
        """Subscribe in the background; the in-process tier is used once subscribed."""
        self._listener = listener
        self._task = asyncio.create_task(self._listen(), name="bastion-cache-changes")

    async def stop(self) -> None:
        """Unsubscribe and close both connections."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._live = False
        await self._subscriber.aclose()
        await self._client.aclose()

    def poll(self) -> None:
        """Nothing to do: Redis pushes every change."""

    @property
    def live(self) -> bool:
        """Whether the subscription is up (so no commit can go unheard)."""
        return self._live

    # SharedCache -------------------------------------------------------------

    @property
    def usable(self) -> bool:
        """Subscribed, with every own commit invalidated, and no command failing lately."""
        return self._live and not self._dirty and time.monotonic() >= self._down_until

    async def read(
        self, key: str, generations_of: Sequence[str], *, current_only: bool
    ) -> tuple[dict[str, int], bytes | None]:
        """Generations and entry in one ``MGET``; a page written under older generations
        reads as missing."""
        keys = [self._generation_key(name) for name in generations_of]
        try:
            values = await self._client.mget([*keys, self._entry_key(key)])
        except _OUTAGE as exc:
            self._failed("read", exc)
            return {}, None
        generations = {
            name: int(value or 0) for name, value in zip(generations_of, values, strict=False)
        }
        stored = values[-1]
        if not isinstance(stored, bytes):
            return generations, None
        written_under, _, payload = stored.partition(b"|")
        if current_only and written_under != _generation_text(generations):
            return generations, None
        return generations, payload

    async def write(
        self, key: str, value: bytes, ttl: float, generations: Mapping[str, int]
    ) -> None:
        """Store ``value`` unless a generation moved on since it was read."""
        if not self.usable:
            return
        keys = [self._generation_key(name) for name in generations]
        stored = _generation_text(generations) + b"|" + value
        args: list[bytes | int] = [int(ttl * 1000), stored, *generations.values()]
        try:
            await self._write(keys=[*keys, self._entry_key(key)], args=args)
        except _OUTAGE as exc:
            self._failed("write", exc)

    async def committed(self, changes: Changes) -> None:
        """Bump generations, delete the written records, and publish, in one script."""
        if not self._live and time.monotonic() < self._down_until:
            # Redis is away: do not make every write wait for it again.
            self._dirty = True
            return
        generation_keys = [self._generation_key(name) for name in changes.records]
        record_keys = [
            self._entry_key(record_key(name, record_id))
            for name, ids in changes.records.items()
            for record_id in ids
        ]
        message = orjson.dumps(
            {
                "origin": self._origin,
                "changes": {
                    name: [record_id.hex for record_id in ids]
                    for name, ids in changes.records.items()
                },
            }
        )
        try:
            await self._committed(
                keys=[*generation_keys, *record_keys],
                args=[len(generation_keys), self._channel, message],
            )
        except _OUTAGE as exc:
            # Other processes may now hold what this commit replaced: until a new epoch
            # abandons every entry, this process uses no shared entry either.
            self._dirty = True
            self._failed("invalidate", exc)

    # -------------------------------------------------------------------------

    def _generation_key(self, resource: str) -> str:
        return f"{self._prefix}gen:{resource}"

    def _entry_key(self, key: str) -> str:
        return f"{self._prefix}{self._epoch}:{key}"

    def _failed(self, what: str, exc: BaseException) -> None:
        if time.monotonic() >= self._down_until:
            log.warning("read cache: Redis %s failed (%s); using the database", what, exc)
        self._down_until = time.monotonic() + _RETRY_AFTER

    async def _new_epoch(self) -> None:
        """Abandon every shared entry (after a commit could not invalidate its own)."""
        self._epoch = int(await self._client.incr(f"{self._prefix}epoch"))
        await self._client.publish(
            self._channel, orjson.dumps({"origin": self._origin, "epoch": self._epoch})
        )
        self._dirty = False
        log.info("read cache: Redis is back; started cache epoch %d", self._epoch)

    def _heard(self, data: bytes) -> None:
        message = orjson.loads(data)
        if message.get("origin") == self._origin or self._listener is None:
            return
        if "epoch" in message:
            self._epoch = int(message["epoch"])
            self._listener.changed(None)
            return
        records = {
            name: frozenset(uuid.UUID(hex=value) for value in ids)
            for name, ids in message["changes"].items()
        }
        self._listener.changed(Changes(records))

    async def _listen(self) -> None:
        backoff = 0.1
        while True:
            pubsub = self._subscriber.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                # The subscribe confirmation proves the subscription is in place.
                while await pubsub.get_message(timeout=CONNECT_TIMEOUT) is None:
                    pass
                self._epoch = int(await self._client.get(f"{self._prefix}epoch") or 0)
                if self._dirty:
                    await self._new_epoch()
                # Commits made while nobody listened are unknown: start empty.
                if self._listener is not None:
                    self._listener.changed(None)
                self._live = True
                self._down_until = 0.0
                self.subscribed.set()
                backoff = 0.1
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message is not None and message["type"] == "message":
                        self._heard(message["data"])
                    if self._dirty:
                        await self._new_epoch()
            except _OUTAGE as exc:
                if self._live:
                    log.warning(
                        "read cache: lost Redis (%s); reading from the database until it is back",
                        exc,
                    )
            except Exception:
                log.exception("read cache: the change feed failed; subscribing again")
            finally:
                self._live = False
                self.subscribed.clear()
                if self._listener is not None:
                    self._listener.changed(None)
                with contextlib.suppress(*_OUTAGE):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF)


def _generation_text(generations: Mapping[str, int]) -> bytes:
    return ",".join(str(value) for value in generations.values()).encode()
