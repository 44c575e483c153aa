"""A small connection pool, shared by both drivers.

Hot path: taking an idle connection and giving it back are a list pop and
append, with no task, no lock and no timer. Only a request that finds every
connection taken waits, on a future that the next connection given back
completes, or that expires after the acquire timeout. (asyncpg's own pool
starts a task for every acquire with a timeout and for every release.) Only
that waiting path is timed for metrics (``on_wait``).
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from bastion.core.errors import StoreUnavailable
from bastion.core.ports import PoolStats

__all__ = ["Pool"]

C = TypeVar("C")


class Pool(Generic[C]):
    """Up to ``max_size`` connections, opened on demand by ``open``, reused last-in first-out.

    Args:
        open: opens one connection.
        max_size: the most connections open at once.
        acquire_timeout: seconds a request waits for a connection before
            ``StoreUnavailable``.
        on_wait: told the seconds each request that found every connection taken
            waited (also when it gave up); requests served at once are not timed.
    """

    def __init__(
        self,
        open: Callable[[], Awaitable[C]],
        *,
        max_size: int,
        acquire_timeout: float,
        on_wait: Callable[[float], None] | None = None,
    ) -> None:
        self._open = open
        self._max_size = max_size
        self._acquire_timeout = acquire_timeout
        self._idle: list[C] = []
        self._waiters: collections.deque[asyncio.Future[C]] = collections.deque()
        self.opened: list[C] = []
        """Every open connection, idle or taken."""
        self._opening = 0
        self._tasks: set[asyncio.Future[None]] = set()
        self.on_wait = on_wait
        self.waiting = 0
        """Requests waiting for a connection now."""

    def stats(self) -> PoolStats:
        """Connections open, lent out and waited for, for metrics."""
        size = len(self.opened)
        return PoolStats(
            size=size, in_use=size - len(self._idle), waiting=self.waiting, max_size=self._max_size
        )

    async def fill(self, size: int) -> None:
        """Open connections until ``size`` are open."""
        while len(self.opened) + self._opening < size:
            self._idle.append(await self._new())

    async def _new(self) -> C:
        self._opening += 1
        try:
            conn = await self._open()
        finally:
            self._opening -= 1
        self.opened.append(conn)
        return conn

    async def acquire(self) -> C:
        """An idle connection, a new one, or the next one given back."""
        if self._idle:
            return self._idle.pop()
        if len(self.opened) + self._opening < self._max_size:
            return await self._new()
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[C] = loop.create_future()
        self._waiters.append(waiter)
        timer = loop.call_later(self._acquire_timeout, _expire, waiter)
        started = loop.time()
        self.waiting += 1
        try:
            return await waiter
        except TimeoutError as exc:
            raise StoreUnavailable("no database connection became free in time") from exc
        except BaseException:
            # Cancelled after a connection was handed over: it must not be lost.
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.give_back(waiter.result())
            raise
        finally:
            timer.cancel()
            self.waiting -= 1
            if self.on_wait is not None:
                self.on_wait(loop.time() - started)

    def give_back(self, conn: C) -> None:
        """Hand ``conn`` to the longest waiter, or keep it idle."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self._idle.append(conn)

    def forget(self, conn: C) -> None:
        """Stop counting ``conn`` (the caller closes it); a waiter may open another."""
        if conn in self.opened:
            self.opened.remove(conn)
        if conn in self._idle:
            self._idle.remove(conn)
        if self._waiters:
            # The freed place goes to the longest waiter, as a new connection.
            task = asyncio.ensure_future(self._open_for(self._waiters.popleft()))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _open_for(self, waiter: asyncio.Future[C]) -> None:
        try:
            conn = await self._new()
        except Exception as exc:
            if not waiter.done():
                waiter.set_exception(exc)
            return
        if waiter.done():
            self.give_back(conn)
        else:
            waiter.set_result(conn)

    def clear(self) -> list[C]:
        """Forget every connection; the ones that were open (for the caller to close)."""
        opened, self.opened, self._idle = self.opened, [], []
        return opened


def _expire(waiter: asyncio.Future[Any]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())
