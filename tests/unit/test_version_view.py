"""API versions translate names between a version and the stored fields."""

from __future__ import annotations

from datetime import date

import pytest

from bastion.api.rest.versions import VersionView, version_views
from bastion.blueprint import ApiVersion, Blueprint, Resource, StringField, VersionChanges
from bastion.core import FieldError, InvalidInput

BLUEPRINT = Blueprint(
    resources={
        "customers": Resource(
            fields={"name": StringField(), "phone": StringField(), "email": StringField()}
        )
    },
    api_versions={
        "v2": ApiVersion(),
        "v1": ApiVersion(
            deprecated=date(2026, 6, 1),
            sunset=date(2027, 1, 1),
            resources={
                "customers": VersionChanges(renamed={"name": "full_name"}, hidden=["phone"])
            },
        ),
    },
)


def _v1() -> VersionView:
    return version_views(BLUEPRINT)[0]


def test_versions_are_served_oldest_first() -> None:
    assert [view.name for view in version_views(BLUEPRINT)] == ["v1", "v2"]
    assert [view.name for view in version_views(Blueprint())] == ["v1"]


def test_records_show_renamed_fields_and_hide_hidden_ones() -> None:
    stored = {"id": 1, "name": "Ada", "phone": "123", "email": "a@x.io"}
    assert _v1().record_out("customers", stored) == {"id": 1, "full_name": "Ada", "email": "a@x.io"}
    assert version_views(BLUEPRINT)[1].record_out("customers", stored) is stored


def test_bodies_use_the_version_names_and_refuse_hidden_or_stored_names() -> None:
    view = _v1()
    assert view.body_in("customers", {"full_name": "Ada"}) == {"name": "Ada"}
    with pytest.raises(InvalidInput) as refused:
        view.body_in("customers", {"phone": "1", "name": "Ada"})
    assert [e.pointer for e in refused.value.errors] == ["/phone", "/name"]


def test_query_field_names_translate_and_hidden_ones_do_not_exist() -> None:
    view = _v1()
    assert view.storage_name("customers", "full_name") == "name"
    assert view.storage_name("customers", "email") == "email"
    with pytest.raises(InvalidInput):
        view.storage_name("customers", "phone")


def test_error_pointers_use_the_version_names() -> None:
    error = InvalidInput("bad", errors=(FieldError("/name", "too long"),))
    assert _v1().error_out("customers", error).errors == (FieldError("/full_name", "too long"),)


def test_deprecated_versions_announce_deprecation_and_sunset() -> None:
    assert _v1().headers == {
        "Deprecation": "@1780272000",
        "Sunset": "Fri, 01 Jan 2027 00:00:00 GMT",
    }
    assert version_views(BLUEPRINT)[1].headers == {}
