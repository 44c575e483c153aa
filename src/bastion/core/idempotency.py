"""Idempotency keys: a write runs at most once per key, and a retry gets its first answer.

The key's record is read and written in the command's own unit of work, so
the change and the record of its outcome commit together, or neither does:

1. claim the key (``UnitOfWork.idempotency_lock``): on PostgreSQL a
   transaction-scoped advisory lock; if another transaction holds it, the
   first request is still running and this one fails with
   :class:`~bastion.core.errors.IdempotencyInFlight`. On SQLite every write
   transaction already holds the database's write lock, so a duplicate waits
   for the first to commit and then replays it;
2. look the key up: a live record for the same endpoint and body is replayed;
   for another endpoint or body it is :class:`~bastion.core.errors.IdempotencyKeyReused`;
   an expired record counts as absent;
3. run the command, have the API layer render its response, store both.

A command that fails stores nothing (its transaction rolls back), so the key
stays free and the caller may retry it, with the same body or a corrected one.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from bastion.core.batch import insert_batch
from bastion.core.context import RequestContext
from bastion.core.errors import IdempotencyInFlight, IdempotencyKeyReused
from bastion.core.ports import IdempotencyRecord, Row, StoredResponse
from bastion.core.records import RecordService, TransactionRecords

__all__ = [
    "IdempotencyPolicy",
    "IdempotentOutcome",
    "IdempotentRecords",
    "IdempotentRequest",
    "caller_scope",
]

_T = TypeVar("_T")


def caller_scope(ctx: RequestContext) -> str:
    """Whose keys these are: the actor (within its tenant); anonymous callers share one scope.

    Example::

        caller_scope(RequestContext(actor="u1"))  # "actor:u1"
        caller_scope(RequestContext())            # "anonymous"
    """
    who = "anonymous" if ctx.actor is None else f"actor:{ctx.actor}"
    return who if ctx.tenant is None else f"tenant:{ctx.tenant}/{who}"


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    """A request that carries an idempotency key, fingerprinted by the API layer."""

    scope: str
    """The caller's scope, from :func:`caller_scope`."""
    key: str
    """The key the caller sent."""
    endpoint: str
    """The operation, e.g. ``POST /v1/orders``: a key used for another one is refused."""
    request_hash: str
    """A hash of the body: a key sent again with another body is refused."""

    @classmethod
    def for_caller(
        cls, ctx: RequestContext, *, key: str, endpoint: str, request_hash: str
    ) -> IdempotentRequest:
        """The request of the caller ``ctx`` describes."""
        return cls(caller_scope(ctx), key, endpoint, request_hash)


@dataclass(frozen=True, slots=True)
class IdempotentOutcome:
    """What to answer: the first response, fresh or replayed."""

    response: StoredResponse
    replayed: bool
    """Whether an earlier request with the key produced it."""


@dataclass(frozen=True, slots=True)
class IdempotencyPolicy:
    """How long keys live and how expired ones are cleared away."""

    ttl: timedelta = timedelta(days=1)
    """How long a used key replays its response; then it is forgotten."""
    purge_every: int = 16
    """Every this many keyed writes (per process), one also deletes expired records."""
    purge_limit: int = 100
    """The most expired records one write deletes, to keep it cheap."""


class IdempotentRecords:
    """Record commands guarded by an idempotency key (what ``Idempotency-Key`` calls).

    Example::

        outcome = await IdempotentRecords(records=service).create(
            "orders", body, ctx=ctx, request=request, render=render_201
        )
    """

    def __init__(self, *, records: RecordService, policy: IdempotencyPolicy | None = None) -> None:
        self._records = records
        self._policy = policy or IdempotencyPolicy()
        self._writes = itertools.count(1)

    async def create(
        self,
        resource: str,
        body: Any,
        *,
        ctx: RequestContext,
        request: IdempotentRequest,
        render: Callable[[Row], StoredResponse],
    ) -> IdempotentOutcome:
        """:meth:`RecordService.create` once per key; ``render`` turns the record into
        the response that is stored and replayed."""
        # The same access checks as an unkeyed create: a key never widens what a caller may do.
        caller, values = self._records.permitted_create(resource, body, ctx=ctx)

        async def write(records: TransactionRecords) -> Row:
            return self._records.shown(
                resource, await records.insert_values(resource, values), caller
            )

        return await self._run(request, ctx, write, render)

    async def create_many(
        self,
        resource: str,
        bodies: Sequence[Any],
        *,
        ctx: RequestContext,
        request: IdempotentRequest,
        render: Callable[[list[Row]], StoredResponse],
        pointer: str = "",
    ) -> IdempotentOutcome:
        """:meth:`RecordService.create_many` once per key."""
        caller, values = self._records.permitted_create_many(
            resource, bodies, ctx=ctx, pointer=pointer
        )

        async def write(records: TransactionRecords) -> list[Row]:
            rows = await insert_batch(records, resource, values, pointer=pointer)
            return [self._records.shown(resource, row, caller) for row in rows]

        return await self._run(request, ctx, write, render)

    async def _run(
        self,
        request: IdempotentRequest,
        ctx: RequestContext,
        write: Callable[[TransactionRecords], Awaitable[_T]],
        render: Callable[[_T], StoredResponse],
    ) -> IdempotentOutcome:
        async with self._records.store.unit_of_work() as uow:
            if not await uow.idempotency_lock(request.scope, request.key):
                raise IdempotencyInFlight(
                    "a request with this idempotency key is still being processed; "
                    "retry shortly to get its response"
                )
            now = self._records.clock()
            stored = await uow.idempotency_get(request.scope, request.key)
            if stored is not None and stored.expires_at > now:
                _require_same_request(stored, request)
                return IdempotentOutcome(stored.response, replayed=True)
            response = render(await write(TransactionRecords(self._records, uow, ctx)))
            await uow.idempotency_put(
                IdempotencyRecord(
                    scope=request.scope,
                    key=request.key,
                    endpoint=request.endpoint,
                    request_hash=request.request_hash,
                    response=response,
                    created_at=now,
                    expires_at=now + self._policy.ttl,
                )
            )
            if next(self._writes) % self._policy.purge_every == 0:
                await uow.idempotency_purge(now=now, limit=self._policy.purge_limit)
        return IdempotentOutcome(response, replayed=False)


def _require_same_request(stored: IdempotencyRecord, request: IdempotentRequest) -> None:
    if stored.endpoint != request.endpoint:
        raise IdempotencyKeyReused(
            f"this idempotency key was used for {stored.endpoint}, not {request.endpoint}; "
            "send a new key with every new request"
        )
    if stored.request_hash != request.request_hash:
        raise IdempotencyKeyReused(
            "this idempotency key was used with a different body; a retry must send "
            "the same body, and a new request needs a new key"
        )
