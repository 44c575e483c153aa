"""The in-memory login throttle stays bounded and drops what has expired."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bastion.adapters.memory import MemoryLoginThrottle
from bastion.core.identity.throttling import ThrottlePolicy

POLICY = ThrottlePolicy(
    free_attempts=0,
    window=timedelta(seconds=10),
    base_delay=timedelta(seconds=1),
    max_delay=timedelta(seconds=60),
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_flood_of_keys_evicts_the_oldest() -> None:
    throttle = MemoryLoginThrottle(max_keys=3)
    for name in ("a", "b", "c", "d"):
        await throttle.record_failure(f"account:{name}", POLICY)
    assert len(throttle) == 3
    assert await throttle.locked_for("account:a") == 0.0
    assert await throttle.locked_for("account:d") > 0.0


async def test_a_new_failure_makes_a_key_the_newest() -> None:
    throttle = MemoryLoginThrottle(max_keys=2)
    await throttle.record_failure("account:a", POLICY)
    await throttle.record_failure("account:b", POLICY)
    await throttle.record_failure("account:a", POLICY)
    await throttle.record_failure("account:c", POLICY)
    assert await throttle.locked_for("account:a") > 0.0
    assert await throttle.locked_for("account:b") == 0.0


async def test_expired_entries_are_dropped() -> None:
    clock = Clock()
    throttle = MemoryLoginThrottle(clock=clock)
    await throttle.record_failure("account:a", POLICY)
    clock.now += 11
    await throttle.record_failure("account:b", POLICY)
    assert len(throttle) == 1
    assert await throttle.record_failure("account:a", POLICY) == 1.0


def test_max_keys_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_keys"):
        MemoryLoginThrottle(max_keys=0)
