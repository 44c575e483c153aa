"""The JSON Schema of the blueprint file, for editors and other tools.

Editors that know the schema (VS Code with the YAML extension, JetBrains IDEs)
complete keys and field types and flag typos while ``bastion.yaml`` is typed.
``bastion export blueprint-schema`` writes it; point the editor at it with a
first line such as::

    # yaml-language-server: $schema=./blueprint.schema.json

The schema checks the shape of each piece; the meaning of the whole (a
relation to a missing resource, a cycle of required relations) is checked by
:func:`bastion.blueprint.validate_blueprint`.
"""

from __future__ import annotations

from typing import Any

from bastion.blueprint.model import Blueprint

__all__ = ["BLUEPRINT_SCHEMA_ID", "blueprint_json_schema"]

BLUEPRINT_SCHEMA_ID = "https://bastion.dev/schema/blueprint-1.json"
"""The ``$id`` of the schema of blueprint format version 1."""

_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def blueprint_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a blueprint file, derived from the models.

    Returns:
        A new dictionary, safe to change, ready for ``json.dumps``.

    Example:
        >>> schema = blueprint_json_schema()
        >>> schema["$id"]
        'https://bastion.dev/schema/blueprint-1.json'
    """
    body = Blueprint.model_json_schema(mode="validation")
    for definition in body.get("$defs", {}).values():
        # Every field kind must say its ``type``: the models default it, a file may not.
        tag = definition.get("properties", {}).get("type", {})
        if "const" in tag:
            required = definition.setdefault("required", [])
            if "type" not in required:
                required.insert(0, "type")
    return {
        "$schema": _DIALECT,
        "$id": BLUEPRINT_SCHEMA_ID,
        **body,
        "title": "Bastion blueprint",
        "description": (
            "A Bastion blueprint (bastion.yaml): the resources of a domain, their fields, "
            "relations and indexes."
        ),
    }
