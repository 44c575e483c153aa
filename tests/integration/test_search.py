"""Full-text search (``?q=``) on SQLite (FTS5) and PostgreSQL (tsvector), schema made by migrations.

Every test builds its schema the way a project does, by planning and
applying revisions, then talks to the REST API.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.ext.asyncio import create_async_engine

from bastion.adapters.sql.migrations import apply_migrations, migration_status, plan_migration
from bastion.adapters.sql.urls import parse_database_url
from bastion.app import create_app
from bastion.blueprint import Blueprint
from bastion.settings import Settings

BOOKS = """
resources:
  authors:
    fields:
      name: {type: string, max_length: 100, searchable: true}
  books:
    fields:
      title: {type: string, max_length: 200, required: true, searchable: true, sortable: true}
      summary: {type: text, searchable: true}
      isbn: {type: string, max_length: 20}
      year: {type: integer, filterable: true, sortable: true}
      author: {type: belongs_to, resource: authors}
"""

SAMPLES = [
    {"title": "The Old Man and the Sea", "summary": "A fisherman and a marlin.", "year": 1952},
    {"title": "Moby-Dick", "summary": "A whale, a captain, the sea.", "year": 1851},
    {"title": "ÉCOLE des femmes", "summary": "Une comédie de Molière.", "year": 1662},
    {"title": "Café society", "summary": "Talk over coffee.", "isbn": "sea-1", "year": 2001},
]


def blueprint(text: str) -> Blueprint:
    return Blueprint.model_validate(yaml.safe_load(text))


def dialect_of(url: str) -> str:
    return parse_database_url(url).dialect


@pytest.fixture
def migrations_dir(tmp_path: Path) -> Path:
    return tmp_path / "project" / "migrations"


async def migrate(bp: Blueprint, url: str, migrations_dir: Path) -> list[str]:
    """Plan and apply a revision bringing the database to ``bp``; the planned operations."""
    plan = await plan_migration(blueprint=bp, database_url=url, migrations_dir=migrations_dir)
    await apply_migrations(database_url=url, migrations_dir=migrations_dir)
    return plan.operations


async def assert_nothing_left(bp: Blueprint, url: str, migrations_dir: Path) -> None:
    again = await plan_migration(blueprint=bp, database_url=url, migrations_dir=migrations_dir)
    assert (again.operations, again.drift) == ([], [])
    status = await migration_status(blueprint=bp, database_url=url, migrations_dir=migrations_dir)
    assert (status.unplanned, status.drift) == ([], [])


@asynccontextmanager
async def api_for(bp: Blueprint, url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(bp, settings=Settings(database_url=url))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield client
    await app.stop()


async def post(api: httpx.AsyncClient, resource: str, body: dict[str, Any]) -> str:
    response = await api.post(f"/v1/{resource}", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def searcher(api: httpx.AsyncClient) -> Callable[..., Any]:
    async def titles(q: str, query: str = "") -> list[str]:
        response = await api.get("/v1/books", params={"q": q, "limit": "50"} | _params(query))
        assert response.status_code == 200, (q, response.text)
        return sorted(record["title"] for record in response.json()["data"])

    return titles


def _params(query: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in query.split("&") if part)


@pytest.fixture
async def books(database_url: str, migrations_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    bp = blueprint(BOOKS)
    await migrate(bp, database_url, migrations_dir)
    async with api_for(bp, database_url) as api:
        for sample in SAMPLES:
            await post(api, "books", sample)
        yield api


async def test_search_finds_records_by_any_searchable_field(
    books: httpx.AsyncClient,
) -> None:
    titles = searcher(books)

    assert await titles("marlin") == ["The Old Man and the Sea"]  # in the summary
    assert await titles("moby") == ["Moby-Dick"]  # in the title
    assert await titles("sea") == ["Moby-Dick", "The Old Man and the Sea"]


async def test_every_word_must_match_each_as_a_prefix_of_a_word(books: httpx.AsyncClient) -> None:
    titles = searcher(books)

    assert await titles("sea whale") == ["Moby-Dick"]
    assert await titles("sea   fish") == ["The Old Man and the Sea"]  # fish* -> fisherman
    assert await titles("sea comedy") == []
    assert await titles("ish") == []  # a word's middle is no prefix


async def test_case_is_folded_and_accents_on_sqlite_only(
    books: httpx.AsyncClient, database_url: str
) -> None:
    titles = searcher(books)

    assert await titles("école FEMMES") == ["ÉCOLE des femmes"]
    assert await titles("CAFÉ") == ["Café society"]
    # SQLite's unicode61 tokenizer removes diacritics; PostgreSQL's simple config keeps them.
    unaccented = ["ÉCOLE des femmes"] if dialect_of(database_url) == "sqlite" else []
    assert await titles("ecole") == unaccented


async def test_fields_not_declared_searchable_are_not_searched(books: httpx.AsyncClient) -> None:
    titles = searcher(books)

    assert await titles("sea") == ["Moby-Dick", "The Old Man and the Sea"]  # not isbn sea-1
    assert await titles("1952") == []  # year is not searchable


async def test_updates_and_deletes_keep_the_index_right(books: httpx.AsyncClient) -> None:
    titles = searcher(books)
    listed = (await books.get("/v1/books?q=moby")).json()["data"]
    moby = listed[0]

    response = await books.patch(
        f"/v1/books/{moby['id']}",
        json={"title": "Billy Budd"},
        headers={"If-Match": f'"{moby["version"]}"'},
    )
    assert response.status_code == 200, response.text
    assert await titles("moby") == []
    assert await titles("billy whale") == ["Billy Budd"]  # the summary stayed indexed

    old_man = (await books.get("/v1/books?q=marlin")).json()["data"][0]
    assert (await books.delete(f"/v1/books/{old_man['id']}")).status_code == 204
    assert await titles("sea") == ["Billy Budd"]


@pytest.mark.parametrize(
    "q",
    [
        '"',
        "'",
        '"sea',
        "sea OR whale",
        "sea -whale",
        "sea*",
        "summary:sea",
        "NEAR(sea whale)",
        "sea & !whale",
        "(sea | whale)",
        "sea:*",
        "\\",
        "a' OR '1'='1",
        "%_%",
    ],
)
async def test_query_syntax_in_q_is_plain_words(books: httpx.AsyncClient, q: str) -> None:
    response = await books.get("/v1/books", params={"q": q})

    assert response.status_code == 200, response.text
    found = {record["title"] for record in response.json()["data"]}
    # Operators are words to look for, or punctuation that matches nothing by itself.
    assert "Moby-Dick" not in found or "sea" in q


async def test_search_goes_with_filters_sort_and_cursor(books: httpx.AsyncClient) -> None:
    titles = searcher(books)
    assert await titles("sea", "year[gt]=1900") == ["The Old Man and the Sea"]

    first = await books.get("/v1/books", params={"q": "s", "sort": "-year", "limit": "2"})
    page = first.json()
    assert [r["year"] for r in page["data"]] == [2001, 1952]
    rest = await books.get(
        "/v1/books", params={"q": "s", "sort": "-year", "cursor": page["next_cursor"]}
    )
    assert [r["year"] for r in rest.json()["data"]] == [1851]
    count = await books.get("/v1/books", params={"q": "sea", "count": "exact"})
    assert count.json()["total"] == 2


async def test_making_a_populated_field_searchable_indexes_the_old_rows(
    database_url: str, migrations_dir: Path
) -> None:
    plain = blueprint(BOOKS.replace("searchable: true", "searchable: false"))
    await migrate(plain, database_url, migrations_dir)
    async with api_for(plain, database_url) as api:
        for sample in SAMPLES:
            await post(api, "books", sample)

    searchable = blueprint(BOOKS)
    operations = await migrate(searchable, database_url, migrations_dir)

    assert "create full-text search on books (title, summary)" in operations
    assert "create full-text search on authors (name)" in operations
    await assert_nothing_left(searchable, database_url, migrations_dir)
    async with api_for(searchable, database_url) as api:
        assert await searcher(api)("sea") == ["Moby-Dick", "The Old Man and the Sea"]


async def test_changing_and_removing_searchability_rebuilds_then_drops_the_index(
    database_url: str, migrations_dir: Path
) -> None:
    await migrate(blueprint(BOOKS), database_url, migrations_dir)
    async with api_for(blueprint(BOOKS), database_url) as api:
        for sample in SAMPLES:
            await post(api, "books", sample)

    # isbn joins the search, and the title widens (SQLite copies the table for it).
    wider = blueprint(
        BOOKS.replace(
            "isbn: {type: string, max_length: 20}", "isbn: {type: string, searchable: true}"
        ).replace("max_length: 200", "max_length: 300")
    )
    operations = await migrate(wider, database_url, migrations_dir)
    assert "change full-text search on books to (title, summary, isbn)" in operations
    await assert_nothing_left(wider, database_url, migrations_dir)
    async with api_for(wider, database_url) as api:
        titles = searcher(api)
        assert await titles("sea") == ["Café society", "Moby-Dick", "The Old Man and the Sea"]
        await post(api, "books", {"title": "Sea of Stories", "year": 1990})
        assert "Sea of Stories" in await titles("sea")

    # Only the authors' search goes: books keeps its own.
    no_authors = blueprint(
        BOOKS.replace(
            "name: {type: string, max_length: 100, searchable: true}", "name: {type: string}"
        )
        .replace("isbn: {type: string, max_length: 20}", "isbn: {type: string, searchable: true}")
        .replace("max_length: 200", "max_length: 300")
    )
    operations = await migrate(no_authors, database_url, migrations_dir)
    assert "drop full-text search on authors" in operations
    await assert_nothing_left(no_authors, database_url, migrations_dir)
    assert await search_objects(database_url, "authors") == set()
    assert await search_objects(database_url, "books") != set()


async def test_a_table_copied_by_sqlite_batch_mode_keeps_its_search(
    database_url: str, migrations_dir: Path
) -> None:
    await migrate(blueprint(BOOKS), database_url, migrations_dir)
    async with api_for(blueprint(BOOKS), database_url) as api:
        for sample in SAMPLES:
            await post(api, "books", sample)

    # Widening isbn copies the table on SQLite, dropping its triggers and renumbering rowids.
    altered = blueprint(BOOKS.replace("max_length: 20}", "max_length: 40}"))
    operations = await migrate(altered, database_url, migrations_dir)

    # The revision holds on both databases, whichever one planned it.
    assert "rebuild full-text search on books (SQLite only)" in operations
    assert "rebuild full-text search on books (PostgreSQL only)" not in operations
    await assert_nothing_left(altered, database_url, migrations_dir)
    async with api_for(altered, database_url) as api:
        titles = searcher(api)
        assert await titles("sea") == ["Moby-Dick", "The Old Man and the Sea"]
        await post(api, "books", {"title": "Sea of Stories", "year": 1990})
        assert "Sea of Stories" in await titles("sea")


async def search_objects(url: str, table: str) -> set[str]:
    """The search objects of ``table`` in the database."""
    parsed = parse_database_url(url)
    engine = create_async_engine(parsed.sqlalchemy_url)
    try:
        async with engine.connect() as connection:
            if parsed.dialect == "sqlite":
                sql = "SELECT name FROM sqlite_master WHERE name LIKE :pattern"
                params = {"pattern": f"bastion_search_{table}%"}
            else:
                sql = (
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = :table AND column_name = 'bastion_search'"
                )
                params = {"table": table}
            return {str(row[0]) for row in await connection.execute(sa.text(sql), params)}
    finally:
        await engine.dispose()


@pytest.mark.parametrize("planned_on", ["sqlite", "postgresql"])
async def test_search_revisions_planned_on_one_database_work_on_the_other(
    planned_on: str, sqlite_url: str, postgres_url: str, migrations_dir: Path
) -> None:
    urls = [sqlite_url, postgres_url] if planned_on == "sqlite" else [postgres_url, sqlite_url]
    steps = [
        blueprint(BOOKS.replace("searchable: true", "searchable: false")),
        blueprint(BOOKS),
        blueprint(BOOKS.replace("max_length: 200", "max_length: 250")),  # retyped searchable field
        blueprint(
            BOOKS.replace("max_length: 200", "max_length: 250").replace(
                "searchable: true", "searchable: false"
            )
        ),
    ]
    for position, step in enumerate(steps):
        plan = await plan_migration(
            blueprint=step, database_url=urls[0], migrations_dir=migrations_dir
        )
        assert plan.revision is not None
        for url in urls:
            await apply_migrations(database_url=url, migrations_dir=migrations_dir)
            await assert_nothing_left(step, url, migrations_dir)
            if position in (1, 2):
                async with api_for(step, url) as api:
                    await post(api, "books", SAMPLES[1])
                    assert "Moby-Dick" in await searcher(api)("whale")
    for url in urls:
        assert await search_objects(url, "books") == set()

    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff is not None, "ruff is a dev dependency: install with pip install -e '.[dev]'"
    config = ["--config", str(Path(__file__).parents[2] / "pyproject.toml")]
    versions = str(migrations_dir / "versions")
    for command in (["format", "--check"], ["check"]):
        done = await asyncio.to_thread(
            subprocess.run, [ruff, *command, *config, versions], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
