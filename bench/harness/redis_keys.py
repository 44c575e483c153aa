"""The Redis that ``bastion-pg`` caches in: checked before a run, its keys deleted after.

Each run writes under a prefix of its own (``bench-<pid>-<random>:<system>:``),
so it never meets another run's keys or an application's sharing the same
Redis, and :meth:`RunRedis.delete_all` (called from the run's ``finally``)
removes exactly what the run wrote, also on failure or Ctrl-C.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

import redis

__all__ = ["RunRedis"]

_TIMEOUT = 2.0


class RunRedis:
    """One run's key space in one Redis."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.prefix = f"bench-{os.getpid()}-{secrets.token_hex(4)}:"
        self.error: str | None = None
        """Why Redis is unusable (set by :meth:`check`), or None when it answered."""
        self.server_version: str | None = None

    def _client(self) -> redis.Redis:
        return redis.Redis.from_url(
            self.url, socket_timeout=_TIMEOUT, socket_connect_timeout=_TIMEOUT
        )

    def check(self) -> bool:
        """Whether Redis answers PING (and can store a key); the reason in :attr:`error`."""
        try:
            client = self._client()
            try:
                client.ping()
                client.set(f"{self.prefix}probe", b"1", ex=60)
                client.delete(f"{self.prefix}probe")
                info: dict[str, Any] = client.info("server")
                self.server_version = str(info.get("redis_version", "?"))
            finally:
                client.close()
        except (redis.RedisError, OSError) as exc:
            self.error = f"Redis at {self.url} does not answer: {type(exc).__name__}: {exc}"
            return False
        self.error = None
        return True

    def prefix_for(self, system: str) -> str:
        """The ``BASTION_REDIS_PREFIX`` of ``system`` in this run."""
        return f"{self.prefix}{system}:"

    def _keys(self, client: redis.Redis, pattern: str) -> list[bytes]:
        return list(client.scan_iter(match=pattern, count=1000))

    def count(self, system: str) -> int:
        """How many keys ``system`` has in Redis right now (0 if Redis is unusable)."""
        if self.error:
            return 0
        try:
            client = self._client()
            try:
                return len(self._keys(client, f"{self.prefix_for(system)}*"))
            finally:
                client.close()
        except (redis.RedisError, OSError):
            return 0

    def delete_all(self) -> int:
        """Delete every key of this run; how many there were."""
        if self.error:
            return 0
        client = self._client()
        try:
            keys = self._keys(client, f"{self.prefix}*")
            for start in range(0, len(keys), 1000):
                client.unlink(*keys[start : start + 1000])
            return len(keys)
        finally:
            client.close()

    def as_dict(self) -> dict[str, Any]:
        """What the results file says about Redis."""
        return {
            "url": self.url,
            "ok": self.error is None,
            "error": self.error,
            "version": self.server_version,
        }
