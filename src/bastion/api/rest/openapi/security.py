"""How the document states authentication: the security schemes, and what each
operation requires.

Three schemes describe the same ``Authorization: Bearer`` header: an access
token (``bearerAuth``, a JWT from ``POST /v1/auth/token``), an API key
(``apiKey``, ``bst_...``) and the OAuth2 flows that issue tokens (``oauth2``,
whose scopes are ``<resource>:read`` and ``<resource>:write``). Each operation
on a resource requires one of them with the scope it needs (reads need
``:read``, writes ``:write``); where the resource's ``access`` rules let
``anyone`` take the action, the empty requirement ``{}`` says a token is optional.
"""

from __future__ import annotations

from bastion.api.rest.openapi.auth_paths import auth_paths, auth_tags
from bastion.api.rest.openapi.auth_schemas import auth_schemas
from bastion.api.rest.openapi.fields import Schema
from bastion.api.rest.openapi.flag_paths import flag_schemas
from bastion.api.rest.openapi.responses import problem_ref
from bastion.api.rest.openapi.views import api_views
from bastion.api.rest.openapi.webhook_paths import webhook_schemas
from bastion.blueprint import Blueprint, Resource
from bastion.blueprint.access import ANYONE, Action
from bastion.blueprint.identity import has_identity

__all__ = [
    "TOKEN_URL",
    "add_security",
    "operation_security",
    "resource_scopes",
    "security_schemes",
]

TOKEN_URL = "/v1/auth/token"
"""Where the OAuth2 flows get tokens."""

_BEARER = "bearerAuth"
_API_KEY = "apiKey"
_OAUTH2 = "oauth2"


def resource_scopes(blueprint: Blueprint) -> dict[str, str]:
    """Every scope a token or API key may carry, with what it allows."""
    scopes = {"*": "Everything the user's roles allow."}
    for name in blueprint.served_resources():
        scopes[f"{name}:read"] = f"List and read {name}."
        scopes[f"{name}:write"] = f"Create, change and delete {name}."
    return scopes


def security_schemes(blueprint: Blueprint) -> dict[str, Schema]:
    """``components.securitySchemes``: access tokens, API keys and the OAuth2 flows."""
    scopes = resource_scopes(blueprint)
    jwt: Schema = {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": f"An access token from `POST {TOKEN_URL}` (OAuth2, RFC 6749), sent as "
        "`Authorization: Bearer <token>`. It is short-lived: refresh it with the refresh "
        "token.",
    }
    return {
        _BEARER: jwt,
        _API_KEY: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "bst_ API key",
            "description": "An API key (`bst_` and 46 characters) from `POST /v1/auth/api-keys`, "
            "sent as `Authorization: Bearer bst_...`. It acts as its user, narrowed to the "
            "scopes it was created with; it is shown once, when created.",
        },
        _OAUTH2: {
            "type": "oauth2",
            "description": "Sign in with a password (people) or client credentials (service "
            "accounts) to get an access token; ask for fewer scopes to narrow it.",
            "flows": {
                "password": {"tokenUrl": TOKEN_URL, "refreshUrl": TOKEN_URL, "scopes": scopes},
                "clientCredentials": {"tokenUrl": TOKEN_URL, "scopes": dict(scopes)},
            },
        },
    }


def _anyone_may(resource: Resource, action: Action) -> bool:
    grant = (resource.access or {}).get(ANYONE)
    return grant is not None and grant.allows(action)


def operation_security(resource_name: str, resource: Resource, action: Action) -> list[Schema]:
    """The security requirement of ``action`` on a resource (an OpenAPI ``security`` list)."""
    access = "read" if action in ("list", "read") else "write"
    scope = [f"{resource_name}:{access}"]
    requirement: list[Schema] = [{_BEARER: scope}, {_API_KEY: scope}, {_OAUTH2: scope}]
    if _anyone_may(resource, action):
        requirement.append({})
    return requirement


_COLLECTION: dict[str, Action] = {"get": "list", "post": "create"}
_ITEM: dict[str, Action] = {"get": "read", "put": "update", "patch": "update", "delete": "delete"}


def _resource_actions(prefix: str, name: str) -> dict[str, dict[str, Action]]:
    base = f"{prefix}/{name}"
    return {
        base: _COLLECTION,
        f"{base}:batch": {"post": "create"},
        f"{base}:aggregate": {"get": "list"},
        f"{base}/{{id}}": _ITEM,
        f"{base}/{{id}}/history": {"get": "read"},
    }


def _secure(operation: Schema, requirement: list[Schema]) -> None:
    operation["security"] = requirement
    responses = operation.setdefault("responses", {})
    for status in (401, 403):
        responses.setdefault(str(status), problem_ref(status))


def add_security(document: Schema, blueprint: Blueprint) -> Schema:
    """Add the security schemes, each resource operation's requirement and, when the
    blueprint has the identity resources, the ``/v1/auth`` and ``/v1/admin`` endpoints.

    Args:
        document: a document built by :func:`~bastion.api.rest.openapi.build_openapi`;
            changed in place.
        blueprint: the blueprint it was built from.

    Returns:
        ``document``.
    """
    components = document.setdefault("components", {})
    components["securitySchemes"] = security_schemes(blueprint)
    paths: Schema = document.setdefault("paths", {})
    for api in api_views(blueprint):
        for name, view in api.resources.items():
            for path, actions in _resource_actions(api.prefix, name).items():
                item = paths.get(path)
                if item is None:
                    continue
                for method, action in actions.items():
                    if method in item:
                        _secure(item[method], operation_security(name, view.resource, action))
    if has_identity(blueprint):
        components.setdefault("schemas", {}).update(auth_schemas())
        components["schemas"].update(flag_schemas())
        components["schemas"].update(webhook_schemas())
        paths.update(auth_paths())
        document.setdefault("tags", []).extend(auth_tags())
    return document
