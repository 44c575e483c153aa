"""Checking a blueprint as a whole, as built in Python: problems carry a path and a fix."""

from __future__ import annotations

from typing import Any

import pytest

from bastion.blueprint import (
    BelongsTo,
    Blueprint,
    BlueprintInvalid,
    BlueprintProblem,
    BooleanField,
    DateField,
    DateTimeField,
    DecimalField,
    EmailField,
    EnumField,
    FloatField,
    HasMany,
    Index,
    IntegerField,
    JsonField,
    Resource,
    StringField,
    TextField,
    UrlField,
    UuidField,
    validate_blueprint,
)
from bastion.blueprint.model import AnyField


def blueprint_of(**resources: Resource) -> Blueprint:
    return Blueprint(resources=resources)


def with_field(field: AnyField, name: str = "value") -> Blueprint:
    return blueprint_of(things=Resource(fields={name: field}))


def problems(blueprint: Blueprint) -> list[BlueprintProblem]:
    with pytest.raises(BlueprintInvalid) as caught:
        validate_blueprint(blueprint)
    return caught.value.problems


def only_problem(blueprint: Blueprint) -> BlueprintProblem:
    found = problems(blueprint)
    assert len(found) == 1, found
    return found[0]


def test_python_blueprint_problems_have_a_path_but_no_file_or_line() -> None:
    problem = only_problem(with_field(EnumField()))
    assert problem.file is None
    assert problem.line is None
    assert problem.path == "resources.things.fields.value.values"
    assert str(problem).startswith("resources.things.fields.value.values: an enum needs values")


def test_lines_of_the_nearest_recorded_ancestor_locate_a_problem() -> None:
    lines = {"resources": 1, "resources.things": 2, "resources.things.fields.value": 7}
    with pytest.raises(BlueprintInvalid) as caught:
        validate_blueprint(with_field(EnumField()), source="bastion.yaml", lines=lines)
    problem = caught.value.problems[0]
    assert (problem.file, problem.line) == ("bastion.yaml", 7)


def test_valid_blueprint_gives_no_warnings() -> None:
    assert validate_blueprint(with_field(StringField())) == []


# --- names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("OrderItems", "write order_items (a-z, 0-9 and _, starting with a letter)"),
        ("order-items", "write order_items (a-z, 0-9 and _, starting with a letter)"),
        ("2fa_codes", "write fa_codes (a-z, 0-9 and _, starting with a letter)"),
    ],
)
def test_resource_name_must_be_lowercase_snake_case(name: str, hint: str) -> None:
    problem = only_problem(Blueprint(resources={name: Resource(fields={"a": StringField()})}))
    assert problem.path == f"resources.{name}"
    assert "is not a lowercase snake_case identifier" in problem.message
    assert problem.hint == hint


def test_names_longer_than_postgresql_allows_are_refused() -> None:
    problem = only_problem(with_field(StringField(), name="x" * 64))
    assert "longer than 63 characters" in problem.message


def test_resource_names_starting_with_bastion_are_kept_for_internal_tables() -> None:
    problem = only_problem(blueprint_of(bastion_users=Resource(fields={"a": StringField()})))
    assert problem.path == "resources.bastion_users"
    assert problem.hint == "write users"


def test_resource_named_auth_is_refused_since_v1_auth_is_taken() -> None:
    problem = only_problem(blueprint_of(auth=Resource(fields={"a": StringField()})))
    assert "authentication API" in problem.message


@pytest.mark.parametrize(
    ("name", "why", "hint"),
    [
        ("count", "collides with a query parameter", "write e.g. thing_count"),
        ("sort", "collides with a query parameter", "write e.g. thing_sort"),
        ("version", "collides with a system field", "or write thing_version"),
        ("created_at", "collides with a system field", "or write thing_created_at"),
    ],
)
def test_reserved_field_names_are_refused_saying_what_they_collide_with(
    name: str, why: str, hint: str
) -> None:
    problem = only_problem(with_field(IntegerField(), name=name))
    assert problem.path == f"resources.things.fields.{name}"
    assert why in problem.message
    assert problem.hint is not None
    assert problem.hint.endswith(hint)


def test_hooks_reference_must_be_a_file_or_a_module() -> None:
    problem = only_problem(Blueprint(hooks="my hooks!"))
    assert problem.path == "hooks"
    assert problem.hint == "write hooks: hooks.py, or hooks: package.module:attribute"


