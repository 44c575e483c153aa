"""The OpenAPI document generated from a blueprint: valid, complete, and faithful to its rules."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from typer.testing import CliRunner

from bastion.api.rest.openapi import PROBLEM_STATUSES, DocumentLimits, build_openapi
from bastion.blueprint import (
    ApiVersion,
    BelongsTo,
    Blueprint,
    BooleanField,
    DecimalField,
    EnumField,
    JsonField,
    PageSize,
    Resource,
    StringField,
    VersionChanges,
    load_blueprint,
)
from bastion.cli import app as cli

ROOT = Path(__file__).parents[1].parent
EXAMPLE = ROOT / "examples" / "bastion.yaml"
SHOP = ROOT / "tests" / "unit" / "blueprint" / "shop.yaml"
PROBLEM_STATUSES_OF_THE_CONTRACT = (400, 404, 405, 409, 412, 413, 415, 422, 428, 500, 503)

Document = dict[str, Any]


@pytest.fixture(scope="module")
def example() -> Document:
    return build_openapi(load_blueprint(EXAMPLE))


def _schema(document: Document, name: str) -> Document:
    schema: Document = document["components"]["schemas"][name]
    return schema


def _parameters(document: Document, path: str, method: str) -> dict[str, Document]:
    """The operation's parameters by name, references resolved."""
    found = {}
    for parameter in document["paths"][path][method].get("parameters", []):
        if "$ref" in parameter:
            parameter = document["components"]["parameters"][parameter["$ref"].split("/")[-1]]
        found[parameter["name"]] = parameter
    return found


@pytest.mark.parametrize("path", [EXAMPLE, SHOP], ids=["example", "shop"])
def test_document_is_valid_openapi_3_1(path: Path) -> None:
    document = build_openapi(load_blueprint(path))

    validate(document)
    assert document["openapi"] == "3.1.0"


def test_info_comes_from_the_blueprint_and_the_package(example: Document) -> None:
    from bastion import __version__

    assert example["info"]["title"] == "shop"
    assert example["info"]["description"].startswith("A small online shop.")
    assert example["info"]["version"] == __version__
    assert example["servers"] == [{"url": "/"}]


def test_every_endpoint_and_method_is_described(example: Document) -> None:
    assert set(example["paths"]["/v1/customers"]) == {"get", "post"}
    assert set(example["paths"]["/v1/customers:batch"]) == {"post"}
    assert set(example["paths"]["/v1/customers:aggregate"]) == {"get"}
    assert set(example["paths"]["/v1/customers/{id}"]) == {
        "parameters",
        "get",
        "put",
        "patch",
        "delete",
    }
    ids = [
        operation["operationId"]
        for item in example["paths"].values()
        for method, operation in item.items()
        if method != "parameters"
    ]
    assert set(example["paths"]["/v1/customers/{id}/history"]) == {"parameters", "get"}
    assert len(ids) == len(set(ids)) == 6 * 9


def test_read_schema_has_system_fields_and_leaves_out_write_only_ones(example: Document) -> None:
    customers = _schema(example, "Customers")

    assert list(customers["properties"])[:4] == ["id", "created_at", "updated_at", "version"]
    assert customers["properties"]["id"]["format"] == "uuid"
    assert customers["properties"]["created_at"]["format"] == "date-time"
    assert "api_secret" not in customers["properties"]
    assert set(customers["required"]) == set(customers["properties"])
    assert customers["description"] == "People who buy."


def test_create_schema_requires_required_fields_and_refuses_read_only_ones(
    example: Document,
) -> None:
    create = _schema(example, "CustomersCreate")
    orders = _schema(example, "OrdersCreate")

    assert create["additionalProperties"] is False
    assert create["required"] == ["name", "email"]
    assert create["properties"]["api_secret"]["writeOnly"] is True
    assert create["properties"]["vip"]["default"] is False
    assert "total" not in orders["properties"]
    assert "number" not in orders["properties"]
    assert _schema(example, "Orders")["properties"]["total"]["readOnly"] is True


def test_patch_schema_is_all_optional_and_nullable_where_a_field_may_be_empty(
    example: Document,
) -> None:
    patch = _schema(example, "CustomersPatch")

    assert "required" not in patch
    assert patch["additionalProperties"] is False
    assert patch["properties"]["name"]["type"] == "string"  # required: never null
    assert patch["properties"]["phone"]["type"] == ["string", "null"]


