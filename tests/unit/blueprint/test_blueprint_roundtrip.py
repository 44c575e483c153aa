"""Any valid blueprint survives a trip through YAML: what Bastion writes, it reads back."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.blueprint import (
    QUERY_PARAMETERS,
    SYSTEM_FIELDS,
    BelongsTo,
    Blueprint,
    BooleanField,
    DateField,
    DateTimeField,
    DecimalField,
    EmailField,
    EnumField,
    FloatField,
    Index,
    IntegerField,
    JsonField,
    OnDelete,
    Resource,
    StringField,
    TextField,
    UrlField,
    UuidField,
    parse_blueprint,
    validate_blueprint,
)

RESERVED = {*SYSTEM_FIELDS, *QUERY_PARAMETERS, "auth", "users", "tenants"}

names = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True).filter(
    lambda name: name not in RESERVED and not name.startswith("bastion_")
)
descriptions = st.none() | st.text(max_size=30)
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | finite_floats | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)


def ordered(low: Any, high: Any) -> tuple[Any, Any]:
    if low is not None and high is not None and low > high:
        return high, low
    return low, high


@st.composite
def string_fields(draw: st.DrawFn) -> StringField:
    max_length = draw(st.integers(1, 300))
    min_length = draw(st.integers(0, min(max_length, 10)))
    default = draw(st.none() | st.text(min_size=min_length, max_size=min(max_length, 20)))
    return StringField(max_length=max_length, min_length=min_length, default=default)


@st.composite
def integer_fields(draw: st.DrawFn) -> IntegerField:
    low, high = ordered(draw(st.none() | st.integers()), draw(st.none() | st.integers()))
    default = draw(st.none() | st.integers(min_value=low, max_value=high))
    return IntegerField(min=low, max=high, default=default)


@st.composite
def float_fields(draw: st.DrawFn) -> FloatField:
    low, high = ordered(draw(st.none() | finite_floats), draw(st.none() | finite_floats))
    default = draw(
        st.none() | st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)
    )
    return FloatField(min=low, max=high, default=default)


@st.composite
def decimal_fields(draw: st.DrawFn) -> DecimalField:
    precision = draw(st.integers(1, 18))
    scale = draw(st.integers(0, precision))
    largest = Decimal(10) ** (precision - scale) - Decimal(1).scaleb(-scale)
    default = draw(
        st.none() | st.decimals(min_value=-largest, max_value=largest, places=scale).map(str)
    )
    return DecimalField(precision=precision, scale=scale, default=default)


@st.composite
def enum_fields(draw: st.DrawFn) -> EnumField:
    values = draw(st.lists(st.text(min_size=1, max_size=10), min_size=1, max_size=5, unique=True))
    return EnumField(values=values, default=draw(st.none() | st.sampled_from(values)))


def field_specs(resource_names: list[str]) -> st.SearchStrategy[Any]:
    common = {"unique": st.booleans(), "description": descriptions}
    with_required = {**common, "required": st.booleans()}

    def options(field: Any, extra: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
        return st.fixed_dictionaries(extra).map(lambda chosen: field.model_copy(update=chosen))

    return st.one_of(
        string_fields().flatmap(lambda f: options(f, with_required)),
        st.builds(TextField, max_length=st.none() | st.integers(1, 10_000), **with_required),
        integer_fields().flatmap(lambda f: options(f, with_required)),
        float_fields().flatmap(lambda f: options(f, with_required)),
        decimal_fields().flatmap(lambda f: options(f, with_required)),
        st.builds(BooleanField, default=st.none() | st.booleans(), **with_required),
        st.builds(
            DateField, default=st.none() | st.dates().map(dt.date.isoformat), **with_required
        ),
        st.builds(
            DateTimeField,
            default=st.none() | st.datetimes(timezones=st.just(dt.UTC)).map(dt.datetime.isoformat),
            **with_required,
        ),
        st.builds(UuidField, default=st.none() | st.uuids().map(str), **with_required),
        enum_fields().flatmap(lambda f: options(f, with_required)),
        st.builds(EmailField, max_length=st.integers(3, 320), **with_required),
        st.builds(UrlField, max_length=st.integers(8, 4096), **with_required),
        st.builds(JsonField, default=json_values, **with_required),
        # Optional references only: required ones could form a cycle, which is refused.
        st.builds(
            BelongsTo,
            resource=st.sampled_from(resource_names),
            on_delete=st.sampled_from(OnDelete),
            owner=st.just(False),
            **common,
        ),
    )


@st.composite
def resources(draw: st.DrawFn, resource_names: list[str]) -> Resource:
    fields = draw(st.dictionaries(names, field_specs(resource_names), min_size=1, max_size=5))
    indexes = draw(
        st.lists(
            st.builds(
                Index,
                fields=st.lists(st.sampled_from(sorted(fields)), min_size=1, unique=True),
                unique=st.booleans(),
            ),
            max_size=2,
        )
    )
    return Resource(
        fields=fields,
        indexes=indexes,
        description=draw(descriptions),
        require_if_match=draw(st.booleans()),
    )


@st.composite
def blueprints(draw: st.DrawFn) -> Blueprint:
    resource_names = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    return Blueprint(
        name=draw(st.text(min_size=1, max_size=20)),
        description=draw(descriptions),
        resources={name: draw(resources(resource_names)) for name in resource_names},
    )


@settings(deadline=None)
@given(blueprints())
def test_any_valid_blueprint_round_trips_through_minimal_yaml(blueprint: Blueprint) -> None:
    validate_blueprint(blueprint)  # the strategy makes valid blueprints only
    text = yaml.safe_dump(blueprint.model_dump(mode="json", exclude_defaults=True), sort_keys=False)
    assert parse_blueprint(text) == blueprint
