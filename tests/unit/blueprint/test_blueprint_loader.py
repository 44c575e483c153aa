"""Reading a blueprint from YAML: every problem names the file, the path, the line and a fix."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import yaml

import bastion.blueprint as blueprint_package
from bastion.blueprint import (
    FIELD_TYPES,
    BelongsTo,
    Blueprint,
    BlueprintInvalid,
    BlueprintProblem,
    DecimalField,
    EnumField,
    HasMany,
    Index,
    IntegerField,
    Resource,
    StringField,
    load_blueprint,
    parse_blueprint,
)

HERE = Path(__file__).parent
SHOP = HERE / "shop.yaml"
DOCS = HERE.parents[2] / "docs" / "blueprint.md"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bastion.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[BlueprintProblem]:
    with pytest.raises(BlueprintInvalid) as caught:
        load_blueprint(path)
    assert caught.value.code == "blueprint_invalid"
    return caught.value.problems


def only_problem(path: Path) -> BlueprintProblem:
    problems = problems_of(path)
    assert len(problems) == 1, problems
    return problems[0]


def test_unknown_field_type_is_reported_at_its_line_with_the_known_types(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        resources:
          orders:
            fields:
              total: {type: money}
        """,
    )
    problem = only_problem(path)
    assert problem.file == str(path)
    assert problem.path == "resources.orders.fields.total.type"
    assert problem.line == 4
    assert "unknown type 'money'" in problem.message
    assert all(kind in problem.message for kind in FIELD_TYPES)
    assert problem.hint == "write one of these, e.g. type: decimal"
    assert str(problem).startswith(f"{path}:4: resources.orders.fields.total.type: unknown type")


def test_misspelt_field_type_suggests_the_closest_type(tmp_path: Path) -> None:
    path = write(tmp_path, "resources: {tags: {fields: {name: {type: strng}}}}")
    assert only_problem(path).hint == "write one of these, e.g. type: string"


def test_field_without_type_is_refused_with_the_types_to_choose_from(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        resources:
          tags:
            fields:
              name:
                required: true
        """,
    )
    problem = only_problem(path)
    assert problem.path == "resources.tags.fields.name.type"
    assert problem.line == 4
    assert problem.message == "the field has no type"
    assert problem.hint is not None
    assert "e.g. type: string" in problem.hint


def test_unknown_key_suggests_the_closest_key_of_that_field_type(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        resources:
          orders:
            fields:
              total:
                type: decimal
                precision: 12
                scale: 2
                requird: true
        """,
    )
    problem = only_problem(path)
    assert problem.path == "resources.orders.fields.total.requird"
    assert problem.line == 8
    assert problem.message == "unknown key 'requird'; did you mean 'required'?"
    assert problem.hint is not None
    assert problem.hint.startswith("write required; keys allowed here: ")
    assert "precision" in problem.hint


@pytest.mark.parametrize(
    ("text", "path", "suggested"),
    [
        ("resource: {}\n", "resource", "resources"),
        ("resources: {tags: {feilds: {}}}\n", "resources.tags.feilds", "fields"),
        (
            "resources: {a: {fields: {}, indexes: [{fields: [id], uniqe: true}]}}\n",
            "resources.a.indexes.0.uniqe",
            "unique",
        ),
        (
            "resources: {a: {has_many: {b: {resourse: a}}}}\n",
            "resources.a.has_many.b.resourse",
            "resource",
        ),
    ],
)
def test_unknown_key_suggests_the_closest_key_allowed_at_its_place(
    tmp_path: Path, text: str, path: str, suggested: str
) -> None:
    problems = [p for p in problems_of(write(tmp_path, text)) if "unknown key" in p.message]
    assert [p.path for p in problems] == [path]
    assert f"did you mean '{suggested}'?" in problems[0].message
    assert problems[0].line == 1


def test_option_of_another_field_type_says_which_type_has_it(tmp_path: Path) -> None:
    path = write(tmp_path, "resources: {posts: {fields: {body: {type: text, pattern: x}}}}")
    problem = only_problem(path)
    assert problem.message == "unknown key 'pattern' for this field type"
    assert problem.hint is not None
    assert problem.hint.startswith("pattern applies to fields of type string;")


def test_duplicate_field_is_an_error_naming_both_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        resources:
          customers:
            fields:
              name: {type: string}
              email: {type: email}
              name: {type: text}
        """,
    )
    problem = only_problem(path)
    assert problem.path == "resources.customers.fields.name"
    assert problem.line == 6
    assert problem.message == "field 'name' is declared twice, on lines 4 and 6"
    assert problem.hint == "keep one of them: rename or remove the other"


def test_duplicate_resource_is_an_error_naming_both_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        resources:
          tags:
            fields: {name: {type: string}}
          tags:
            fields: {label: {type: string}}
        """,
    )
    problem = only_problem(path)
    assert (problem.path, problem.line) == ("resources.tags", 4)
    assert problem.message == "resource 'tags' is declared twice, on lines 2 and 4"


