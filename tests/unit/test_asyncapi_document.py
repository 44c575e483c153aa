"""The AsyncAPI document of the events: valid AsyncAPI 3.0, complete, and faithful to the events.

The official AsyncAPI 3.0 JSON Schema comes from the npm package @asyncapi/specs (no
PyPI package ships it): ``make test`` puts it in the virtualenv
(``<venv>/share/asyncapi-specs/3.0.0.json``); without it the validity test skips loudly.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator
from referencing import Registry
from referencing.jsonschema import DRAFT7
from typer.testing import CliRunner

from bastion.api.rest.openapi import build_openapi
from bastion.architect import build_asyncapi
from bastion.blueprint import (
    BelongsTo,
    Blueprint,
    DateTimeField,
    DecimalField,
    EnumField,
    IntegerField,
    JsonField,
    Resource,
    StringField,
    TextField,
    load_blueprint,
    with_identity,
)
from bastion.cli import app as cli
from service_support import service_missing

ROOT = Path(__file__).parents[1].parent
EXAMPLE = ROOT / "examples" / "bastion.yaml"
SHOP = ROOT / "tests" / "unit" / "blueprint" / "shop.yaml"
ASYNCAPI_SCHEMA = Path(sys.prefix) / "share" / "asyncapi-specs" / "3.0.0.json"
DOCUMENT_URI = "urn:bastion:asyncapi"

Document = dict[str, Any]

ORDERS = Resource(
    description="Orders placed in the shop.",
    fields={
        "total": DecimalField(precision=10, scale=2, min="0", required=True),
        "status": EnumField(values=["new", "paid"], required=True, default="new"),
        "placed_at": DateTimeField(),
        "quantity": IntegerField(min=1, max=99),
        "note": TextField(),
        "coupon": StringField(max_length=20, write_only=True),
        "meta": JsonField(),
        "customer": BelongsTo(resource="customers"),
        "reference": StringField(max_length=12, read_only=True),
    },
)
CUSTOMERS = Resource(fields={"name": StringField(required=True)})
HIDDEN = Resource(internal=True, fields={"token": StringField()})
SHOP_BLUEPRINT = Blueprint(
    name="shop",
    description="A small shop.",
    resources={"orders": ORDERS, "customers": CUSTOMERS, "secrets": HIDDEN},
)


@pytest.fixture(scope="module")
def shop_document() -> Document:
    return build_asyncapi(SHOP_BLUEPRINT)


def _official_schema() -> Document:
    if not ASYNCAPI_SCHEMA.is_file():
        service_missing(
            f"the AsyncAPI 3.0 JSON Schema is not at {ASYNCAPI_SCHEMA}: run `make test` "
            "(its step fetches @asyncapi/specs with npm)"
        )
    schema: Document = json.loads(ASYNCAPI_SCHEMA.read_text(encoding="utf-8"))
    return schema


def _payload_validator(document: Document, channel: str) -> Draft7Validator:
    """A validator of the message of ``channel``, with the document's references resolved."""
    registry: Registry[Any] = Registry().with_resource(
        DOCUMENT_URI, DRAFT7.create_resource(document)
    )
    (message,) = document["channels"][channel]["messages"]
    pointer = f"{DOCUMENT_URI}#/channels/{channel}/messages/{message}/payload"
    return Draft7Validator(
        {"$ref": pointer}, registry=registry, format_checker=Draft7Validator.FORMAT_CHECKER
    )


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def _resolve(document: Document, ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _order_event(**changes: Any) -> Document:
    """An ``orders.updated`` event as a consumer receives it (the format of the events spec)."""
    return {
        "specversion": "1.0",
        "id": "0193651c-8a01-7b22-8c3d-4e5f60718293",
        "source": "/v1/orders",
        "type": "orders.updated",
        "subject": "orders/0190a6f2-3c4d-7e5f-8a9b-0c1d2e3f4a5b",
        "time": "2026-11-25T10:00:00.123456Z",
        "datacontenttype": "application/json",
        "sequence": "2",
        "data": {
            "resource": "orders",
            "id": "0190a6f2-3c4d-7e5f-8a9b-0c1d2e3f4a5b",
            "version": 2,
            "changes": changes
            or {
                "total": {"before": "12.50", "after": "14.00"},
                "placed_at": {"before": None, "after": "2026-11-25T10:00:00Z"},
                "coupon": {"before": None, "after": "[redacted]"},
                "meta": {"before": {"gift": False}, "after": {"gift": True}},
            },
            "actor": {"kind": "service", "id": "0190a6f1-1a2b-7c3d-8e4f-5a6b7c8d9e0f"},
            "request_id": "2f1c6e0a9b8d4c7e",
            "trace_id": None,
        },
    }


@pytest.mark.parametrize("path", [EXAMPLE, SHOP], ids=["example", "shop"])
@pytest.mark.parametrize("broker_url", [None, "amqp://guest:guest@127.0.0.1:5672/"])
def test_asyncapi_document_is_valid_asyncapi_3(path: Path, broker_url: str | None) -> None:
    # As `bastion export asyncapi` builds it: with the built-in users and tenants.
    document = build_asyncapi(with_identity(load_blueprint(path)), broker_url=broker_url)
    errors = [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message[:300]}"
        for error in Draft7Validator(_official_schema()).iter_errors(document)
    ]
    assert errors == []
    assert document["asyncapi"] == "3.0.0"
    assert document["defaultContentType"] == "application/cloudevents+json"


