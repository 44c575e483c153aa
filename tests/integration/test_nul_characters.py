"""U+0000 in a value: a client error on every database (PostgreSQL cannot store it)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bastion.app import create_app
from bastion.blueprint import Blueprint
from bastion.settings import Settings
from schema_support import create_schema

BLUEPRINT = Blueprint.model_validate(
    {
        "name": "nul",
        "resources": {
            "notes": {
                "fields": {
                    "title": {"type": "string", "max_length": 40, "filterable": True},
                    "body": {"type": "text"},
                    "contact": {"type": "email"},
                    "extra": {"type": "json", "filterable": True},
                }
            }
        },
    }
)


@pytest.fixture
async def http(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    await create_schema(BLUEPRINT, database_url)
    app = create_app(BLUEPRINT, settings=Settings(database_url=database_url, env="development"))
    await app.start()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client
    await app.stop()


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"title": "a\u0000b"}, "/title"),
        ({"body": "\u0000"}, "/body"),
        ({"extra": {"list": ["ok", {"deep": "x\u0000"}]}}, "/extra"),
        ({"extra": {"key\u0000": 1}}, "/extra"),
    ],
)
async def test_nul_in_a_written_value_is_a_422_naming_the_field(
    http: httpx.AsyncClient, body: dict[str, object], pointer: str
) -> None:
    created = await http.post("/v1/notes", json={"title": "kept"})
    assert created.status_code == 201
    path = f"/v1/notes/{created.json()['id']}"
    for answer in (
        await http.post("/v1/notes", json=body),
        await http.patch(path, json=body, headers={"If-Match": created.headers["ETag"]}),
    ):
        assert answer.status_code == 422
        assert answer.headers["content-type"] == "application/problem+json"
        assert [e["pointer"] for e in answer.json()["errors"]] == [pointer]
        assert "U+0000" in answer.json()["errors"][0]["detail"]
    listed = (await http.get("/v1/notes")).json()["data"]
    assert [(n["title"], n["version"]) for n in listed] == [("kept", 1)]
    # A backslash followed by "u0000" is ordinary text.
    assert (await http.post("/v1/notes", json={"title": "C:\\u0000"})).status_code == 201


@pytest.mark.parametrize(
    "query",
    [
        "title=a%00b",
        "title[in]=x,a%00b",
        "title[gt]=%00",
        "title[like]=a%00*",
        'extra[contains]={"a":"\\u0000"}',
    ],
)
async def test_nul_in_a_filter_is_a_400_naming_the_parameter(
    http: httpx.AsyncClient, query: str
) -> None:
    answer = await http.get(f"/v1/notes?{query}")
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    assert "U+0000" in answer.json()["detail"]