@pytest.mark.parametrize("reference", ["hooks.py", "app/hooks.py:hooks", "shop.api", "shop.api:x"])
def test_hooks_reference_forms_are_accepted(reference: str) -> None:
    assert validate_blueprint(Blueprint(hooks=reference, routes=reference)) == []


# --- renames --------------------------------------------------------------------------


def test_two_fields_renamed_from_the_same_name_are_refused() -> None:
    blueprint = blueprint_of(
        things=Resource(
            fields={
                "title": StringField(renamed_from="name"),
                "label": StringField(renamed_from="name"),
            }
        )
    )
    problem = only_problem(blueprint)
    assert problem.path == "resources.things.fields.label.renamed_from"
    assert "both renamed from 'name'" in problem.message


def test_renamed_from_a_field_that_still_exists_is_refused() -> None:
    blueprint = blueprint_of(
        things=Resource(fields={"name": StringField(), "title": StringField(renamed_from="name")})
    )
    problem = only_problem(blueprint)
    assert problem.message == "renamed_from 'name' names a field that still exists"


# --- belongs_to and has_many ----------------------------------------------------------


def test_belongs_to_a_missing_resource_lists_the_existing_ones() -> None:
    blueprint = blueprint_of(
        customers=Resource(fields={"name": StringField()}),
        orders=Resource(fields={"buyer": BelongsTo(resource="clients")}),
    )
    problem = only_problem(blueprint)
    assert problem.path == "resources.orders.fields.buyer.resource"
    assert "'clients', which does not exist. Resources: customers, orders" in problem.message
    assert problem.hint == "add a resource named 'clients', or write the name of an existing one"


def test_set_null_on_a_required_belongs_to_is_a_contradiction() -> None:
    blueprint = blueprint_of(
        a=Resource(fields={"name": StringField()}),
        b=Resource(fields={"a": BelongsTo(resource="a", required=True, on_delete="set_null")}),
    )
    problem = only_problem(blueprint)
    assert problem.path == "resources.b.fields.a.on_delete"
    assert problem.hint == "write on_delete: cascade or restrict, or make the field optional"


def test_belongs_to_may_not_have_a_default() -> None:
    blueprint = blueprint_of(a=Resource(fields={"parent": BelongsTo(resource="a", default="x")}))
    assert only_problem(blueprint).path == "resources.a.fields.parent.default"


def shop(**orders_has_many: HasMany) -> Blueprint:
    return blueprint_of(
        orders=Resource(fields={"note": TextField()}, has_many=orders_has_many),
        items=Resource(
            fields={
                "order": BelongsTo(resource="orders"),
                "gift_for": BelongsTo(resource="orders"),
                "sku": StringField(),
            }
        ),
        notes=Resource(fields={"order": BelongsTo(resource="orders")}),
    )


def test_has_many_with_a_single_back_reference_needs_no_via() -> None:
    assert validate_blueprint(shop(notes=HasMany(resource="notes"))) == []


def test_has_many_with_several_back_references_must_say_which() -> None:
    problem = only_problem(shop(items=HasMany(resource="items")))
    assert problem.path == "resources.orders.has_many.items.via"
    assert "several belongs_to fields pointing to 'orders': order, gift_for" in problem.message
    assert problem.hint == "say which one: write via: order"


def test_has_many_via_a_field_that_is_not_a_back_reference_is_refused() -> None:
    found = problems(
        shop(
            a=HasMany(resource="items", via="sku"),
            b=HasMany(resource="items", via="missing"),
        )
    )
    assert [p.message for p in found] == [
        "'items.sku' is a string field, not a belongs_to",
        "'items' has no field 'missing'",
    ]


def test_has_many_without_any_back_reference_says_what_to_add() -> None:
    blueprint = blueprint_of(
        a=Resource(fields={"x": StringField()}, has_many={"bs": HasMany(resource="b")}),
        b=Resource(fields={"y": StringField()}),
    )
    problem = only_problem(blueprint)
    assert problem.message == "'b' has no belongs_to field pointing back to 'a'"
    assert problem.hint == "add a: {type: belongs_to, resource: a} to b"


def test_has_many_to_a_missing_resource_is_refused() -> None:
    problem = only_problem(shop(lines=HasMany(resource="order_lines")))
    assert problem.path == "resources.orders.has_many.lines.resource"


def test_has_many_named_like_a_field_is_refused() -> None:
    problem = only_problem(shop(note=HasMany(resource="notes")))
    assert problem.message == "relation 'note' has the same name as a field of 'orders'"


