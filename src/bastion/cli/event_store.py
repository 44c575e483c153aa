"""What the event commands share: the SQL store itself and the keys of personal data.

The event commands read Bastion's own tables (the log, the outbox, the
deliveries), none of which the read cache holds, and need the store's outbox
queries, so they use the plain SQL store rather than the cached one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bastion.adapters.sql.store import SqlStore
from bastion.app.identity import FernetSecretBox
from bastion.blueprint import Blueprint, with_identity
from bastion.cli.database import command_pool
from bastion.core.events.personal import SubjectKeys
from bastion.settings import Settings

__all__ = ["open_event_store", "subject_keys"]


@asynccontextmanager
async def open_event_store(settings: Settings, blueprint: Blueprint) -> AsyncIterator[SqlStore]:
    """The SQL store of ``blueprint`` (identity and event tables included), opened."""
    store = SqlStore(
        url=settings.database_url,
        blueprint=with_identity(blueprint),
        pool=command_pool(settings),
    )
    await store.start()
    try:
        yield store
    finally:
        await store.close()


def subject_keys(settings: Settings) -> SubjectKeys:
    """The keys of personal data in the log, unsealed with the server secret as the
    server's event wiring does."""
    return SubjectKeys(FernetSecretBox(settings.secret_key.get_secret_value()))
