"""The blueprint: a declarative description of a domain, and how to read and check it.

A blueprint is written in YAML (``bastion.yaml``) or built in Python with the
same models; either way it is checked before anything is served::

    from bastion.blueprint import load_blueprint

    blueprint = load_blueprint("bastion.yaml")  # raises BlueprintInvalid, listing every problem

This package is pure: it imports nothing else of Bastion.
"""

from bastion.blueprint.access import ACTIONS, ADMIN_ROLE, ANYONE, AUTHENTICATED, AuthSpec, RoleGrant
from bastion.blueprint.access_rules import access_warnings, owner_field
from bastion.blueprint.errors import BlueprintInvalid, BlueprintProblem
from bastion.blueprint.identity import has_identity, with_identity
from bastion.blueprint.jsonschema import blueprint_json_schema
from bastion.blueprint.loader import load_blueprint, parse_blueprint
from bastion.blueprint.model import (
    FIELD_TYPES,
    QUERY_PARAMETERS,
    SYSTEM_FIELDS,
    AnyField,
    ApiVersion,
    BelongsTo,
    Blueprint,
    BooleanField,
    CacheSpec,
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
    OnDelete,
    PageSize,
    Resource,
    StringField,
    TextField,
    UrlField,
    UuidField,
    VersionChanges,
)
from bastion.blueprint.validate import validate_blueprint

__all__ = [
    "ACTIONS",
    "ADMIN_ROLE",
    "ANYONE",
    "AUTHENTICATED",
    "FIELD_TYPES",
    "QUERY_PARAMETERS",
    "SYSTEM_FIELDS",
    "AnyField",
    "ApiVersion",
    "AuthSpec",
    "BelongsTo",
    "Blueprint",
    "BlueprintInvalid",
    "BlueprintProblem",
    "BooleanField",
    "CacheSpec",
    "DateField",
    "DateTimeField",
    "DecimalField",
    "EmailField",
    "EnumField",
    "FloatField",
    "HasMany",
    "Index",
    "IntegerField",
    "JsonField",
    "OnDelete",
    "PageSize",
    "Resource",
    "RoleGrant",
    "StringField",
    "TextField",
    "UrlField",
    "UuidField",
    "VersionChanges",
    "access_warnings",
    "blueprint_json_schema",
    "has_identity",
    "load_blueprint",
    "owner_field",
    "parse_blueprint",
    "validate_blueprint",
    "with_identity",
]