def many_to_many(join: Resource, via: str | None = None) -> Blueprint:
    return blueprint_of(
        products=Resource(
            fields={"title": StringField()},
            has_many={"tags": HasMany(resource="tags", through="product_tags", via=via)},
        ),
        tags=Resource(fields={"name": StringField()}),
        product_tags=join,
    )


def test_many_to_many_through_a_join_resource_is_valid() -> None:
    join = Resource(
        fields={
            "product": BelongsTo(resource="products", required=True, on_delete="cascade"),
            "tag": BelongsTo(resource="tags", required=True, on_delete="cascade"),
        }
    )
    assert validate_blueprint(many_to_many(join, via="product")) == []
    assert validate_blueprint(many_to_many(join)) == []


def test_join_resource_must_belong_to_both_sides() -> None:
    join = Resource(fields={"product": BelongsTo(resource="products")})
    problem = only_problem(many_to_many(join))
    assert problem.path == "resources.products.has_many.tags.through"
    assert problem.message == (
        "join resource 'product_tags' has no belongs_to field pointing to 'tags'"
    )
    assert problem.hint == "add tag: {type: belongs_to, resource: tags} to product_tags"


def test_missing_join_resource_is_refused() -> None:
    blueprint = blueprint_of(
        products=Resource(
            fields={"title": StringField()},
            has_many={"tags": HasMany(resource="tags", through="product_tag")},
        ),
        tags=Resource(fields={"name": StringField()}),
        product_tags=Resource(fields={"x": StringField()}),
    )
    problem = only_problem(blueprint)
    assert problem.path == "resources.products.has_many.tags.through"
    assert problem.hint == "write resource: product_tags"


def test_self_referencing_many_to_many_needs_via() -> None:
    blueprint = blueprint_of(
        users=Resource(
            fields={"nickname": StringField()},
            has_many={"follows": HasMany(resource="users", through="follows_links")},
        ),
        follows_links=Resource(
            fields={
                "follower": BelongsTo(resource="users"),
                "followed": BelongsTo(resource="users"),
            }
        ),
    )
    assert only_problem(blueprint).path == "resources.users.has_many.follows.via"
    fixed = blueprint.model_copy(
        update={
            "resources": {
                **blueprint.resources,
                "users": blueprint.resources["users"].model_copy(
                    update={
                        "has_many": {
                            "follows": HasMany(
                                resource="users", through="follows_links", via="follower"
                            )
                        }
                    }
                ),
            }
        }
    )
    assert validate_blueprint(fixed) == []


# --- cycles ---------------------------------------------------------------------------


def test_cycle_of_required_belongs_to_is_named_with_each_step() -> None:
    blueprint = blueprint_of(
        orders=Resource(fields={"customer": BelongsTo(resource="customers", required=True)}),
        customers=Resource(fields={"last_order": BelongsTo(resource="orders", required=True)}),
    )
    problem = only_problem(blueprint)
    assert problem.path == "resources.customers.fields.last_order"
    assert "customers.last_order -> orders.customer -> customers" in problem.message
    assert problem.hint == (
        "make one of them optional (remove required: true), e.g. orders.customer"
    )


def test_required_reference_to_its_own_resource_is_a_cycle() -> None:
    blueprint = blueprint_of(
        employees=Resource(fields={"manager": BelongsTo(resource="employees", required=True)})
    )
    assert "employees.manager -> employees" in only_problem(blueprint).message


def test_optional_link_breaks_the_cycle() -> None:
    blueprint = blueprint_of(
        employees=Resource(fields={"manager": BelongsTo(resource="employees")}),
        orders=Resource(fields={"customer": BelongsTo(resource="customers", required=True)}),
        customers=Resource(fields={"last_order": BelongsTo(resource="orders")}),
    )
    assert validate_blueprint(blueprint) == []


def test_each_separate_cycle_is_reported() -> None:
    blueprint = blueprint_of(
        a=Resource(fields={"b": BelongsTo(resource="b", required=True)}),
        b=Resource(fields={"a": BelongsTo(resource="a", required=True)}),
        c=Resource(fields={"c": BelongsTo(resource="c", required=True)}),
    )
    assert [p.path for p in problems(blueprint)] == ["resources.a.fields.b", "resources.c.fields.c"]


# --- indexes --------------------------------------------------------------------------


