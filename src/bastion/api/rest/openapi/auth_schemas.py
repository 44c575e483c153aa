"""The bodies of the identity endpoints, for ``components.schemas``.

The JSON request bodies are derived from the routes' own models
(:mod:`.auth_bodies`). The answers, and the form parameters of the token and
revocation endpoints, are hand-written here; the records they answer
(``Users``) are the generated schemas of the identity resources.
"""

from __future__ import annotations

from bastion.api.rest.auth.token_endpoint import MFA_OTP_GRANT
from bastion.api.rest.openapi.auth_bodies import request_body_schemas
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
    return {
        **request_body_schemas(),
        **_token_schemas(),
        **_mfa_schemas(),
        "AuthAccepted": _object(
            {"detail": {"type": "string", "description": "What happens next."}},
            "detail",
            description="The request was taken; an email is on its way (if one is due).",
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
        "ApiKeyCreated": {
            "allOf": [
                ref("ApiKey"),
                _object(
                    {"key": {"type": "string", "description": "The key, shown only now."}}, "key"
                ),
            ]
        },
        "ApiKeyList": _object({"data": {"type": "array", "items": ref("ApiKey")}}, "data"),
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


_OAUTH_ERRORS = [
    "invalid_request",
    "invalid_grant",
    "invalid_client",
    "invalid_scope",
    "unsupported_grant_type",
    "mfa_required",
    "mfa_enrollment_required",
]


def _token_schemas() -> dict[str, Schema]:
    """The token and revocation endpoints' parameters, tokens and OAuth errors."""
    return {
        "AuthTokenRequest": _object(
            {
                "grant_type": {
                    "type": "string",
                    "enum": ["password", "refresh_token", "client_credentials", MFA_OTP_GRANT],
                    "description": "`password`: `username` and `password`; `refresh_token`: "
                    "`refresh_token`; `client_credentials`: `client_id` and `client_secret` "
                    f"(or HTTP Basic); `{MFA_OTP_GRANT}`: `mfa_token` and `otp`, after an "
                    "`mfa_required` answer. Each may narrow the token with `scope`.",
                },
                "username": {"type": "string", "description": "The email (password grant)."},
                "password": {"type": "string"},
                "scope": {"type": "string", "description": "Space-separated scopes."},
                "refresh_token": {"type": "string", "description": "Used up by the refresh."},
                "client_id": {"type": "string", "description": "A service account's id."},
                "client_secret": {"type": "string"},
                "mfa_token": {"type": "string", "description": "From the `mfa_required` answer."},
                "otp": {"type": "string", "description": "A TOTP code or a recovery code."},
            },
            "grant_type",
            description="The token request's parameters (RFC 6749), form-encoded or as a JSON "
            "object of strings.",
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
        "OAuthProblem": {
            "description": "A refused token request: a problem document that also carries "
            "RFC 6749's `error` and `error_description`.",
            "allOf": [
                ref("Problem"),
                _object(
                    {
                        "error": {"type": "string", "enum": _OAUTH_ERRORS},
                        "error_description": {"type": "string"},
                        "mfa_token": {
                            "type": "string",
                            "description": "With `mfa_required`: for the `mfa-otp` grant; with "
                            "`mfa_enrollment_required`: for the MFA enrolment endpoints.",
                        },
                    },
                    "error",
                    "error_description",
                ),
            ],
        },
    }


def _mfa_schemas() -> dict[str, Schema]:
    """The answers of the MFA endpoints."""
    codes: Schema = {
        "type": "array",
        "items": {"type": "string"},
        "description": "One-time recovery codes, shown only now: each signs in once in place "
        "of a TOTP code.",
    }
    return {
        "MfaEnrolment": _object(
            {
                "secret": {"type": "string", "description": "The TOTP secret (base32)."},
                "otpauth_uri": {
                    "type": "string",
                    "description": "An `otpauth://` URI of the secret, for a QR code.",
                },
                "recovery_codes": codes,
            },
            "secret",
            "otpauth_uri",
            "recovery_codes",
            description="A pending enrolment, on once confirmed; shown only now.",
        ),
        "MfaEnabled": _object(
            {"mfa_enabled": {"type": "boolean", "enum": [True]}},
            "mfa_enabled",
            description="MFA is on.",
        ),
        "RecoveryCodes": _object({"recovery_codes": codes}, "recovery_codes"),
    }
