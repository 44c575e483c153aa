"""Lifecycle hooks: Python code that runs inside a write's transaction.

A project's hooks module creates a :class:`Hooks` registry and decorates
functions; the blueprint names the module (``hooks: hooks.py``)::

    from bastion import Hooks, HookEvent, Rejected

    hooks = Hooks()

    @hooks.before_create("orders")
    async def number_the_order(event: HookEvent) -> None:
        # The id's last hex digits are random (its first ones are a timestamp).
        event.record["number"] = f"ORD-{event.record['id'].hex[-8:]}"

Before-hooks may change ``event.record`` (the change about to be written) or
raise :class:`~bastion.core.errors.Rejected`; after-hooks see a copy of the
stored record (changing it stores nothing: write through ``event.records``).
Both run in the same transaction as the change, so anything they write
through ``event.records`` commits or rolls back with it.

``event.flags`` answers the blueprint's feature flags for the caller::

    @hooks.before_create("orders")
    async def choose_the_flow(event: HookEvent) -> None:
        if event.flags.enabled("express_checkout"):
            event.record["flow"] = "express"
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from bastion.core.context import RequestContext
from bastion.core.flags.board import CallerFlags, FlagBoard

if TYPE_CHECKING:
    from bastion.core.records import TransactionRecords

__all__ = ["ConsumerSpec", "HookEvent", "HookFunction", "HookMoment", "Hooks"]

HookMoment = Literal[
    "before_create",
    "after_create",
    "before_update",
    "after_update",
    "before_delete",
    "after_delete",
]
HOOK_MOMENTS: tuple[HookMoment, ...] = (
    "before_create",
    "after_create",
    "before_update",
    "after_update",
    "before_delete",
    "after_delete",
)


@dataclass(slots=True)
class HookEvent:
    """What a hook receives."""

    resource: str
    """The resource being changed."""
    moment: HookMoment
    record: dict[str, Any]
    """The record as it will be (before-hooks may change it) or as stored (after-hooks).
    For deletes, the record being deleted."""
    previous: dict[str, Any] | None
    """The stored record before an update or delete; ``None`` on create."""
    context: RequestContext
    """Who asked, and the request's ids."""
    records: TransactionRecords
    """Read and write other records in the same transaction."""

    @property
    def flags(self) -> CallerFlags:
        """The feature flags as they apply to the caller (``event.flags.enabled("x")``,
        ``event.flags.value("theme")``): the worker's current values, overrides included."""
        service = self.records.service
        if service.access is not None:
            return service.access.flags.caller(self.context)
        # A service without access rules (scripts, tests): the blueprint's flags as declared.
        return FlagBoard(service.blueprint).caller(self.context)


HookFunction = Callable[[HookEvent], Awaitable[None] | None]
F = TypeVar("F", bound=HookFunction)
ConsumerFunction = Callable[[Any], Awaitable[None]]
C = TypeVar("C", bound=ConsumerFunction)


@dataclass(frozen=True, slots=True)
class ConsumerSpec:
    """An in-app consumer: which event types it handles, under which stable name."""

    name: str
    """Its processed events and dead letters are kept under this name: renaming a
    consumer makes it a new one, which sees only events published from then on."""
    event_types: tuple[str, ...]
    function: ConsumerFunction


class Hooks:
    """A registry of hook functions by (moment, resource)."""

    def __init__(self) -> None:
        self._hooks: dict[tuple[HookMoment, str], list[HookFunction]] = {}
        self.consumers: dict[str, ConsumerSpec] = {}
        """In-app event consumers by name (see :meth:`consumer`)."""

    def consumer(self, *event_types: str, name: str | None = None) -> Callable[[C], C]:
        """Handle published events of ``event_types`` (``orders.created``, ``orders.*``,
        ``*.deleted``, ``*``), outside the request, at least once.

        The function gets a :class:`~bastion.core.events.consumers.ConsumedEvent`; what
        it writes through ``event.records`` commits with the note that the event was
        processed, so a redelivered event is skipped. A failure is retried with
        exponential backoff and jitter, then dead-lettered (``bastion events dead-letters``).
        ``name`` (default: ``<file stem>.<function>``, e.g. ``hooks.count_sales``) keys its
        processed events and dead letters: keep it when moving the function::

            @hooks.consumer("orders.created")
            async def count_sales(event: ConsumedEvent) -> None:
                ...
        """
        if not event_types:
            raise ValueError("name the event types to consume, e.g. consumer('orders.created')")

        def register(function: C) -> C:
            # The default must not depend on the module's import name (a project's hooks
            # module is loaded under a generated one): its file and function name.
            source = Path(function.__code__.co_filename).stem
            consumer_name = name or f"{source}.{function.__qualname__}"
            self.consumers[consumer_name] = ConsumerSpec(consumer_name, event_types, function)
            return function

        return register

    def on(self, moment: HookMoment, resource: str) -> Callable[[F], F]:
        """Register the decorated function for ``moment`` on ``resource``."""
        if moment not in HOOK_MOMENTS:
            raise ValueError(
                f"unknown hook moment {moment!r}; use one of {', '.join(HOOK_MOMENTS)}"
            )

        def register(function: F) -> F:
            self._hooks.setdefault((moment, resource), []).append(function)
            return function

        return register

    def before_create(self, resource: str) -> Callable[[F], F]:
        """Runs before a record of ``resource`` is inserted; may change or reject it."""
        return self.on("before_create", resource)

    def after_create(self, resource: str) -> Callable[[F], F]:
        """Runs after the insert, in the same transaction."""
        return self.on("after_create", resource)

    def before_update(self, resource: str) -> Callable[[F], F]:
        """Runs before an update is written; may change or reject it."""
        return self.on("before_update", resource)

    def after_update(self, resource: str) -> Callable[[F], F]:
        """Runs after the update, in the same transaction."""
        return self.on("after_update", resource)

    def before_delete(self, resource: str) -> Callable[[F], F]:
        """Runs before a delete (and before its cascades); may reject it."""
        return self.on("before_delete", resource)

    def after_delete(self, resource: str) -> Callable[[F], F]:
        """Runs after the delete, in the same transaction."""
        return self.on("after_delete", resource)

    def copy(self) -> Hooks:
        """A new registry holding the same hooks (adding to it leaves this one as it is)."""
        copy = Hooks()
        copy._hooks = {key: list(functions) for key, functions in self._hooks.items()}
        copy.consumers = dict(self.consumers)
        return copy

    def has(self, moment: HookMoment, resource: str) -> bool:
        """Whether any hook is registered for ``moment`` on ``resource``."""
        return (moment, resource) in self._hooks

    def resources(self) -> set[str]:
        """Every resource some hook is registered for."""
        return {resource for _, resource in self._hooks}

    async def run(self, event: HookEvent) -> None:
        """Run every hook for the event's moment and resource, in registration order."""
        for function in self._hooks.get((event.moment, event.resource), ()):
            result = function(event)
            if inspect.isawaitable(result):
                await result