@pytest.mark.parametrize("path", [EXAMPLE, SHOP], ids=["example", "shop"])
def test_asyncapi_refs_resolve_and_schemas_are_json_schemas(path: Path) -> None:
    document = build_asyncapi(load_blueprint(path))
    for ref in _refs(document):
        _resolve(document, ref)  # a KeyError names the reference that points nowhere
    for schema in document["components"]["schemas"].values():
        Draft7Validator.check_schema(schema)
    for channel in document["channels"].values():
        for message in channel["messages"].values():
            Draft7Validator.check_schema(message["payload"])


@pytest.mark.parametrize("path", [EXAMPLE, SHOP], ids=["example", "shop"])
def test_asyncapi_every_example_event_matches_its_message(path: Path) -> None:
    document = build_asyncapi(with_identity(load_blueprint(path)))
    for key, channel in document["channels"].items():
        validator = _payload_validator(document, key)
        for message in channel["messages"].values():
            assert message["examples"], key
            for example in message["examples"]:
                errors = [error.message for error in validator.iter_errors(example["payload"])]
                assert errors == [], key


def test_asyncapi_one_channel_per_event_type_of_each_served_resource(
    shop_document: Document,
) -> None:
    channels = shop_document["channels"]
    assert {c["address"] for c in channels.values()} == {
        f"bastion.events.{name}.{action}"
        for name in ("orders", "customers")
        for action in ("created", "updated", "deleted")
    }  # the internal resource has no channel
    created = channels["ordersCreated"]
    assert created["bindings"]["amqp"]["exchange"] == {
        "name": "bastion.events",
        "type": "topic",
        "durable": True,
        "autoDelete": False,
    }
    assert "routing key `orders.created`" in created["description"]
    assert "subject `bastion.events.orders.created`" in created["description"]


def test_asyncapi_channel_prefix_follows_the_channel_argument() -> None:
    document = build_asyncapi(SHOP_BLUEPRINT, channel="shop.events")
    created = document["channels"]["ordersCreated"]
    assert created["address"] == "shop.events.orders.created"
    assert created["bindings"]["amqp"]["exchange"]["name"] == "shop.events"
    assert "stream `shop:events`" in created["description"]


def test_asyncapi_leaves_out_resources_without_events() -> None:
    quiet = Resource.model_validate({"fields": {"name": {"type": "string"}}, "events": False})
    document = build_asyncapi(Blueprint(resources={"orders": CUSTOMERS, "quiet": quiet}))
    assert sorted(document["channels"]) == ["ordersCreated", "ordersDeleted", "ordersUpdated"]


def test_asyncapi_operations_send_each_channel_message(shop_document: Document) -> None:
    operations = shop_document["operations"]
    assert len(operations) == len(shop_document["channels"])
    for operation in operations.values():
        assert operation["action"] == "send"
        channel = _resolve(shop_document, operation["channel"]["$ref"])
        for message in operation["messages"]:
            assert _resolve(shop_document, message["$ref"]) in channel["messages"].values()


