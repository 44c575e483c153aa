"""Test support: a PostgreSQL login role of a test's own, for tests about privileges.

A pytest plugin (``conftest.py`` loads it): the ``runtime_url`` fixture is a URL
of the test's database that logs in as a new role with no privileges yet, the
role Bastion's server runs as once the owner has migrated and granted it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
import sqlalchemy as sa

__all__ = ["runtime_url", "with_user"]


def with_user(url: str, user: str) -> str:
    """``url`` logging in as ``user`` instead."""
    return sa.make_url(url).set(username=user).render_as_string(hide_password=False)


@pytest.fixture
async def runtime_url(postgres_url: str) -> AsyncIterator[str]:
    """The URL of a new login role (no privileges yet) on the test's database; the role
    is dropped afterwards."""
    role = f"bastion_test_runtime_{uuid.uuid4().hex[:12]}"
    owner = await asyncpg.connect(postgres_url)
    try:
        await owner.execute(f'CREATE ROLE "{role}" LOGIN')
        yield with_user(postgres_url, role)
    finally:
        # Its privileges in this database go first, or the role cannot be dropped.
        await owner.execute(f'DROP OWNED BY "{role}"')
        await owner.execute(f'DROP ROLE "{role}"')
        await owner.close()
