"""Every query example in docs/api.md runs and answers what the page shows.

The page's blueprint and data table are loaded; each ``$ curl`` line of a
``console`` block is requested, and when the page shows the answer, the
answer must match it, ``"…"`` standing for any value (ids, timestamps,
cursors). Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from bastion.app import create_app
from bastion.blueprint import Blueprint, parse_blueprint
from bastion.settings import Settings
from schema_support import create_schema

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
_CURL = re.compile(r"^\$ curl -g '(?P<url>http://127\.0\.0\.1:8000(?P<path>[^']*))'$")
ANY = "…"


def _blueprint() -> Blueprint:
    text = DOC.read_text(encoding="utf-8")
    (first, *_) = re.findall(r"^```yaml\n(.*?)^```", text, re.M | re.S)
    return parse_blueprint(first, source="docs/api.md")


def _examples() -> list[tuple[str, Any]]:
    """(path, the answer shown or None) for every curl line of the page."""
    text = DOC.read_text(encoding="utf-8")
    examples: list[tuple[str, Any]] = []
    for block in re.findall(r"^```console\n(.*?)^```", text, re.M | re.S):
        lines = block.splitlines()
        for index, line in enumerate(lines):
            match = _CURL.match(line)
            if match is None:
                continue
            shown = lines[index + 1] if index + 1 < len(lines) else ""
            answer = orjson.loads(shown) if shown.startswith("{") else None
            examples.append((match["path"], answer))
    return examples


def _matches(shown: Any, actual: Any) -> bool:
    if shown == ANY:
        return actual is not None
    if isinstance(shown, dict):
        return (
            isinstance(actual, dict)
            and list(shown) == list(actual)
            and all(_matches(shown[key], actual[key]) for key in shown)
        )
    if isinstance(shown, list):
        return (
            isinstance(actual, list)
            and len(shown) == len(actual)
            and all(_matches(s, a) for s, a in zip(shown, actual, strict=True))
        )
    return bool(shown == actual)


async def _post(api: httpx.AsyncClient, resource: str, body: dict[str, Any]) -> str:
    response = await api.post(f"/v1/{resource}", json=body)
    assert response.status_code == 201, response.text
    record_id: str = response.json()["id"]
    return record_id


@pytest.fixture
async def docs_api(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    blueprint = _blueprint()
    await create_schema(blueprint, database_url)
    app = create_app(blueprint, settings=Settings(database_url=database_url))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as api:
        # The data table of the page, in its order.
        ada = await _post(
            api, "customers", {"name": "Ada", "email": "ada@example.com", "vip": True}
        )
        bob = await _post(api, "customers", {"name": "Bob", "email": "bob@example.com"})
        lamp = await _post(
            api,
            "orders",
            {
                "customer": ada,
                "status": "paid",
                "title": "Lamp",
                "total": "30.00",
                "placed_at": "2026-03-01T10:00:00Z",
                "meta": {"gift": True, "tags": ["home"]},
            },
        )
        for order in (
            {
                "customer": ada,
                "status": "shipped",
                "title": "Desk",
                "total": "249.90",
                "placed_at": "2026-03-02T09:30:00+01:00",
                "meta": {"gift": False},
            },
            {
                "customer": bob,
                "status": "paid",
                "title": "Chair",
                "total": "89.50",
                "placed_at": "2026-03-03T14:00:00Z",
            },
            {"customer": bob, "status": "pending", "title": "chair cushion", "total": "12.00"},
        ):
            await _post(api, "orders", order)
        await _post(api, "order_items", {"order": lamp, "sku": "LAMP-1", "quantity": 1})
        await _post(api, "order_items", {"order": lamp, "sku": "BULB-3", "quantity": 2})
        yield api
    await app.stop()


async def test_every_query_example_of_the_api_page_answers_as_shown(
    docs_api: httpx.AsyncClient,
) -> None:
    examples = _examples()
    assert len(examples) > 15
    for path, shown in examples:
        if "..." in path:
            continue  # an elided cursor
        response = await docs_api.get(path)
        body = response.json()
        if shown is None:
            assert response.status_code == 200, (path, response.text)
            continue
        assert response.status_code == shown.get("status", 200), (path, response.text)
        assert _matches(shown, body), (path, body)