def test_asyncapi_info_names_the_blueprint_and_the_delivery_guarantees(
    shop_document: Document,
) -> None:
    info = shop_document["info"]
    assert info["title"] == "shop events"
    assert info["version"] == "1"
    assert info["description"].startswith("A small shop.")
    assert "at least once" in info["description"]
    assert "deduplicate on its `id`" in info["description"]
    assert build_asyncapi(Blueprint())["info"]["title"] == "Bastion events"


def test_asyncapi_payload_accepts_an_event_in_the_published_format(
    shop_document: Document,
) -> None:
    validator = _payload_validator(shop_document, "ordersUpdated")
    assert list(validator.iter_errors(_order_event())) == []


@pytest.mark.parametrize(
    ("mistake", "change"),
    [
        ("decimal as a number", {"total": {"before": "12.50", "after": 14.0}}),
        ("a value outside the enum", {"status": {"before": "new", "after": "lost"}}),
        ("a write-only value sent", {"coupon": {"before": None, "after": "SAVE10"}}),
        ("a change without before", {"quantity": {"after": 2}}),
        ("an integer out of range", {"quantity": {"before": 1, "after": 100}}),
    ],
)
def test_asyncapi_payload_refuses_a_wrong_field_value(
    shop_document: Document, mistake: str, change: Document
) -> None:
    validator = _payload_validator(shop_document, "ordersUpdated")
    assert list(validator.iter_errors(_order_event(**change))), mistake


def test_asyncapi_payload_refuses_a_wrong_envelope(shop_document: Document) -> None:
    validator = _payload_validator(shop_document, "ordersUpdated")
    wrong_type = {**_order_event(), "type": "orders.created"}
    no_sequence = {k: v for k, v in _order_event().items() if k != "sequence"}
    bad_subject = {**_order_event(), "subject": "customers/0190a6f2-3c4d-7e5f-8a9b-0c1d2e3f4a5b"}
    bad_actor = copy.deepcopy(_order_event())
    bad_actor["data"]["actor"]["kind"] = "robot"
    for event in (wrong_type, no_sequence, bad_subject, bad_actor):
        assert list(validator.iter_errors(event))


def test_asyncapi_payload_accepts_anonymous_actors_and_erased_personal_data() -> None:
    people = Resource(
        fields={
            "email": StringField.model_validate({"personal": True, "required": True}),
            "age": IntegerField.model_validate({"personal": True}),
        }
    )
    document = build_asyncapi(Blueprint(resources={"people": people}))
    event = _order_event(
        email={"before": "[erased]", "after": "[erased]"},
        age={"before": "[erased]", "after": "[erased]"},
    )
    event.update(
        type="people.updated", source="/v1/people", subject=f"people/{event['data']['id']}"
    )
    event["data"].update(resource="people", actor={"kind": "anonymous", "id": None})
    validator = _payload_validator(document, "peopleUpdated")
    assert list(validator.iter_errors(event)) == []
    event["data"]["changes"]["age"] = {"before": "[erased]", "after": "forty"}
    assert list(validator.iter_errors(event))


def test_asyncapi_created_and_deleted_events_state_the_missing_side(
    shop_document: Document,
) -> None:
    created = {**_order_event(total={"before": "1.00", "after": "2.00"}), "type": "orders.created"}
    assert list(_payload_validator(shop_document, "ordersCreated").iter_errors(created))
    created["data"]["changes"] = {"total": {"before": None, "after": "2.00"}}
    assert list(_payload_validator(shop_document, "ordersCreated").iter_errors(created)) == []
    deleted = {**_order_event(total={"before": "2.00", "after": None}), "type": "orders.deleted"}
    assert list(_payload_validator(shop_document, "ordersDeleted").iter_errors(deleted)) == []


def test_asyncapi_field_values_use_the_openapi_field_schemas(shop_document: Document) -> None:
    openapi = build_openapi(SHOP_BLUEPRINT)["components"]["schemas"]["Orders"]["properties"]
    changes = shop_document["components"]["schemas"]["OrdersChanges"]["properties"]
    total = changes["total"]["properties"]["after"]
    assert total["pattern"] == openapi["total"]["pattern"]
    assert total["type"] == ["string", "null"]  # required, but null before a create
    reference = {k: v for k, v in openapi["reference"].items() if k != "readOnly"}
    assert changes["reference"]["properties"]["before"] == reference
    assert changes["coupon"]["properties"]["after"]["enum"] == ["[redacted]", None]