def test_field_constraints_become_schema_keywords(example: Document) -> None:
    customer = _schema(example, "CustomersCreate")["properties"]
    product = _schema(example, "ProductsCreate")["properties"]
    item = _schema(example, "OrderItemsCreate")["properties"]

    assert customer["name"]["maxLength"] == 200
    assert customer["email"] | {"examples": None} == {
        "type": "string",
        "format": "email",
        "maxLength": 320,
        "examples": None,
    }
    assert customer["phone"]["pattern"] == r"^\+[0-9 ]{6,30}$"
    assert customer["phone"]["description"] == "International format, e.g. +44 20 7946 0958."
    assert product["sku"]["pattern"] == "^[A-Z0-9-]+$"
    assert product["price"]["type"] == "string"
    assert product["price"]["format"] == "decimal"
    assert product["price"]["pattern"] == r"^[0-9]{1,8}(\.[0-9]{1,2})?$"  # min 0: no sign
    assert product["stock"]["minimum"] == 0
    assert product["status"]["enum"] == ["draft", "active", "archived", None]
    assert product["attributes"].get("type") is None  # any JSON
    assert item["quantity"]["minimum"] == 1
    assert item["quantity"]["maximum"] == 1000
    assert item["order"]["format"] == "uuid"


def test_examples_satisfy_their_own_schemas(example: Document) -> None:
    checked = 0
    for name, schema in example["components"]["schemas"].items():
        for member, spec in schema.get("properties", {}).items():
            for value in spec.get("examples", []):
                validator = Draft202012Validator(
                    spec, format_checker=Draft202012Validator.FORMAT_CHECKER
                )
                assert not list(validator.iter_errors(value)), (name, member, value)
                checked += 1
    assert checked > 50


def test_list_parameters_follow_the_resource(example: Document) -> None:
    orders = _parameters(example, "/v1/orders", "get")

    assert orders["limit"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 100,
        "default": 20,
    }
    assert orders["expand"]["schema"]["items"]["enum"] == ["customer", "items"]
    assert orders["expand"]["style"] == "form"
    assert orders["expand"]["explode"] is False
    assert "version" in orders["fields"]["schema"]["items"]["enum"]
    assert "-created_at" in orders["sort"]["schema"]["items"]["enum"]
    assert orders["count"]["schema"]["enum"] == ["exact"]
    assert orders["id[gt]"]["schema"]["format"] == "uuid"
    assert orders["created_at[lte]"]["schema"]["format"] == "date-time"
    assert "q" not in orders  # no searchable field


def _catalogue() -> Blueprint:
    return Blueprint(
        name="catalogue",
        resources={
            "makers": Resource(fields={"name": StringField(filterable=True)}),
            "items": Resource(
                page_size=PageSize(default=5, max=50),
                fields={
                    "title": StringField(filterable=True, sortable=True, searchable=True),
                    "price": DecimalField(precision=8, scale=2, filterable=True),
                    "kind": EnumField(values=["a", "b"], filterable=True),
                    "active": BooleanField(filterable=True),
                    "extra": JsonField(filterable=True),
                    "maker": BelongsTo(resource="makers", filterable=True),
                },
            ),
        },
    )


def test_filter_parameters_follow_each_field_type() -> None:
    document = build_openapi(_catalogue())
    items = _parameters(document, "/v1/items", "get")
    names = set(items)

    assert {"title", "title[like]", "title[ilike]", "title[contains]", "title[gte]"} <= names
    assert items["price[lt]"]["schema"]["pattern"] == r"^-?[0-9]{1,6}(\.[0-9]{1,2})?$"
    assert items["kind[in]"]["schema"]["items"]["enum"] == ["a", "b"]
    assert items["kind[in]"]["explode"] is False
    assert "active[lt]" not in names
    assert "active[like]" not in names
    assert items["active"]["schema"] == {"type": "boolean"}
    assert {"extra[contains]", "extra[isnull]"} <= names
    assert "extra" not in names
    assert items["maker.name[ilike]"]["in"] == "query"  # through the belongs_to field
    assert items["limit"]["schema"]["maximum"] == 50
    assert items["limit"]["schema"]["default"] == 5
    assert items["q"]["schema"]["minLength"] == 1
    assert items["sort"]["schema"]["items"]["enum"][-2:] == ["title", "-title"]


def test_aggregate_parameters_and_rows_name_the_computations() -> None:
    document = build_openapi(_catalogue())
    aggregate = _parameters(document, "/v1/items:aggregate", "get")
    row = document["paths"]["/v1/items:aggregate"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]["properties"]["data"]["items"]

    assert aggregate["group_by"]["schema"]["items"]["enum"] == [
        "title",
        "price",
        "kind",
        "active",
        "maker",
    ]
    assert aggregate["count"]["schema"] == {"type": "boolean"}
    assert aggregate["sum"]["schema"]["items"]["enum"] == ["version", "price"]
    assert {"count", "sum_price", "avg_price", "min_title", "distinct_maker"} <= set(
        row["properties"]
    )


