"""Blueprint checks of list options: searchable text only, no sorting json, page sizes."""

from __future__ import annotations

import pytest

from bastion.blueprint import (
    Blueprint,
    BlueprintInvalid,
    BlueprintProblem,
    DecimalField,
    EmailField,
    EnumField,
    IntegerField,
    JsonField,
    PageSize,
    Resource,
    StringField,
    TextField,
    UrlField,
    validate_blueprint,
)
from bastion.blueprint.model import AnyField


def _problems(resource: Resource) -> list[BlueprintProblem]:
    with pytest.raises(BlueprintInvalid) as caught:
        validate_blueprint(Blueprint(resources={"things": resource}))
    return caught.value.problems


@pytest.mark.parametrize(
    "field",
    [
        StringField(searchable=True, filterable=True, sortable=True),
        TextField(searchable=True),
        EmailField(searchable=True),
        UrlField(searchable=True),
        JsonField(filterable=True),
        DecimalField(precision=10, scale=2, filterable=True, sortable=True),
    ],
)
def test_list_options_on_fields_that_support_them_are_accepted(field: AnyField) -> None:
    validate_blueprint(Blueprint(resources={"things": Resource(fields={"value": field})}))


@pytest.mark.parametrize(
    ("field", "option", "words"),
    [
        (IntegerField(searchable=True), "searchable", "full-text search reads text"),
        (EnumField(values=["a"], searchable=True), "searchable", "enum fields cannot"),
        (JsonField(searchable=True), "searchable", "json fields cannot"),
        (JsonField(sortable=True), "sortable", "no agreed order"),
        (StringField(write_only=True, filterable=True), "filterable", "would reveal"),
        (StringField(write_only=True, sortable=True), "sortable", "would reveal"),
        (StringField(write_only=True, searchable=True), "searchable", "would reveal"),
    ],
)
def test_list_options_on_fields_that_cannot_support_them_are_refused(
    field: AnyField, option: str, words: str
) -> None:
    (problem,) = _problems(Resource(fields={"value": field}))
    assert problem.path == f"resources.things.fields.value.{option}"
    assert words in problem.message
    assert problem.hint


def test_a_default_page_size_above_the_maximum_is_refused() -> None:
    (problem,) = _problems(Resource(page_size=PageSize(default=50, max=20)))
    assert problem.path == "resources.things.page_size.default"
    assert "50 is more than page_size.max 20" in problem.message
    assert "default: 20" in problem.hint
