"""Password hashing with argon2id, off the event loop.

Each hash costs tens of milliseconds of CPU and ``memory_cost`` KiB of memory,
so the work runs in a thread pool of its own: at most ``max_concurrency``
hashes run at once, a burst of logins queues there instead of blocking the
event loop or filling the loop's default executor (which the database drivers
and file access share).
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["MAX_PASSWORD_LENGTH", "Argon2Hasher"]

MAX_PASSWORD_LENGTH = 1024
"""Longer passwords are refused outright, bounding the work one request can ask for."""

_T = TypeVar("_T")


class Argon2Hasher:
    """A :class:`~bastion.core.ports.PasswordHasher` using argon2id (RFC 9106).

    Args:
        time_cost: Iterations over memory.
        memory_cost: Memory per hash, in KiB (65536 is 64 MiB).
        parallelism: Lanes per hash.
        max_concurrency: Hashes that may run at the same time (threads in the pool).

    Call :meth:`close` at shutdown to stop the pool's threads; the next hash
    after it starts a new pool (an application may be stopped and started again).
    """

    def __init__(
        self,
        *,
        time_cost: int = 3,
        memory_cost: int = 65536,
        parallelism: int = 1,
        max_concurrency: int = 4,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            type=argon2.Type.ID,
        )
        self._max_concurrency = max_concurrency
        self._pool: ThreadPoolExecutor | None = None
        self._dummy_hash: str | None = None
        self._dummy_lock = threading.Lock()

    async def _run(self, work: Callable[[], _T]) -> _T:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                max_workers=self._max_concurrency, thread_name_prefix="bastion-argon2"
            )
        return await asyncio.get_running_loop().run_in_executor(self._pool, work)

    async def hash(self, password: str) -> str:
        """The argon2id hash of ``password``, in the PHC string format.

        Raises:
            ValueError: The password is longer than :data:`MAX_PASSWORD_LENGTH`.
        """
        if len(password) > MAX_PASSWORD_LENGTH:
            raise ValueError(f"a password has at most {MAX_PASSWORD_LENGTH} characters")
        return await self._run(lambda: self._hasher.hash(password))

    async def verify(self, stored_hash: str, password: str) -> bool:
        """Whether ``password`` matches ``stored_hash``; ``False`` if the hash is malformed."""
        if len(password) > MAX_PASSWORD_LENGTH:
            return False
        return await self._run(lambda: self._check(stored_hash, password))

    async def verify_dummy(self, password: str) -> None:
        """Verify ``password`` against a hash no password matches, made with the same cost."""
        if len(password) > MAX_PASSWORD_LENGTH:
            return
        await self._run(lambda: self._check(self._dummy(), password))

    def needs_rehash(self, stored_hash: str) -> bool:
        """Whether ``stored_hash`` was made with other parameters (or cannot be read)."""
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except (InvalidHashError, ValueError):
            return True

    def close(self) -> None:
        """Stop the pool, after the hashes already running have finished."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _check(self, stored_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError, ValueError):
            # ValueError covers a password with lone surrogates, which cannot be encoded.
            return False

    def _dummy(self) -> str:
        with self._dummy_lock:
            if self._dummy_hash is None:
                self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(32))
            return self._dummy_hash