def test_every_problem_status_of_the_contract_has_a_problem_response(example: Document) -> None:
    responses = example["components"]["responses"]

    for status in PROBLEM_STATUSES_OF_THE_CONTRACT:
        response = responses[PROBLEM_STATUSES[status][0]]
        assert response["content"]["application/problem+json"]["schema"] == {
            "$ref": "#/components/schemas/Problem"
        }
    problem = _schema(example, "Problem")
    assert {"type", "title", "status", "detail", "code", "trace_id"} <= set(problem["required"])
    assert {"instance", "request_id", "errors", "current_version"} <= set(problem["properties"])


def test_every_status_in_the_error_docs_is_described() -> None:
    table = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    documented = {int(s) for s in re.findall(r"^\| `[a-z_]+` \| (\d{3}) \|", table, re.M)}

    assert documented
    assert documented <= set(PROBLEM_STATUSES)


def test_operations_answer_the_statuses_they_can_produce(example: Document) -> None:
    orders = example["paths"]["/v1/orders/{id}"]
    customers = example["paths"]["/v1/customers/{id}"]
    create = example["paths"]["/v1/customers"]["post"]

    assert {"200", "304", "404", "500", "503"} <= set(customers["get"]["responses"])
    assert customers["get"]["responses"]["304"]["headers"]["ETag"]
    assert {"201", "400", "409", "413", "415", "422"} <= set(create["responses"])
    assert set(create["responses"]["201"]["headers"]) >= {"Location", "ETag", "X-Request-ID"}
    assert set(create["requestBody"]["content"]) == {"application/json"}
    assert set(customers["patch"]["requestBody"]["content"]) == {
        "application/merge-patch+json",
        "application/json",
    }
    assert "428" in orders["patch"]["responses"]
    assert "428" not in customers["patch"]["responses"]
    assert "204" in customers["delete"]["responses"]
    assert "412" in customers["delete"]["responses"]


def test_if_match_is_required_where_the_resource_asks_for_it(example: Document) -> None:
    orders = _parameters(example, "/v1/orders/{id}", "patch")
    customers = _parameters(example, "/v1/customers/{id}", "patch")

    assert orders["If-Match"]["required"] is True
    assert customers["If-Match"]["required"] is False
    assert "Idempotency-Key" in _parameters(example, "/v1/customers", "post")
    assert "Idempotency-Key" in _parameters(example, "/v1/customers:batch", "post")
    assert "If-None-Match" in _parameters(example, "/v1/customers/{id}", "get")


def test_security_schemes_are_declared(example: Document) -> None:
    schemes = example["components"]["securitySchemes"]

    assert (schemes["bearerAuth"]["scheme"], schemes["bearerAuth"]["bearerFormat"]) == (
        "bearer",
        "JWT",
    )
    assert (schemes["apiKey"]["type"], schemes["apiKey"]["scheme"]) == ("http", "bearer")
    assert schemes["oauth2"]["flows"]["password"]["tokenUrl"] == "/v1/auth/token"


def test_batch_limit_is_stated_when_given() -> None:
    document = build_openapi(load_blueprint(EXAMPLE), limits=DocumentLimits(batch_max=7))

    records = _schema(document, "CustomersBatch")["properties"]["records"]
    assert records["maxItems"] == 7
    assert records["items"] == {"$ref": "#/components/schemas/CustomersCreate"}


def test_each_api_version_is_documented_under_its_own_names() -> None:
    blueprint = Blueprint(
        name="people",
        resources={"people": Resource(fields={"name": StringField(), "nick": StringField()})},
        api_versions={
            "v1": ApiVersion(
                deprecated=True,
                resources={
                    "people": VersionChanges(renamed={"name": "full_name"}, hidden=["nick"])
                },
            ),
            "v2": ApiVersion(),
        },
    )

    document = build_openapi(blueprint)

    validate(document)
    v1 = _schema(document, "PeopleV1")["properties"]
    v2 = _schema(document, "People")["properties"]
    assert "full_name" in v1
    assert "nick" not in v1
    assert "name" not in v1
    assert {"name", "nick"} <= set(v2)
    assert document["paths"]["/v1/people"]["get"]["deprecated"] is True
    assert document["paths"]["/v2/people"]["get"]["operationId"] == "list_people_v2"
    assert "deprecated" not in document["paths"]["/v2/people"]["get"]


def test_export_openapi_writes_the_document_without_a_server(tmp_path: Path) -> None:
    output = tmp_path / "openapi.json"

    result = CliRunner().invoke(cli, ["export", "openapi", str(EXAMPLE), "-o", str(output)])

    assert result.exit_code == 0, result.output
    written = json.loads(output.read_text(encoding="utf-8"))
    validate(written)
    assert written["info"]["title"] == "shop"
