"""When a worker reads the stored flag overrides, and which read it keeps.

The store here is a small in-memory stand-in for the port (a dict of rows and
a count of reads); the real stores are exercised by the integration tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import uuid4

from bastion.blueprint import Blueprint
from bastion.core.flags import FlagBoard, FlagSync
from bastion.core.flags.sync import RETRY_SECONDS

BLUEPRINT = Blueprint.model_validate(
    {"flags": {"beta": {"type": "boolean", "default": False}}, "resources": {}}
)


class Overrides:
    """Stored ``bastion_flags`` rows, and the reads made of them."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.reads = 0
        self.gates: list[asyncio.Event] = []
        self.broken = False

    def store(self, default: bool) -> None:
        version = self.rows[0]["version"] + 1 if self.rows else 1
        self.rows = [{"id": uuid4(), "version": version, "flag": "beta", "default_value": default}]

    @asynccontextmanager
    async def unit_of_work(self, *, read_only: bool = False) -> AsyncIterator[Overrides]:
        yield self

    async def fetch_page(self, resource: str, spec: Any) -> list[dict[str, Any]]:
        self.reads += 1
        rows = [dict(row) for row in self.rows]
        if self.gates:
            await self.gates.pop(0).wait()
        if self.broken:
            raise ConnectionError("the database went away")
        return rows


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def beta(board: FlagBoard) -> object:
    return board.snapshot.flag("beta").default


async def test_without_a_change_token_overrides_are_read_once_per_interval() -> None:
    stored, clock, board = Overrides(), Clock(), FlagBoard(BLUEPRINT)
    sync = FlagSync(board, stored, interval=1.0, clock=clock)  # type: ignore[arg-type]
    stored.store(True)
    await sync.refresh()
    await sync.refresh()
    assert (stored.reads, beta(board)) == (1, True)

    stored.store(False)
    clock.now += 0.5
    await sync.refresh()
    assert (stored.reads, beta(board)) == (1, True)  # not due yet
    clock.now += 0.6
    await sync.refresh()
    assert (stored.reads, beta(board)) == (2, False)


async def test_with_a_change_token_overrides_are_read_only_when_it_moves() -> None:
    stored, board = Overrides(), FlagBoard(BLUEPRINT)
    token = [0]
    sync = FlagSync(board, stored, changes=lambda: token[0])  # type: ignore[arg-type]
    await sync.refresh()
    for _ in range(5):
        await sync.refresh()
    assert stored.reads == 1

    stored.store(True)
    token[0] += 1
    await sync.refresh()
    assert (stored.reads, beta(board)) == (2, True)


async def test_a_read_that_lands_after_a_newer_one_is_dropped() -> None:
    stored, board = Overrides(), FlagBoard(BLUEPRINT)
    token = [0]
    sync = FlagSync(board, stored, changes=lambda: token[0])  # type: ignore[arg-type]
    older_gate, newer_gate = asyncio.Event(), asyncio.Event()
    stored.gates = [older_gate, newer_gate]
    older = asyncio.create_task(sync.refresh())  # reads the rows before the change
    await asyncio.sleep(0)
    stored.store(True)
    token[0] += 1
    newer = asyncio.create_task(sync.refresh(force=True))
    await asyncio.sleep(0)
    newer_gate.set()
    await newer
    older_gate.set()
    await older
    assert beta(board) is True
    await sync.refresh()
    assert stored.reads == 2  # the token the newer read took is current: nothing to read


async def test_a_failing_read_keeps_the_flags_in_force_and_waits_before_trying_again() -> None:
    stored, clock, board = Overrides(), Clock(), FlagBoard(BLUEPRINT)
    token = [0]
    sync = FlagSync(board, stored, changes=lambda: token[0], clock=clock)  # type: ignore[arg-type]
    stored.store(True)
    await sync.refresh()
    stored.broken = True
    token[0] += 1
    await sync.refresh()
    await sync.refresh()
    assert (stored.reads, beta(board)) == (2, True)

    stored.broken = False
    stored.store(False)
    clock.now += RETRY_SECONDS + 0.1
    await sync.refresh()
    assert (stored.reads, beta(board)) == (3, False)