@pytest.mark.parametrize(
    ("url", "host", "protocol"),
    [
        ("amqp://guest:s3cret@rabbit.internal:5672/shop", "rabbit.internal:5672", "amqp"),
        ("nats://token@nats.internal:4222", "nats.internal:4222", "nats"),
        ("rediss://:pw@[::1]:6380/0", "[::1]:6380", "redis"),
    ],
)
def test_asyncapi_server_is_the_broker_without_credentials(
    url: str, host: str, protocol: str
) -> None:
    document = build_asyncapi(SHOP_BLUEPRINT, broker_url=url)
    assert document["servers"]["broker"]["host"] == host
    assert document["servers"]["broker"]["protocol"] == protocol
    assert "s3cret" not in json.dumps(document)
    assert "Servers: none listed" not in document["info"]["description"]


def test_asyncapi_refuses_a_broker_url_it_cannot_describe() -> None:
    with pytest.raises(ValueError, match=r"amqp://, amqps://, nats://"):
        build_asyncapi(SHOP_BLUEPRINT, broker_url="kafka://broker:9092")


def test_asyncapi_export_command_writes_the_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BASTION_BROKER_URL", raising=False)
    output = tmp_path / "asyncapi.json"
    result = CliRunner().invoke(
        cli,
        ["export", "asyncapi", str(EXAMPLE), "-o", str(output), "--broker-url", "nats://n:4222"],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(output.read_text(encoding="utf-8"))
    assert document["asyncapi"] == "3.0.0"
    assert document["servers"]["broker"] == {
        "host": "n:4222",
        "protocol": "nats",
        "description": "NATS JetStream: events go to subjects under the channel.",
    }
    refused = CliRunner().invoke(
        cli, ["export", "asyncapi", str(EXAMPLE), "--broker-url", "ftp://x"]
    )
    assert refused.exit_code == 2
    assert "--broker-url" in refused.output


def test_asyncapi_export_command_reads_the_broker_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BASTION_BROKER_CHANNEL", raising=False)
    monkeypatch.setenv("BASTION_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/")
    result = CliRunner().invoke(cli, ["export", "asyncapi", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["servers"]["broker"]["host"] == "127.0.0.1:5672"

    monkeypatch.setenv("BASTION_BROKER_URL", "memory://")  # the in-process bus: no server
    result = CliRunner().invoke(cli, ["export", "asyncapi", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "servers" not in json.loads(result.stdout)


def test_asyncapi_export_command_uses_the_configured_channel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BASTION_BROKER_URL", raising=False)
    monkeypatch.setenv("BASTION_BROKER_CHANNEL", "shop.events")
    result = CliRunner().invoke(cli, ["export", "asyncapi", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout)["channels"]["ordersCreated"]
    assert created["address"] == "shop.events.orders.created"
    assert created["bindings"]["amqp"]["exchange"]["name"] == "shop.events"
    assert "bastion.events" not in result.stdout

    result = CliRunner().invoke(cli, ["export", "asyncapi", str(EXAMPLE), "--channel", "crm"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["channels"]["ordersCreated"]["address"] == (
        "crm.orders.created"
    )


def test_asyncapi_export_command_lists_the_built_in_users_and_tenants(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BASTION_BROKER_CHANNEL", raising=False)
    result = CliRunner().invoke(cli, ["export", "asyncapi", str(SHOP)])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    addresses = {channel["address"] for channel in document["channels"].values()}
    for name in ("users", "tenants"):
        for action in ("created", "updated", "deleted"):
            assert f"bastion.events.{name}.{action}" in addresses
    # Bastion's own bookkeeping (credentials, the event log...) is internal: no channel.
    assert not [address for address in addresses if ".bastion_" in address]
    users = document["components"]["schemas"]["UsersChanges"]["properties"]
    assert "email" in users
    assert not {"password", "password_hash"} & set(users)