def test_index_may_name_system_fields() -> None:
    resource = Resource(
        fields={"status": StringField()}, indexes=[Index(fields=["status", "created_at"])]
    )
    assert validate_blueprint(blueprint_of(orders=resource)) == []


def test_index_on_unknown_field_suggests_the_closest() -> None:
    resource = Resource(fields={"status": StringField()}, indexes=[Index(fields=["stauts"])])
    problem = only_problem(blueprint_of(orders=resource))
    assert problem.path == "resources.orders.indexes.0.fields.0"
    assert problem.hint == "write status"


def test_field_listed_twice_in_an_index_is_refused() -> None:
    resource = Resource(fields={"status": StringField()}, indexes=[Index(fields=["status"] * 2)])
    problem = only_problem(blueprint_of(orders=resource))
    assert problem.path == "resources.orders.indexes.0.fields.1"


def test_index_names_are_unique_across_the_blueprint() -> None:
    blueprint = blueprint_of(
        a=Resource(fields={"x": StringField()}, indexes=[Index(fields=["x"], name="by_x")]),
        b=Resource(fields={"x": StringField()}, indexes=[Index(fields=["x"], name="by_x")]),
    )
    problem = only_problem(blueprint)
    assert problem.path == "resources.b.indexes.0.name"
    assert problem.message == "index name 'by_x' is already used by resources.a.indexes.0"


# --- options of one field -------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "path", "hint"),
    [
        (DecimalField(), "precision", "write precision: 12 and scale: 2"),
        (DecimalField(precision=10), "scale", "write scale: 2"),
        (DecimalField(precision=19, scale=2), "precision", "write precision: 18 or less"),
        (DecimalField(precision=0, scale=0), "precision", "write precision: 18 or less"),
        (DecimalField(precision=4, scale=5), "scale", "write scale: 4"),
        (DecimalField(precision=4, scale=-1), "scale", "write scale: 0"),
        (DecimalField(precision=4, scale=1, min="5", max="1"), "min", "write a min at most max"),
        (DecimalField(precision=4, scale=1, min="abc"), "min", 'write e.g. min: "0.00"'),
        (StringField(min_length=10, max_length=5), "min_length", "write min_length: 5 or less"),
        (IntegerField(min=10, max=1), "min", "write a min at most max"),
        (FloatField(min=1.5, max=0.5), "min", "write a min at most max"),
        (EnumField(), "values", "write values: [draft, published]"),
        (EnumField(values=["a", "b", "a"]), "values.2", "list each value once"),
    ],
)
def test_field_options_that_contradict_each_other_are_refused(
    field: AnyField, path: str, hint: str
) -> None:
    problem = only_problem(with_field(field))
    assert problem.path == f"resources.things.fields.value.{path}"
    assert problem.hint == hint


def test_precision_limit_explains_the_sqlite_storage() -> None:
    problem = only_problem(with_field(DecimalField(precision=30, scale=2)))
    assert "SQLite stores decimals as exact scaled 64-bit integers" in problem.message


def test_pattern_must_be_a_valid_regular_expression() -> None:
    problem = only_problem(with_field(StringField(pattern="([a-z")))
    assert problem.path == "resources.things.fields.value.pattern"
    assert "is not a valid regular expression" in problem.message


def test_enum_values_that_are_not_text_are_refused() -> None:
    field = EnumField.model_construct(values=["a", 3])  # type: ignore[list-item]  # on purpose
    problem = only_problem(with_field(field))
    assert (problem.path, problem.hint) == (
        "resources.things.fields.value.values.1",
        'quote it: "3"',
    )


def test_read_only_and_write_only_together_are_refused() -> None:
    problem = only_problem(with_field(StringField(read_only=True, write_only=True)))
    assert problem.path == "resources.things.fields.value.write_only"


def test_required_read_only_field_needs_a_default() -> None:
    problem = only_problem(with_field(StringField(required=True, read_only=True)))
    assert problem.path == "resources.things.fields.value.read_only"
    assert problem.hint == "give it a default, or remove required or read_only"
    assert (
        validate_blueprint(with_field(StringField(required=True, read_only=True, default="x")))
        == []
    )


