"""Property: every value a field accepts comes back from the database exactly as stored.

Runs through the real SQL store (codecs, compiled statements, driver) on
SQLite and PostgreSQL, with values drawn by hypothesis across each type's range.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bastion.adapters.sql.store import SqlStore
from bastion.blueprint import (
    Blueprint,
    BooleanField,
    DateField,
    DateTimeField,
    DecimalField,
    EnumField,
    FloatField,
    IntegerField,
    JsonField,
    Resource,
    StringField,
    TextField,
    UuidField,
)
from bastion.core import new_id
from schema_support import create_schema

BLUEPRINT = Blueprint(
    resources={
        "samples": Resource(
            fields={
                "label": StringField(max_length=40),
                "body": TextField(),
                "count": IntegerField(),
                "ratio": FloatField(),
                "amount": DecimalField(precision=18, scale=4),
                "flag": BooleanField(),
                "day": DateField(),
                "moment": DateTimeField(),
                "ref": UuidField(),
                "kind": EnumField(values=["a", "b", "c"]),
                "doc": JsonField(),
            }
        )
    }
)

# PostgreSQL text cannot hold NUL; JSON numbers are limited to what both databases keep exactly.
_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)
_moments = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)
_records = st.fixed_dictionaries(
    {
        "label": st.none() | _text.filter(lambda s: len(s) <= 40),
        "body": st.none() | _text,
        "count": st.none() | st.integers(-(2**63), 2**63 - 1),
        "ratio": st.none() | st.floats(allow_nan=False, allow_infinity=False),
        "amount": st.none()
        | st.decimals(
            min_value=Decimal("-99999999999999.9999"),
            max_value=Decimal("99999999999999.9999"),
            places=4,
            allow_nan=False,
            allow_infinity=False,
        ),
        "flag": st.none() | st.booleans(),
        "day": st.none() | st.dates(min_value=date(1, 1, 1)),
        "moment": st.none() | _moments,
        "ref": st.none() | st.uuids(),
        "kind": st.none() | st.sampled_from(["a", "b", "c"]),
        "doc": _json,
    }
)


async def _store_and_read(url: str, values: dict[str, Any]) -> tuple[dict[str, Any], UUID]:
    store = SqlStore(url=url, blueprint=BLUEPRINT)
    await store.start()
    try:
        now = datetime.now(UTC)
        record_id = new_id()
        row = {"id": record_id, "created_at": now, "updated_at": now, "version": 1, **values}
        async with store.unit_of_work() as uow:
            await uow.insert("samples", row)
        async with store.unit_of_work(read_only=True) as uow:
            stored = await uow.fetch("samples", record_id)
        assert stored is not None
        return stored, record_id
    finally:
        await store.close()


@pytest.fixture
def samples_url(database_url: str) -> str:
    asyncio.run(create_schema(BLUEPRINT, database_url))
    return database_url


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=_records)
def test_every_field_value_round_trips_exactly(samples_url: str, values: dict[str, Any]) -> None:
    stored, record_id = asyncio.run(_store_and_read(samples_url, values))
    assert stored["id"] == record_id
    assert type(stored["id"]) is UUID
    for name, value in values.items():
        assert stored[name] == value, name
    if values["amount"] is not None:
        assert str(stored["amount"]) == str(values["amount"].quantize(Decimal("0.0001")))
    if values["moment"] is not None:
        assert stored["moment"].utcoffset() == timedelta(0)
