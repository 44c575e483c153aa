"""The bodies of the identity endpoints, for ``components.schemas``.

Hand-written (these endpoints are not generated from resources); the records
they answer (``Users``) are the generated schemas of the identity resources.
"""

from __future__ import annotations

from bastion.api.rest.openapi.fields import Schema
from bastion.api.rest.openapi.schemas import ref

__all__ = ["UUID_SCHEMA", "auth_schemas"]

UUID_SCHEMA: Schema = {"type": "string", "format": "uuid"}
"""A UUID (record ids)."""
_UUID = UUID_SCHEMA
_NULLABLE_UUID: Schema = {"type": ["string", "null"], "format": "uuid"}
_WHEN: Schema = {"type": ["string", "null"], "format": "date-time"}
_ROLES: Schema = {"type": "array", "items": {"type": "string"}, "description": "Role names."}
_SCOPES: Schema = {
    "type": "array",
    "items": {"type": "string"},
    "description": "`*`, or `<resource>:read` / `<resource>:write`.",
}


def _object(properties: Schema, *required: str, description: str = "") -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if description:
        schema["description"] = description
    return schema


def auth_schemas() -> dict[str, Schema]:
    """The request and response bodies of the identity endpoints, for ``components.schemas``."""
    api_key = _object(
        {
            "id": _UUID,
            "user": _UUID,
            "name": {"type": "string"},
            "prefix": {"type": "string", "description": "The key's first characters."},
            "scopes": _SCOPES,
            "expires_at": _WHEN,
            "last_used_at": _WHEN,
            "revoked_at": _WHEN,
            "created_at": {"type": "string", "format": "date-time"},
        },
        "id",
        "user",
        "name",
        "prefix",
        "scopes",
        description="An API key, never with the key itself.",
    )
    key_create = {
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "scopes": _SCOPES,
        "expires_in": {"type": "integer", "minimum": 1, "description": "Seconds from now."},
        "expires_at": {"type": "string", "format": "date-time"},
    }
    return {
        "AuthRegister": _object(
            {
                "email": {"type": "string", "format": "email"},
                "password": {"type": "string", "minLength": 1},
                "name": {"type": "string"},
                "invitation": {"type": "string", "description": "The invitation code mailed."},
            },
            "email",
            "password",
        ),
        "AuthTokenRequest": _object(
            {
                "grant_type": {
                    "type": "string",
                    "enum": [
                        "password",
                        "refresh_token",
                        "client_credentials",
                        "urn:bastion:params:oauth:grant-type:mfa-otp",
                    ],
                },
                "username": {"type": "string", "description": "The email (password grant)."},
                "password": {"type": "string"},
                "scope": {"type": "string", "description": "Space-separated scopes."},
                "refresh_token": {"type": "string"},
                "client_id": {"type": "string", "description": "A service account's id."},
                "client_secret": {"type": "string"},
                "mfa_token": {"type": "string"},
                "otp": {"type": "string", "description": "A TOTP code or a recovery code."},
            },
            "grant_type",
        ),
        "AuthToken": _object(
            {
                "access_token": {"type": "string"},
                "token_type": {"type": "string", "enum": ["Bearer"]},
                "expires_in": {"type": "integer", "minimum": 1},
                "refresh_token": {"type": "string"},
                "scope": {"type": "string"},
            },
            "access_token",
            "token_type",
            "expires_in",
        ),
        "AuthRevoke": _object(
            {
                "token": {"type": "string"},
                "token_type_hint": {"type": "string", "enum": ["access_token", "refresh_token"]},
            },
            "token",
        ),
        "AuthMe": {
            "description": "The caller's user record; for a token of an external identity "
            "provider, what the token says (`external: true`).",
            "anyOf": [
                ref("Users"),
                _object(
                    {
                        "id": {"type": "string"},
                        "roles": _ROLES,
                        "tenant": {"type": ["string", "null"]},
                        "external": {"type": "boolean", "enum": [True]},
                    },
                    "id",
                    "roles",
                    "external",
                ),
            ],
        },
        "Jwks": _object(
            {"keys": {"type": "array", "items": {"type": "object"}}},
            "keys",
            description="The public keys that verify access tokens (RFC 7517).",
        ),
        "ApiKey": api_key,
        "ApiKeyCreate": _object(key_create, "name"),
        "AdminApiKeyCreate": _object({**key_create, "user": _UUID}, "name", "user"),
        "ApiKeyCreated": {
            "allOf": [
                ref("ApiKey"),
                _object(
                    {"key": {"type": "string", "description": "The key, shown only now."}}, "key"
                ),
            ]
        },
        "ApiKeyList": _object({"data": {"type": "array", "items": ref("ApiKey")}}, "data"),
        "AdminUserCreate": _object(
            {
                "email": {"type": "string", "format": "email"},
                "password": {"type": "string", "description": "Optional: none means a reset."},
                "name": {"type": "string"},
                "roles": _ROLES,
                "tenant": _NULLABLE_UUID,
                "email_verified": {"type": "boolean"},
            },
            "email",
        ),
        "AdminUserUpdate": _object(
            {
                "roles": _ROLES,
                "status": {"type": "string", "enum": ["active", "disabled"]},
                "tenant": _NULLABLE_UUID,
            },
            description="Any change cuts off the user's earlier access tokens.",
        ),
        "ServiceAccountCreate": _object(
            {"name": {"type": "string", "minLength": 1}, "roles": _ROLES, "tenant": _NULLABLE_UUID},
            "name",
        ),
        "ServiceAccountCreated": {
            "allOf": [
                ref("Users"),
                _object(
                    {
                        "client_id": {"type": "string"},
                        "client_secret": {"type": "string", "description": "Shown only now."},
                    },
                    "client_id",
                    "client_secret",
                ),
            ]
        },
        "InvitationCreate": _object(
            {
                "email": {"type": "string", "format": "email"},
                "roles": _ROLES,
                "tenant": _NULLABLE_UUID,
            },
            "email",
        ),
        "Invitation": _object(
            {
                "id": _UUID,
                "email": {"type": "string"},
                "roles": _ROLES,
                "tenant": _NULLABLE_UUID,
                "invited_by": _NULLABLE_UUID,
                "expires_at": {"type": "string", "format": "date-time"},
                "created_at": {"type": "string", "format": "date-time"},
            },
            "id",
            "email",
            "expires_at",
            description="An invitation; its code goes only to the invited address.",
        ),
        "AuthEvent": _object(
            {
                "id": _UUID,
                "created_at": {"type": "string", "format": "date-time"},
                "kind": {"type": "string", "examples": ["login", "roles_changed"]},
                "user": _NULLABLE_UUID,
                "actor": _NULLABLE_UUID,
                "ip": {"type": ["string", "null"]},
                "request_id": {"type": ["string", "null"]},
                "detail": {"type": "object"},
            },
            "id",
            "created_at",
            "kind",
        ),
        "AuthEventPage": _object(
            {
                "data": {"type": "array", "items": ref("AuthEvent")},
                "next_before": {
                    **_NULLABLE_UUID,
                    "description": "Pass as `before` for older events.",
                },
                "has_more": {"type": "boolean"},
            },
            "data",
            "next_before",
            "has_more",
        ),
        "SigningKeyRotated": _object({"kid": {"type": "string"}}, "kid"),
    }
