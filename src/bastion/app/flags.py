"""Wiring the feature flags: the worker's board, its refresh, the admin routes and the
OpenFeature provider.

=====================  ===============================================
served store           a change made by another worker applies here
=====================  ===============================================
behind the read cache  at this worker's next request (the cache's own
                       invalidation: Redis pub/sub, SQLite data_version)
PostgreSQL, no Redis   within ``BASTION_FLAGS_REFRESH_SECONDS``
=====================  ===============================================

On start the application registers its :class:`~bastion.ops.flags.BastionProvider`
with OpenFeature twice: as the default provider (``api.get_client()``) and
under the blueprint's name as domain (``api.get_client(blueprint.name)``).
OpenFeature's registry is one per process: with several applications in
one process (tests, several services mounted together), the default is the
one started last; name the domain, or use ``event.flags`` in hooks, which
always answers from the hook's own application.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from bastion.api.rest.flags import flag_routes
from bastion.blueprint import Blueprint
from bastion.blueprint.identity import FLAGS
from bastion.core.caching import CachingStore
from bastion.core.flags import FlagBoard, FlagSync
from bastion.core.flags.admin import FlagAdmin
from bastion.core.ports import Store
from bastion.core.records import RecordService
from bastion.ops.flag_refresh import FlagRefresh
from bastion.settings import Settings

if TYPE_CHECKING:
    from bastion.ops.flags import BastionProvider

__all__ = ["FlagsWiring", "build_flags"]


@dataclass
class FlagsWiring:
    """The feature flags of one application.

    Attributes:
        board: the worker's flags (what access rules and hooks evaluate).
        sync: refreshes ``board`` from the stored overrides.
        admin: the admin operations behind ``/v1/admin/flags``.
        provider: the OpenFeature provider answering from ``board``.
        domain: the OpenFeature domain the provider is registered under.
        routes: ``/v1/admin/flags`` and below.
        middleware: refreshes the flags before each request (none without flags).
    """

    board: FlagBoard
    sync: FlagSync
    admin: FlagAdmin
    domain: str
    routes: list[BaseRoute] = field(default_factory=list)
    middleware: list[Middleware] = field(default_factory=list)
    provider: BastionProvider | None = None
    """Registered with OpenFeature while the application runs, when it declares flags
    (without flags, the OpenFeature SDK is not even imported: a worker's memory)."""

    async def start(self) -> None:
        """Read the overrides (the declared flags stay if the database is down) and
        register the provider with OpenFeature."""
        await self.sync.refresh(force=True)
        if not self.board.declared:
            return
        from openfeature import api

        from bastion.ops.flags import BastionProvider

        self.provider = BastionProvider(self.board, name=f"bastion:{self.domain}")
        api.set_provider_and_wait(self.provider)
        api.set_provider_and_wait(self.provider, self.domain)

    async def stop(self) -> None:
        """Unregister the provider (where another application has not replaced it)."""
        if self.provider is None:
            return
        from openfeature import api
        from openfeature.provider.no_op_provider import NoOpProvider

        for domain in (None, self.domain):
            if api.get_client(domain).provider is self.provider:
                if domain is None:
                    api.set_provider_and_wait(NoOpProvider())
                else:
                    api.set_provider_and_wait(NoOpProvider(), domain)

    async def refresh(self) -> None:
        """Read the overrides now (for work outside requests, e.g. a background job)."""
        await self.sync.refresh(force=True)


def build_flags(
    settings: Settings, blueprint: Blueprint, service: RecordService, store: Store
) -> FlagsWiring:
    """The flags of ``blueprint`` (served with identity), on ``service`` and ``store``.

    The board is the one ``service``'s access rules evaluate (a new one when the
    service enforces no access rules).
    """
    board = service.access.flags if service.access is not None else FlagBoard(blueprint)
    changes = _cache_generation(store) if isinstance(store, CachingStore) else None
    sync = FlagSync(board, store, interval=settings.flags_refresh_seconds, changes=changes)
    admin = FlagAdmin(service, board, sync)
    middleware = [Middleware(FlagRefresh, sync=sync)] if board.declared else []
    return FlagsWiring(
        board=board,
        sync=sync,
        admin=admin,
        domain=blueprint.name,
        routes=flag_routes(admin),
        middleware=middleware,
    )


def _cache_generation(store: CachingStore) -> Callable[[], Hashable | None]:
    """The read cache's generation of ``bastion_flags``: it moves whenever this worker,
    or another that the cache hears of, commits to it (``None`` while the cache cannot
    vouch for itself, e.g. Redis is unreachable)."""
    cache = store.cache

    def generation() -> Hashable | None:
        cache.begin_read()  # catch up with the feed (SQLite: data_version)
        if not cache.caches(FLAGS):
            return None
        return cache.generation(FLAGS)

    return generation
