"""One contract for every LoginThrottle adapter: in memory, and on a real Redis server.

Policies here use delays of tens of milliseconds so real sleeps stay short.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import redis.asyncio

from bastion.adapters.memory import MemoryLoginThrottle
from bastion.adapters.redis import RedisLoginThrottle, redis_from_url
from bastion.core.identity.throttling import ThrottlePolicy
from bastion.core.ports import LoginThrottle
from tcp_proxy import TcpProxy

POLICY = ThrottlePolicy(
    free_attempts=2,
    window=timedelta(seconds=5),
    base_delay=timedelta(milliseconds=100),
    max_delay=timedelta(milliseconds=400),
)
SLOW_LOCK = ThrottlePolicy(
    free_attempts=2,
    window=timedelta(seconds=5),
    base_delay=timedelta(seconds=2),
    max_delay=timedelta(seconds=2),
)
SHORT_WINDOW = ThrottlePolicy(
    free_attempts=2,
    window=timedelta(milliseconds=300),
    base_delay=timedelta(milliseconds=50),
    max_delay=timedelta(milliseconds=50),
)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def throttle(request: pytest.FixtureRequest) -> AsyncIterator[LoginThrottle]:
    """Each contract test runs on the memory adapter and on the Redis adapter."""
    adapter: LoginThrottle
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        prefix = request.getfixturevalue("redis_prefix")
        adapter = RedisLoginThrottle(redis_from_url(url), prefix=prefix)
    else:
        adapter = MemoryLoginThrottle()
    yield adapter
    await adapter.close()


async def fail(throttle: LoginThrottle, key: str, times: int, policy: ThrottlePolicy) -> float:
    lock = 0.0
    for _ in range(times):
        lock = await throttle.record_failure(key, policy)
    return lock


async def test_free_attempts_do_not_lock(throttle: LoginThrottle) -> None:
    assert await throttle.locked_for("account:ann") == 0.0
    assert await throttle.record_failure("account:ann", POLICY) == 0.0
    assert await throttle.record_failure("account:ann", POLICY) == 0.0
    assert await throttle.locked_for("account:ann") == 0.0


async def test_the_next_failure_locks_for_the_base_delay(throttle: LoginThrottle) -> None:
    assert await fail(throttle, "account:ann", 3, POLICY) == pytest.approx(0.1)
    assert 0.0 < await throttle.locked_for("account:ann") <= 0.1


async def test_locks_double_up_to_the_cap(throttle: LoginThrottle) -> None:
    await fail(throttle, "account:ann", 2, POLICY)
    locks = [await throttle.record_failure("account:ann", POLICY) for _ in range(5)]
    assert locks == pytest.approx([0.1, 0.2, 0.4, 0.4, 0.4], abs=0.002)
    assert 0.2 < await throttle.locked_for("account:ann") <= 0.4


async def test_a_lock_expires_by_itself(throttle: LoginThrottle) -> None:
    await fail(throttle, "account:ann", 3, POLICY)
    await asyncio.sleep(0.15)
    assert await throttle.locked_for("account:ann") == 0.0


async def test_reset_lifts_the_lock_and_forgets_the_failures(throttle: LoginThrottle) -> None:
    await fail(throttle, "account:ann", 4, POLICY)
    await throttle.reset("account:ann")
    assert await throttle.locked_for("account:ann") == 0.0
    assert await fail(throttle, "account:ann", 2, POLICY) == 0.0
    await throttle.reset("account:nobody")  # resetting an unknown key is harmless


async def test_keys_are_independent(throttle: LoginThrottle) -> None:
    await fail(throttle, "account:ann", 3, POLICY)
    assert await throttle.locked_for("account:bob") == 0.0
    assert await throttle.record_failure("account:bob", POLICY) == 0.0
    await throttle.reset("account:bob")
    assert await throttle.locked_for("account:ann") > 0.0


async def test_long_keys_are_distinct(throttle: LoginThrottle) -> None:
    first, second = "account:" + "a" * 500, "account:" + "a" * 499 + "b"
    await fail(throttle, first, 3, POLICY)
    assert await throttle.locked_for(first) > 0.0
    assert await throttle.locked_for(second) == 0.0


async def test_failures_are_forgotten_a_window_after_the_last_one(
    throttle: LoginThrottle,
) -> None:
    # Each failure comes within the window of the previous one: the count survives.
    for _ in range(2):
        assert await throttle.record_failure("account:ann", SHORT_WINDOW) == 0.0
        await asyncio.sleep(0.1)
    assert await throttle.record_failure("account:ann", SHORT_WINDOW) > 0.0
    # A full window without failures: the count starts again.
    await asyncio.sleep(0.35)
    assert await fail(throttle, "account:ann", 2, SHORT_WINDOW) == 0.0


# Redis specifics -----------------------------------------------------------------------


def through(proxy: TcpProxy, url: str) -> str:
    """``url`` with its host and port replaced by the proxy's."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@" if userinfo else ""
    return parts._replace(netloc=f"{netloc}127.0.0.1:{proxy.port}").geturl()