def test_relation_to_a_missing_resource_names_it_at_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        resources:
          customers:
            fields: {name: {type: string}}
          orders:
            fields:
              customer:
                type: belongs_to
                resource: customer
        """,
    )
    problem = only_problem(path)
    assert problem.file == str(path)
    assert problem.path == "resources.orders.fields.customer.resource"
    assert problem.line == 8
    assert "resource 'customer', which does not exist" in problem.message
    assert "Resources: customers, orders" in problem.message
    assert problem.hint == "write resource: customers"


def test_reserved_field_name_is_refused_with_a_name_to_use_instead(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        resources:
          orders:
            fields:
              count: {type: integer}
        """,
    )
    problem = only_problem(path)
    assert (problem.path, problem.line) == ("resources.orders.fields.count", 4)
    assert "collides with a query parameter" in problem.message
    assert problem.hint == "write e.g. order_count"


def test_system_field_declared_in_the_blueprint_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "resources:\n  orders:\n    fields:\n      id: {type: uuid}\n")
    problem = only_problem(path)
    assert (problem.path, problem.line) == ("resources.orders.fields.id", 4)
    assert "collides with a system field" in problem.message
    assert problem.hint is not None
    assert "order_id" in problem.hint


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("{type: string, max_length: 3, default: toolong}", "more than max_length 3"),
        ("{type: string, pattern: '^[A-Z]+$', default: abc}", "does not match pattern"),
        ("{type: enum, values: [draft, live], default: gone}", "is not one of the values"),
        ("{type: integer, min: 1, max: 10, default: 11}", "above max 10"),
        ("{type: integer, default: true}", "is a boolean, not an integer"),
        ("{type: integer, default: 1.5}", "is not a whole number"),
        ("{type: decimal, precision: 4, scale: 2, default: '1.234'}", "3 digits after the point"),
        ("{type: decimal, precision: 4, scale: 2, default: '123.4'}", "3 digits before the point"),
        ("{type: date, default: 2026-02-30}", "is not a date"),
        ("{type: datetime, default: '2026-01-01T10:00:00'}", "has no timezone"),
        ("{type: uuid, default: not-a-uuid}", "is not a UUID"),
        ("{type: email, default: nobody}", "is not an e-mail address"),
        ("{type: url, default: 'ftp://example.com/'}", "is not an absolute http(s) URL"),
        ("{type: boolean, default: 'no thanks'}", "is not true or false"),
    ],
)
def test_default_that_breaks_its_own_field_is_refused_at_its_line(
    tmp_path: Path, field: str, message: str
) -> None:
    path = write(tmp_path, f"resources:\n  things:\n    fields:\n      value: {field}\n")
    problem = only_problem(path)
    assert problem.path == "resources.things.fields.value.default"
    assert problem.line == 4
    assert message in problem.message
    assert problem.hint


def test_enum_without_values_is_refused_with_an_example(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        resources:
          posts:
            fields:
              status:
                type: enum
        """,
    )
    problem = only_problem(path)
    assert problem.path == "resources.posts.fields.status.values"
    assert problem.line == 4
    assert "an enum needs values" in problem.message
    assert problem.hint == "write values: [draft, published]"


def test_unquoted_yes_in_enum_values_is_explained(tmp_path: Path) -> None:
    path = write(
        tmp_path, "resources:\n  a:\n    fields:\n      b: {type: enum, values: [yes, no]}\n"
    )
    problems = problems_of(path)
    assert [p.path for p in problems] == [
        "resources.a.fields.b.values.0",
        "resources.a.fields.b.values.1",
    ]
    assert all(p.line == 4 for p in problems)
    assert problems[0].hint is not None
    assert "quote it" in problems[0].hint


def test_index_on_an_unknown_field_is_refused_at_the_field_in_the_index(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        resources:
          orders:
            fields:
              status: {type: string}
            indexes:
              - fields:
                  - status
                  - custmer
        """,
    )
    problem = only_problem(path)
    assert problem.path == "resources.orders.indexes.0.fields.1"
    assert problem.line == 8
    assert "index on unknown field 'custmer'" in problem.message
    assert problem.hint == "write one of these fields"


def test_decimal_without_precision_and_scale_says_what_to_write(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        resources:
          orders:
            fields:
              total: {type: decimal}
        """,
    )
    problem = only_problem(path)
    assert problem.path == "resources.orders.fields.total.precision"
    assert problem.line == 4
    assert "a decimal needs precision" in problem.message
    assert problem.hint == "write precision: 12 and scale: 2"


def test_invalid_yaml_is_reported_with_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        resources:
          orders:
            fields: {total: {type: decimal}
          tags: {}
        """,
    )
    problem = only_problem(path)
    assert problem.file == str(path)
    assert problem.line == 4
    assert problem.message.startswith("invalid YAML: ")
    assert problem.hint == "close the bracket or brace that opens here"


