"""Argon2id password hashing: round trip, refusals that never raise, rehash, the pool."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import argon2
import pytest

from bastion.adapters.identity import Argon2Hasher
from bastion.adapters.identity.passwords import MAX_PASSWORD_LENGTH
from bastion.core.ports import PasswordHasher

# Cheap parameters: these tests check behaviour, not cost.
CHEAP = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}


@pytest.fixture
def hasher() -> Iterator[Argon2Hasher]:
    hasher = Argon2Hasher(**CHEAP, max_concurrency=2)
    yield hasher
    hasher.close()


async def test_a_hashed_password_verifies(hasher: Argon2Hasher) -> None:
    stored = await hasher.hash("correct horse battery staple")
    assert stored.startswith("$argon2id$")
    assert await hasher.verify(stored, "correct horse battery staple")


async def test_the_same_password_hashes_differently_each_time(hasher: Argon2Hasher) -> None:
    assert await hasher.hash("pw") != await hasher.hash("pw")


async def test_a_wrong_password_does_not_verify(hasher: Argon2Hasher) -> None:
    stored = await hasher.hash("correct horse battery staple")
    assert not await hasher.verify(stored, "Correct horse battery staple")


@pytest.mark.parametrize("stored", ["", "not a hash", "$argon2id$v=19$m=1024,t=1,p=1$bad", "$2b$"])
async def test_a_malformed_hash_does_not_verify(hasher: Argon2Hasher, stored: str) -> None:
    assert not await hasher.verify(stored, "anything")


async def test_a_password_with_a_lone_surrogate_does_not_verify(hasher: Argon2Hasher) -> None:
    stored = await hasher.hash("x")
    assert not await hasher.verify(stored, "\ud800")


async def test_an_overlong_password_is_refused(hasher: Argon2Hasher) -> None:
    long = "a" * (MAX_PASSWORD_LENGTH + 1)
    stored = await hasher.hash("a" * MAX_PASSWORD_LENGTH)
    assert await hasher.verify(stored, "a" * MAX_PASSWORD_LENGTH)
    assert not await hasher.verify(stored, long)
    with pytest.raises(ValueError, match="at most"):
        await hasher.hash(long)


async def test_a_hash_made_with_other_parameters_needs_rehash(hasher: Argon2Hasher) -> None:
    stored = await hasher.hash("pw")
    assert not hasher.needs_rehash(stored)
    stronger = Argon2Hasher(time_cost=2, memory_cost=1024, parallelism=1)
    try:
        assert stronger.needs_rehash(stored)
        assert await stronger.verify(stored, "pw")
    finally:
        stronger.close()


def test_an_unreadable_hash_needs_rehash(hasher: Argon2Hasher) -> None:
    assert hasher.needs_rehash("$2b$12$legacybcrypthash")


async def test_the_dummy_verify_uses_a_hash_of_the_same_cost(
    hasher: Argon2Hasher, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str] = []
    real_verify = argon2.PasswordHasher.verify

    def spy(self: argon2.PasswordHasher, hash: str, password: str) -> bool:
        checked.append(hash)
        return real_verify(self, hash, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", spy)
    await hasher.verify_dummy("guess")
    await hasher.verify_dummy("another guess")
    first, second = checked
    assert first == second  # computed once
    assert argon2.extract_parameters(first) == argon2.extract_parameters(await hasher.hash("x"))


async def test_hashing_runs_off_the_event_loop_in_the_bounded_pool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hasher = Argon2Hasher(**CHEAP, max_concurrency=2)
    running = 0
    peak = 0
    threads: set[str] = set()
    lock = threading.Lock()
    real_hash = argon2.PasswordHasher.hash

    def spy(self: argon2.PasswordHasher, password: str | bytes, **kwargs: object) -> str:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
            threads.add(threading.current_thread().name)
        try:
            threading.Event().wait(0.02)
            return real_hash(self, password)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(argon2.PasswordHasher, "hash", spy)
    try:
        await asyncio.gather(*(hasher.hash(f"pw{i}") for i in range(8)))
    finally:
        hasher.close()
    assert peak == 2
    assert all(name.startswith("bastion-argon2") for name in threads)


def test_the_hasher_is_a_password_hasher(hasher: Argon2Hasher) -> None:
    port: PasswordHasher = hasher
    assert port is hasher


def test_a_pool_needs_at_least_one_thread() -> None:
    with pytest.raises(ValueError, match="max_concurrency"):
        Argon2Hasher(max_concurrency=0)


async def test_a_closed_hasher_works_again_when_the_application_restarts(
    hasher: Argon2Hasher,
) -> None:
    stored = await hasher.hash("first start")
    hasher.close()

    assert await hasher.verify(stored, "first start")
    assert await hasher.verify(await hasher.hash("second start"), "second start")