def proxy_to(url: str) -> TcpProxy:
    """A proxy in front of the server at ``url``."""
    parts = urlsplit(url)
    return TcpProxy(parts.hostname or "127.0.0.1", parts.port or 6379)


@pytest.fixture
async def direct(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    """A client straight to the test server, to look at what the adapter stored."""
    client = redis_from_url(redis_url)
    yield client
    await client.aclose()


@pytest.mark.redis
async def test_redis_keys_expire_and_stay_short(
    redis_url: str, redis_prefix: str, direct: redis.asyncio.Redis
) -> None:
    throttle = RedisLoginThrottle(redis_from_url(redis_url), prefix=redis_prefix)
    try:
        await fail(throttle, "account:ann", 3, POLICY)
        await fail(throttle, "account:" + "x" * 10_000, 1, POLICY)
    finally:
        await throttle.close()
    assert await direct.get(f"{redis_prefix}throttle:fail:account:ann") == b"3"
    assert 0 < await direct.pttl(f"{redis_prefix}throttle:fail:account:ann") <= 5000
    assert 0 < await direct.pttl(f"{redis_prefix}throttle:lock:account:ann") <= 100
    keys = [key async for key in direct.scan_iter(match=f"{redis_prefix}*")]
    assert len(keys) == 3
    assert max(len(key) for key in keys) < len(redis_prefix) + 100


@pytest.mark.redis
async def test_an_outage_falls_back_and_redis_is_used_again_when_it_answers(
    redis_url: str,
    redis_prefix: str,
    direct: redis.asyncio.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bastion.adapters.redis")
    async with proxy_to(redis_url) as proxy:
        throttle = RedisLoginThrottle(
            redis_from_url(through(proxy, redis_url)),
            prefix=redis_prefix,
            fallback=MemoryLoginThrottle(),
            retry_after=0.05,
        )
        try:
            await throttle.record_failure("account:ann", POLICY)
            assert await direct.exists(f"{redis_prefix}throttle:fail:account:ann") == 1

            await proxy.cut()
            for _ in range(3):
                await throttle.record_failure("account:bob", SLOW_LOCK)
                await asyncio.sleep(0.02)  # past retry_after at times: Redis is tried again
            assert await throttle.locked_for("account:bob") > 0.0
            await throttle.reset("account:ann")
            assert not await direct.exists(f"{redis_prefix}throttle:fail:account:bob")
            outage_logs = [r for r in caplog.records if "unreachable" in r.getMessage()]
            assert len(outage_logs) == 1
            assert not [r for r in caplog.records if "account:" in r.getMessage()]

            await proxy.restore()
            await asyncio.sleep(0.06)
            await throttle.record_failure("account:cid", POLICY)
            assert await direct.get(f"{redis_prefix}throttle:fail:account:cid") == b"1"
            assert any("answers again" in r.getMessage() for r in caplog.records)
            # The fallback's lock, imposed during the outage, still holds.
            assert await throttle.locked_for("account:bob") > 0.0
        finally:
            await throttle.close()


async def test_without_a_fallback_an_outage_throttles_nothing() -> None:
    # A cut proxy refuses every connection, as a server that is down would.
    async with proxy_to("redis://127.0.0.1:6379/0") as proxy:
        await proxy.cut()
        throttle = RedisLoginThrottle(
            redis_from_url(f"redis://127.0.0.1:{proxy.port}/0"), prefix="unused:"
        )
        try:
            assert await fail(throttle, "account:ann", 5, POLICY) == 0.0
            assert await throttle.locked_for("account:ann") == 0.0
            await throttle.reset("account:ann")
        finally:
            await throttle.close()
