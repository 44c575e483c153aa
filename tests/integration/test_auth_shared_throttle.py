"""Sign-in throttling across workers, as docs/security.md ("Brute force") states it.

Each "worker" is an application of its own built by ``create_app`` on the same
database, as the server's worker processes are. ``create_app`` serves the
default account policy: 5 failures are free, the 6th locks the account for
1 second, so the 7th attempt, made at once, is the first ``429``.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import redis.asyncio

from bastion.adapters.redis import redis_from_url
from bastion.app import BastionApp, create_app
from bastion.blueprint import Blueprint
from bastion.core.identity.admin_parts import OPERATOR
from bastion.core.identity.throttling import ACCOUNT_POLICY
from bastion.settings import Settings
from schema_support import create_schema
from tcp_proxy import TcpProxy

PASSWORD = "correct horse battery staple"
WRONG = "not the password at all"
EMAIL = "ann@example.com"
BLUEPRINT = Blueprint.model_validate({"name": "throttled", "resources": {}})
FREE_FAILURES = ACCOUNT_POLICY.free_attempts


def settings_for(database_url: str, **extra: Any) -> Settings:
    return Settings(
        env="production",
        secret_key=secrets.token_urlsafe(36),
        database_url=database_url,
        argon2_time_cost=1,
        argon2_memory_kib=8192,
        **extra,
    )


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as exits:
        yield exits


async def start_workers(
    stack: AsyncExitStack, database_url: str, count: int = 2, **extra: Any
) -> list[httpx.AsyncClient]:
    """``count`` applications on one database (with Ann's account), and a client for each."""
    await create_schema(BLUEPRINT, database_url)
    clients = []
    for _ in range(count):
        app: BastionApp = create_app(BLUEPRINT, settings=settings_for(database_url, **extra))
        await app.start()
        stack.push_async_callback(app.stop)
        transport = httpx.ASGITransport(app=app)
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        await stack.enter_async_context(client)
        clients.append(client)
    admin = app.identity.identity.admin
    assert admin is not None
    await admin.create_user(OPERATOR, email=EMAIL, password=PASSWORD, email_verified=True)
    return clients


async def sign_in(client: httpx.AsyncClient, password: str) -> httpx.Response:
    return await client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": EMAIL, "password": password},
    )


async def fail(client: httpx.AsyncClient, times: int) -> None:
    for _ in range(times):
        refused = await sign_in(client, WRONG)
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"] == "invalid_grant"


def assert_locked(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) >= 1
    assert "access_token" not in response.text


def through(proxy: TcpProxy, url: str) -> str:
    """``url`` with its host and port replaced by the proxy's."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@" if userinfo else ""
    return parts._replace(netloc=f"{netloc}127.0.0.1:{proxy.port}").geturl()


@pytest.fixture
async def direct(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    """A client straight to the test server, to look at what the workers stored."""
    client = redis_from_url(redis_url)
    yield client
    await client.aclose()


@pytest.mark.redis
async def test_failures_on_one_worker_lock_the_account_on_another_through_redis(
    stack: AsyncExitStack,
    sqlite_url: str,
    redis_url: str,
    redis_prefix: str,
    direct: redis.asyncio.Redis,
) -> None:
    worker_a, worker_b = await start_workers(
        stack, sqlite_url, redis_url=redis_url, redis_prefix=redis_prefix
    )

    await fail(worker_a, FREE_FAILURES + 1)

    assert_locked(await sign_in(worker_b, WRONG))
    assert_locked(await sign_in(worker_b, PASSWORD))  # even the right password waits
    assert_locked(await sign_in(worker_a, PASSWORD))
    # The counts live under this application's prefix, and nowhere else.
    stored = [key async for key in direct.scan_iter(match=f"{redis_prefix}throttle:*")]
    assert f"{redis_prefix}throttle:lock:account:{EMAIL}".encode() in stored


@pytest.mark.redis
async def test_failures_split_between_workers_add_up_in_redis(
    stack: AsyncExitStack, sqlite_url: str, redis_url: str, redis_prefix: str
) -> None:
    worker_a, worker_b = await start_workers(
        stack, sqlite_url, redis_url=redis_url, redis_prefix=redis_prefix
    )

    await fail(worker_a, 3)
    await fail(worker_b, FREE_FAILURES + 1 - 3)

    assert_locked(await sign_in(worker_a, PASSWORD))


async def test_without_redis_each_worker_counts_its_own_failures_as_documented(
    stack: AsyncExitStack, sqlite_url: str
) -> None:
    worker_a, worker_b = await start_workers(stack, sqlite_url)

    await fail(worker_a, FREE_FAILURES + 1)

    assert_locked(await sign_in(worker_a, PASSWORD))
    # Worker B has seen no failure: it signs Ann in ("each worker counts on its own").
    assert (await sign_in(worker_b, PASSWORD)).status_code == 200
    await fail(worker_b, FREE_FAILURES + 1)
    assert_locked(await sign_in(worker_b, WRONG))


@pytest.mark.redis
async def test_sign_in_keeps_working_and_throttling_in_memory_while_redis_is_cut(
    stack: AsyncExitStack,
    sqlite_url: str,
    redis_url: str,
    redis_prefix: str,
    direct: redis.asyncio.Redis,
) -> None:
    proxy = TcpProxy(urlsplit(redis_url).hostname or "127.0.0.1", urlsplit(redis_url).port or 6379)
    await stack.enter_async_context(proxy)
    (worker,) = await start_workers(
        stack, sqlite_url, count=1, redis_url=through(proxy, redis_url), redis_prefix=redis_prefix
    )
    await fail(worker, 1)
    assert await direct.exists(f"{redis_prefix}throttle:fail:account:{EMAIL}") == 1
    assert (await sign_in(worker, PASSWORD)).status_code == 200

    await proxy.cut()

    signed_in = await sign_in(worker, PASSWORD)
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["token_type"] == "Bearer"
    me = await worker.get(
        "/v1/auth/me", headers={"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    )
    assert me.status_code == 200
    # Failures are still refused, not 500s, and the in-memory fallback still locks.
    await fail(worker, FREE_FAILURES + 1)
    assert_locked(await sign_in(worker, PASSWORD))
    # Nothing reached Redis during the cut: the sign-in above had reset Ann's count.
    assert await direct.exists(f"{redis_prefix}throttle:fail:account:{EMAIL}") == 0
