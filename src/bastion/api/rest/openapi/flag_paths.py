"""The feature flag admin API in the document: ``/v1/admin/flags`` and its bodies.

Included by :mod:`.admin_paths` (paths) and :mod:`.security` (schemas). The
paths do not depend on the blueprint: flags change at runtime, and an
unknown flag answers 404.
"""

from __future__ import annotations

from bastion.api.rest.openapi.auth_operations import (
    WRITE,
    empty_response,
    json_response,
    operation,
    request_body,
)
from bastion.api.rest.openapi.fields import Schema
from bastion.api.rest.openapi.schemas import ref

__all__ = ["flag_paths", "flag_schemas"]

_VALUE: Schema = {
    "type": ["boolean", "string", "number"],
    "description": "A value of the flag's type.",
}
_STRINGS: Schema = {"type": "array", "items": {"type": "string"}}
_NAME: Schema = {
    "name": "name",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "The flag's name, as the blueprint declares it.",
}
_REASONS = ["STATIC", "TARGETING_MATCH", "SPLIT", "DEFAULT", "DISABLED"]


def _object(properties: Schema, *required: str, closed: bool = False) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return schema


def flag_schemas() -> dict[str, Schema]:
    """The bodies of the flag admin API, for ``components.schemas``."""
    rules: Schema = {"type": "array", "items": ref("FlagRule")}
    definition = _object(
        {"default": _VALUE, "rules": rules, "enabled": {"type": "boolean"}}, "default", "rules"
    )
    return {
        "FlagRule": _object(
            {
                "roles": {**_STRINGS, "description": "The caller holds one of these roles."},
                "tenants": {**_STRINGS, "description": "The caller is in one of these tenants."},
                "users": {**_STRINGS, "description": "The caller is one of these users (ids)."},
                "percentage": {
                    "type": "number",
                    "minimum": 0,
                    "maximum": 100,
                    "description": "The caller is in this share of the flag's stable buckets "
                    "(never an anonymous caller).",
                },
                "value": _VALUE,
            },
            "value",
            closed=True,
        ),
        "FlagOverride": {
            **_object(
                {
                    "default": {**_VALUE, "type": [*_VALUE["type"], "null"]},
                    "rules": {**rules, "type": ["array", "null"]},
                    "enabled": {
                        "type": "boolean",
                        "description": "`false` switches the flag off: everyone gets the "
                        "default, and the rules are kept.",
                    },
                },
                closed=True,
            ),
            "minProperties": 1,
            "description": "Values over the blueprint's; what is left out (or `null`) stays "
            "as the blueprint says. Checked by the flag's rules (type, variants, roles, "
            "percentages from 0 to 100).",
        },
        "FlagOverrideState": _object(
            {
                "default": {"description": "The default set, or `null` (the blueprint's)."},
                "rules": {"type": ["array", "null"], "items": {"type": "object"}},
                "enabled": {"type": "boolean"},
                "updated_at": {"type": ["string", "null"], "format": "date-time"},
                "updated_by": {"type": ["string", "null"], "format": "uuid"},
            },
            "default",
            "rules",
            "enabled",
        ),
        "Flag": _object(
            {
                "name": {"type": "string"},
                "type": {"enum": ["boolean", "string", "number"]},
                "description": {"type": ["string", "null"]},
                "variants": {"type": ["array", "null"], "items": {"type": "string"}},
                "declared": definition,
                "override": {"anyOf": [ref("FlagOverrideState"), {"type": "null"}]},
                "effective": {**definition, "required": ["default", "rules", "enabled"]},
                "problems": {
                    **_STRINGS,
                    "description": "Why a stored override is not in force (it no longer fits "
                    "the blueprint); empty otherwise.",
                },
            },
            "name",
            "type",
            "declared",
            "override",
            "effective",
            "problems",
        ),
        "FlagList": _object({"data": {"type": "array", "items": ref("Flag")}}, "data"),
        "FlagEvaluationRequest": _object(
            {
                "user": {
                    "type": ["string", "null"],
                    "description": "The user id (none: anonymous).",
                },
                "roles": _STRINGS,
                "tenant": {"type": ["string", "null"]},
            },
            closed=True,
        ),
        "FlagEvaluation": _object(
            {
                "flag": {"type": "string"},
                "value": _VALUE,
                "reason": {"enum": _REASONS},
                "variant": {"type": "string"},
                "rule": {"type": ["integer", "null"], "description": "The rule that matched."},
            },
            "flag",
            "value",
            "reason",
            "variant",
            "rule",
        ),
    }


def flag_paths() -> dict[str, Schema]:
    """The flag admin API's paths (the caller marks them admin-only)."""
    denied = (403,)
    return {
        "/v1/admin/flags": {
            "get": operation(
                "admin",
                "admin_list_flags",
                "Every feature flag: as declared, its override, and as in force",
                {"200": json_response("FlagList", "The flags, in the blueprint's order.")},
                *denied,
            )
        },
        "/v1/admin/flags/{name}": {
            "parameters": [_NAME],
            "get": operation(
                "admin",
                "admin_get_flag",
                "One feature flag",
                {"200": json_response("Flag", "The flag.")},
                *denied,
                404,
            ),
            "put": operation(
                "admin",
                "admin_override_flag",
                "Override a flag's default, rules or state (audited as flag.updated)",
                {"200": json_response("Flag", "The flag, with the override in force.")},
                *WRITE,
                *denied,
                404,
                409,
                body=request_body("FlagOverride"),
            ),
            "delete": operation(
                "admin",
                "admin_reset_flag",
                "Remove a flag's override: the blueprint's definition again "
                "(audited as flag.reset)",
                {"204": empty_response("Reset (or there was no override).")},
                *denied,
                404,
            ),
        },
        "/v1/admin/flags/{name}:evaluate": {
            "parameters": [_NAME],
            "post": operation(
                "admin",
                "admin_evaluate_flag",
                "A flag's value for a given caller, and why",
                {"200": json_response("FlagEvaluation", "The value and the reason.")},
                *WRITE,
                *denied,
                404,
                body=request_body("FlagEvaluationRequest"),
            ),
        },
    }