# --- defaults -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "message"),
    [
        (StringField(max_length=3, default="four"), "more than max_length 3"),
        (StringField(min_length=3, default="ab"), "less than min_length 3"),
        (StringField(default=5), "the default 5 is not text"),
        (StringField(pattern=r"^\d+$", default="12a"), "does not match pattern"),
        (TextField(max_length=2, default="abc"), "more than max_length 2"),
        (EnumField(values=["a", "b"], default="c"), "is not one of the values: a, b"),
        (IntegerField(default=False), "is a boolean, not an integer"),
        (IntegerField(default="3"), "is not a whole number"),
        (IntegerField(min=0, default=-1), "below min 0"),
        (FloatField(default=True), "is not a number"),
        (FloatField(max=1.0, default=1.5), "above max 1.0"),
        (FloatField(default=float("nan")), "not a finite number"),
        (DecimalField(precision=5, scale=2, default="abc"), "is not a decimal number"),
        (DecimalField(precision=5, scale=2, default=True), "is not a decimal number"),
        (DecimalField(precision=5, scale=2, default="1.005"), "3 digits after the point"),
        (DecimalField(precision=5, scale=2, default=1234), "4 digits before the point"),
        (DecimalField(precision=5, scale=2, min="0", default="-1"), "below min 0"),
        (BooleanField(default="yes"), "is not true or false"),
        (DateField(default="31/01/2026"), "is not a date"),
        (DateField(default="2026-13-01"), "is not a date"),
        (DateTimeField(default="tomorrow"), "is not a date and time"),
        (DateTimeField(default="2026-01-01T09:00:00"), "has no timezone"),
        (UuidField(default="1234"), "is not a UUID"),
        (EmailField(default="not-an-address"), "is not an e-mail address"),
        (UrlField(default="example.com"), "is not an absolute http(s) URL"),
        (UrlField(max_length=10, default="https://example.com/"), "more than max_length 10"),
        (JsonField(default={1: "a"}), "is not a JSON value"),
    ],
)
def test_default_that_breaks_its_own_field_is_refused(field: AnyField, message: str) -> None:
    problem = only_problem(with_field(field))
    assert problem.path == "resources.things.fields.value.default"
    assert message in problem.message
    assert problem.hint


@pytest.mark.parametrize(
    "field",
    [
        StringField(max_length=4, pattern="^[a-z]+$", default="abcd"),
        EnumField(values=["a", "b"], default="b"),
        IntegerField(min=0, max=10, default=10),
        FloatField(default=2),
        DecimalField(precision=5, scale=2, default="999.99"),
        DecimalField(precision=5, scale=2, default=1.5),
        DecimalField(precision=5, scale=2, default="1.50"),
        BooleanField(default=False),
        DateField(default="2026-01-31"),
        DateTimeField(default="2026-01-31T09:00:00Z"),
        DateTimeField(default="2026-01-31T09:00:00+02:00"),
        UuidField(default="0190b4f2-8c3a-7c4e-9f1a-2b3c4d5e6f70"),
        EmailField(default="someone@example.com"),
        UrlField(default="https://example.com/a?b=c"),
        JsonField(default={"tags": ["a"], "n": 1.5, "ok": None}),
    ],
)
def test_default_that_fits_its_field_is_accepted(field: AnyField) -> None:
    assert validate_blueprint(with_field(field)) == []


def test_default_is_not_judged_against_contradictory_options() -> None:
    found = problems(with_field(DecimalField(default="1.5")))
    assert [p.path for p in found] == ["resources.things.fields.value.precision"]


# --- warnings and collecting ----------------------------------------------------------


def test_resource_without_fields_is_a_warning() -> None:
    warnings = validate_blueprint(blueprint_of(empty=Resource()))
    assert [w.path for w in warnings] == ["resources.empty"]
    assert warnings[0].hint == "add fields, or remove the resource"


def test_unique_index_repeating_a_unique_field_is_a_warning() -> None:
    resource = Resource(
        fields={"email": EmailField(unique=True)},
        indexes=[Index(fields=["email"], unique=True)],
    )
    warnings = validate_blueprint(blueprint_of(people=resource))
    assert [w.path for w in warnings] == ["resources.people.indexes.0"]


def test_all_fatal_problems_are_collected_not_just_the_first() -> None:
    fields: dict[str, Any] = {
        "Bad-Name": StringField(),
        "limit": IntegerField(),
        "kind": EnumField(),
        "price": DecimalField(),
        "owner": BelongsTo(resource="people"),
    }
    blueprint = blueprint_of(things=Resource(fields=fields))
    assert [p.path for p in problems(blueprint)] == [
        "resources.things.fields.Bad-Name",
        "resources.things.fields.limit",
        "resources.things.fields.kind.values",
        "resources.things.fields.price.precision",
        "resources.things.fields.owner.resource",
    ]
