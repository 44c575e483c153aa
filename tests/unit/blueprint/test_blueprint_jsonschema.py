"""The JSON Schema of the blueprint file, which editors use to complete and check it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from bastion.blueprint import FIELD_TYPES, blueprint_json_schema

SHOP = Path(__file__).parent / "shop.yaml"


def test_schema_declares_its_dialect_id_and_title() -> None:
    schema = blueprint_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "https://bastion.dev/schema/blueprint-1.json"
    assert schema["title"] == "Bastion blueprint"


def test_schema_never_mentions_the_private_source() -> None:
    assert "_source" not in json.dumps(blueprint_json_schema())


def test_schema_offers_every_field_type_for_completion() -> None:
    schema = blueprint_json_schema()
    tags = {
        definition["properties"]["type"]["const"]
        for definition in schema["$defs"].values()
        if "const" in definition.get("properties", {}).get("type", {})
    }
    assert tags == set(FIELD_TYPES)


def test_schema_requires_the_type_of_every_field() -> None:
    for definition in blueprint_json_schema()["$defs"].values():
        if "type" in definition.get("properties", {}):
            assert definition["required"][0] == "type"


def test_schema_flags_unknown_keys_like_the_loader() -> None:
    schema = blueprint_json_schema()
    assert schema["additionalProperties"] is False
    assert all(
        d.get("additionalProperties") is False
        for d in schema["$defs"].values()
        if d.get("type") == "object"
    )


def test_schema_top_level_keys_are_those_of_a_blueprint_file() -> None:
    assert set(blueprint_json_schema()["properties"]) == {
        "version",
        "name",
        "description",
        "resources",
        "hooks",
        "routes",
        "auth",
        "api_versions",
        "flags",
    }


def test_schema_is_a_fresh_copy_each_time() -> None:
    first = blueprint_json_schema()
    first["$defs"].clear()
    assert blueprint_json_schema()["$defs"]


def test_shop_example_fits_the_schema_field_options() -> None:
    # Without a JSON Schema validator at hand, check what editors complete: every
    # key the example uses on a field is a property of that field type's schema.
    schema = blueprint_json_schema()
    by_type: dict[str, dict[str, Any]] = {
        definition["properties"]["type"]["const"]: definition
        for definition in schema["$defs"].values()
        if "const" in definition.get("properties", {}).get("type", {})
    }
    shop = yaml.safe_load(SHOP.read_text(encoding="utf-8"))
    for resource in shop["resources"].values():
        for field in resource["fields"].values():
            assert set(field) <= set(by_type[field["type"]]["properties"])