def test_tab_indentation_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "bastion.yaml"
    path.write_text("resources:\n\torders: {}\n", encoding="utf-8")
    problem = only_problem(path)
    assert problem.line == 2
    assert problem.hint == "indent with spaces: YAML does not allow tabs"


def test_required_belongs_to_cycle_is_named_with_the_fields_in_it(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        resources:
          customers:
            fields:
              last_order: {type: belongs_to, resource: orders, required: true}
          orders:
            fields:
              customer: {type: belongs_to, resource: customers, required: true}
        """,
    )
    problem = only_problem(path)
    assert problem.path == "resources.customers.fields.last_order"
    assert problem.line == 4
    assert "customers.last_order -> orders.customer -> customers" in problem.message
    assert problem.hint is not None
    assert problem.hint.startswith("make one of them optional")


def test_wrong_kind_of_value_says_what_was_expected(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        resources:
          tags:
            fields:
              name: {type: string, max_length: long, required: maybe}
        """,
    )
    problems = sorted(problems_of(path), key=lambda problem: problem.path)
    assert [(p.path, p.line) for p in problems] == [
        ("resources.tags.fields.name.max_length", 4),
        ("resources.tags.fields.name.required", 4),
    ]
    assert problems[0].message == "expected a whole number, got 'long'"
    assert problems[0].hint == "write e.g. max_length: 200"
    assert problems[1].message == "expected true or false, got 'maybe'"


def test_unknown_on_delete_suggests_the_closest_choice(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        resources:
          a: {fields: {name: {type: string}}}
          b:
            fields:
              a: {type: belongs_to, resource: a, on_delete: setnull}
        """,
    )
    problem = only_problem(path)
    assert problem.path == "resources.b.fields.a.on_delete"
    assert problem.message == "expected one of cascade, restrict, set_null, got 'setnull'"
    assert problem.hint == "write on_delete: set_null"


def test_unsupported_format_version_is_refused(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path, "version: 2\n"))
    assert (problem.path, problem.line) == ("version", 1)
    assert problem.hint == "write version: 1"


def test_several_problems_are_reported_at_once_in_file_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        resources:
          orders:
            fields:
              total: {type: decimal}
              customer: {type: belongs_to, resource: clients}
              sort: {type: string}
              status: {type: enum}
        """,
    )
    with pytest.raises(BlueprintInvalid) as caught:
        load_blueprint(path)
    problems = caught.value.problems
    assert [(p.path, p.line) for p in problems] == [
        ("resources.orders.fields.total.precision", 4),
        ("resources.orders.fields.customer.resource", 5),
        ("resources.orders.fields.sort", 6),
        ("resources.orders.fields.status.values", 7),
    ]
    text = str(caught.value).splitlines()
    assert text[0] == f"{path}: 4 problems in the blueprint:"
    assert text[1:] == [f"  {problem}" for problem in problems]


def test_shape_problems_and_duplicate_keys_are_reported_together(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        name: shop
        resources:
          tags:
            fields:
              name: {type: string}
              name: {type: text}
              color: {type: colour}
        name: again
        """,
    )
    problems = problems_of(path)
    assert [(p.path, p.line) for p in problems] == [
        ("resources.tags.fields.name", 6),
        ("resources.tags.fields.color.type", 7),
        ("name", 8),
    ]
    assert problems[2].message == "key 'name' appears twice, on lines 1 and 8"


def test_missing_file_names_the_path_and_suggests_bastion_init(tmp_path: Path) -> None:
    path = tmp_path / "bastion.yaml"
    problem = only_problem(path)
    assert problem.file == str(path)
    assert problem.line is None
    assert str(path) in problem.message
    assert problem.hint is not None
    assert "bastion init" in problem.hint


def test_empty_file_is_refused(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path, "# nothing yet\n"))
    assert problem.message == "the blueprint is empty"


def test_dates_in_yaml_stay_text_as_in_json(tmp_path: Path) -> None:
    path = write(tmp_path, "resources: {a: {fields: {b: {type: date, default: 2026-01-31}}}}")
    assert load_blueprint(path).resource("a").fields["b"].default == "2026-01-31"


def test_anchors_and_merge_keys_share_field_options(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        resources:
          tags:
            fields:
              name: &label {type: string, max_length: 50, required: true}
              title:
                <<: *label
                max_length: 80
        """,
    )
    fields = load_blueprint(path).resource("tags").fields
    assert fields["title"] == StringField(max_length=80, required=True)
    assert fields["name"] == StringField(max_length=50, required=True)


