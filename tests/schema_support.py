"""Test support: create a blueprint's tables directly, for tests that are not about migrations."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import create_async_engine

from bastion.adapters.sql.schema import build_metadata
from bastion.adapters.sql.urls import parse_database_url
from bastion.blueprint import Blueprint, with_identity


async def create_schema(blueprint: Blueprint, url: str) -> None:
    """Create every table of ``blueprint`` in the database at ``url``, with the identity
    resources every application serves and Bastion's own tables."""
    parsed = parse_database_url(url)
    engine = create_async_engine(parsed.sqlalchemy_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(build_metadata(with_identity(blueprint), parsed.dialect).create_all)
    finally:
        await engine.dispose()
