"""Query specs: the total order, cursors bound to their query, averages' rounding."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

import pytest

from bastion.blueprint import DecimalField, FloatField, IntegerField
from bastion.core import Filter, InvalidQuery, QuerySpec, SortKey, decode_cursor, encode_cursor
from bastion.core.aggregation import mean
from bastion.core.query_rules import split_list

RECORD = {
    "id": UUID("01234567-89ab-7def-8123-456789abcdef"),
    "total": Decimal("10.50"),
    "placed_at": datetime(2026, 3, 1, 10, 0, tzinfo=UTC),
    "due": date(2026, 3, 5),
    "title": None,
}


def test_the_order_ends_with_id_in_the_direction_of_the_last_key() -> None:
    assert QuerySpec().order == (SortKey("id"),)
    spec = QuerySpec(sort=(SortKey("total"), SortKey("placed_at", descending=True)))
    assert spec.order[-1] == SortKey("id", descending=True)
    assert QuerySpec(sort=(SortKey("id", True), SortKey("total"))).order == (SortKey("id", True),)


def test_a_cursor_holds_typed_sort_values_and_the_id() -> None:
    spec = QuerySpec(
        sort=(SortKey("total", True), SortKey("placed_at"), SortKey("due"), SortKey("title")),
        filters=(Filter("status", "in", ("paid", "pending")),),
    )
    position = decode_cursor(encode_cursor("orders", spec, RECORD), "orders", spec)
    assert position.id == RECORD["id"]
    assert position.values == (Decimal("10.50"), RECORD["placed_at"], RECORD["due"], None)


def test_a_cursor_is_refused_for_another_resource_sort_filter_or_search() -> None:
    spec = QuerySpec(sort=(SortKey("total"),), filters=(Filter("total", "gt", Decimal(1)),))
    token = encode_cursor("orders", spec, RECORD)
    swapped = QuerySpec(sort=spec.sort, filters=(Filter("total", "gt", Decimal(2)),))
    for resource, other in [
        ("invoices", spec),
        ("orders", QuerySpec(sort=(SortKey("total", True),), filters=spec.filters)),
        ("orders", swapped),
        ("orders", QuerySpec(sort=spec.sort, filters=spec.filters, search="x")),
    ]:
        with pytest.raises(InvalidQuery) as caught:
            decode_cursor(token, resource, other)
        assert caught.value.errors[0].pointer == "cursor"


def test_the_order_of_filters_does_not_change_the_cursor_signature() -> None:
    a, b = Filter("total", "gt", Decimal(1)), Filter("status", "eq", "paid")
    token = encode_cursor("orders", QuerySpec(filters=(a, b)), RECORD)
    assert decode_cursor(token, "orders", QuerySpec(filters=(b, a), limit=99)).id == RECORD["id"]


@pytest.mark.parametrize("token", ["", "abc", "AgAAAAAAAAAA", "Ag" + "A" * 40])
def test_a_token_this_server_did_not_issue_is_refused(token: str) -> None:
    with pytest.raises(InvalidQuery):
        decode_cursor(token, "orders", QuerySpec())


def test_averages_round_half_even_to_the_scale_plus_four_places() -> None:
    money = DecimalField(precision=10, scale=2)
    assert mean(Decimal("10.00"), 3, money) == Decimal("3.333333")
    assert str(mean(Decimal("0.01"), 8, money)) == "0.001250"
    tiny = mean(Decimal("0.00000025"), 1, DecimalField(precision=10, scale=3))
    assert format(tiny, "f") == "0.0000002"
    assert mean(10, 4, IntegerField()) == 2.5
    assert mean(2**63 - 1, 1, IntegerField()) == float(2**63 - 1)
    assert mean(1.5, 2, FloatField()) == 0.75
    assert mean(None, 0, money) is None


def test_in_lists_split_on_unescaped_commas() -> None:
    assert split_list("a,b") == ["a", "b"]
    assert split_list(r"a\,b,c\\,d") == ["a,b", "c\\", "d"]
    assert split_list("") == [""]
    assert split_list(r"x\y") == [r"x\y"]