def test_valid_complete_blueprint_loads_and_remembers_its_file() -> None:
    blueprint = load_blueprint(SHOP)
    assert blueprint.source == str(SHOP)
    assert blueprint.name == "shop"
    assert list(blueprint.resources) == [
        "customers",
        "products",
        "orders",
        "order_items",
        "tags",
        "product_tags",
    ]
    tags = blueprint.resource("products").has_many["tags"]
    assert tags == HasMany(resource="tags", through="product_tags", via="product")
    assert blueprint.resource("orders").indexes[1].name == "orders_by_customer_recent"


def test_python_api_builds_the_same_blueprint_as_yaml() -> None:
    text = """
    name: blog
    resources:
      authors:
        fields:
          name: {type: string, max_length: 100, required: true}
        has_many:
          posts: {resource: posts, via: author}
      posts:
        fields:
          author: {type: belongs_to, resource: authors, on_delete: cascade, required: true}
          status: {type: enum, values: [draft, published], default: draft}
          price: {type: decimal, precision: 8, scale: 2}
          views: {type: integer, min: 0}
        indexes:
          - {fields: [author, status], unique: true}
    """
    built = Blueprint(
        name="blog",
        resources={
            "authors": Resource(
                fields={"name": StringField(max_length=100, required=True)},
                has_many={"posts": HasMany(resource="posts", via="author")},
            ),
            "posts": Resource(
                fields={
                    "author": BelongsTo(resource="authors", on_delete="cascade", required=True),
                    "status": EnumField(values=["draft", "published"], default="draft"),
                    "price": DecimalField(precision=8, scale=2),
                    "views": IntegerField(min=0),
                },
                indexes=[Index(fields=["author", "status"], unique=True)],
            ),
        },
    )
    assert parse_blueprint(textwrap.dedent(text)) == built


def test_parse_blueprint_names_the_given_source_in_problems() -> None:
    with pytest.raises(BlueprintInvalid) as caught:
        parse_blueprint("resources: {a: {fields: {b: {type: nope}}}}", source="api.yaml")
    assert caught.value.source == "api.yaml"
    assert str(caught.value.problems[0]).startswith("api.yaml:1: resources.a.fields.b.type:")


def test_problem_text_has_file_line_path_message_and_hint() -> None:
    problem = BlueprintProblem(
        file="bastion.yaml",
        path="resources.orders.fields.total.type",
        line=12,
        message="unknown type 'money'",
        hint="write one of these, e.g. type: decimal",
    )
    assert str(problem) == (
        "bastion.yaml:12: resources.orders.fields.total.type: unknown type 'money'"
        " — write one of these, e.g. type: decimal"
    )
    without_file = BlueprintProblem(file=None, path="resources.a", line=None, message="m")
    assert str(without_file) == "resources.a: m"


def test_blueprint_invalid_summarises_the_problems_in_one_line_each() -> None:
    problems = [
        BlueprintProblem(file="bastion.yaml", path="a", line=1, message="one"),
        BlueprintProblem(file="bastion.yaml", path="b", line=2, message="two", hint="fix"),
    ]
    error = BlueprintInvalid(problems)
    assert str(error) == (
        "bastion.yaml: 2 problems in the blueprint:\n"
        "  bastion.yaml:1: a: one\n"
        "  bastion.yaml:2: b: two — fix"
    )


# --- the documentation's examples are run, so they stay true -----------------------


def doc_blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", DOCS.read_text(encoding="utf-8"), re.M | re.S)


def test_docs_example_blueprint_is_shop_yaml_and_loads() -> None:
    documented = parse_blueprint(doc_blocks("yaml")[0], source="docs/blueprint.md")
    assert documented.model_dump() == load_blueprint(SHOP).model_dump()
    assert doc_blocks("yaml")[0] == SHOP.read_text(encoding="utf-8")


def test_docs_error_example_is_what_the_loader_reports() -> None:
    documented_yaml = next(block for block in doc_blocks("yaml") if "type: money" in block)
    with pytest.raises(BlueprintInvalid) as caught:
        parse_blueprint(documented_yaml, source="bastion.yaml")
    assert f"{caught.value}\n" == doc_blocks("text")[0]


def test_docs_python_example_builds_a_valid_blueprint() -> None:
    namespace: dict[str, object] = {}
    exec(doc_blocks("python")[0], namespace)  # the example is ours, in the repository
    assert namespace["warnings"] == []
    assert isinstance(namespace["blueprint"], Blueprint)


def test_public_api_exports_what_it_lists() -> None:
    for name in blueprint_package.__all__:
        assert hasattr(blueprint_package, name), name
    assert {"load_blueprint", "parse_blueprint", "validate_blueprint"} <= set(
        blueprint_package.__all__
    )


def test_shop_yaml_is_plain_yaml() -> None:
    assert isinstance(yaml.safe_load(SHOP.read_text(encoding="utf-8")), dict)
