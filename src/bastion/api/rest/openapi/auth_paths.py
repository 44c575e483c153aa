"""The identity endpoints in the document: ``/v1/auth/*``, ``/v1/admin/*`` and the JWKS.

They are served beside the generated resource endpoints when the blueprint
carries the identity resources (their bodies: :mod:`.auth_schemas`).
"""

from __future__ import annotations

from bastion.api.rest.openapi.auth_schemas import UUID_SCHEMA
from bastion.api.rest.openapi.fields import Schema
from bastion.api.rest.openapi.responses import header_ref, problem_ref
from bastion.api.rest.openapi.schemas import ref

__all__ = ["auth_paths", "auth_tags"]

_UUID = UUID_SCHEMA
_BEARER: list[Schema] = [{"bearerAuth": []}, {"apiKey": []}, {"oauth2": []}]
_ALWAYS = (500, 503)
_FORM = "application/x-www-form-urlencoded"


def _json(schema: str, description: str, *, headers: Schema | None = None) -> Schema:
    answer: Schema = {
        "description": description,
        "headers": {"X-Request-ID": header_ref("X-Request-ID"), **(headers or {})},
        "content": {"application/json": {"schema": ref(schema)}},
    }
    return answer


def _operation(
    tag: str,
    operation_id: str,
    summary: str,
    responses: Schema,
    *statuses: int,
    body: Schema | None = None,
    secured: bool = True,
    parameters: list[Schema] | None = None,
) -> Schema:
    for status in sorted({*statuses, *_ALWAYS, *((401,) if secured else ())}):
        responses[str(status)] = problem_ref(status)
    operation: Schema = {
        "tags": [tag],
        "operationId": operation_id,
        "summary": summary,
        "responses": responses,
        "security": _BEARER if secured else [{}],
    }
    if body is not None:
        operation["requestBody"] = body
    if parameters:
        operation["parameters"] = parameters
    return operation


def _empty(description: str) -> Schema:
    return {"description": description, "headers": {"X-Request-ID": header_ref("X-Request-ID")}}


def _body(schema: str, *media_types: str) -> Schema:
    types = media_types or ("application/json",)
    return {"required": True, "content": {t: {"schema": ref(schema)} for t in types}}


def _query(name: str, schema: Schema, description: str) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


_ID = {"name": "id", "in": "path", "required": True, "schema": _UUID}
_WRITE = (400, 413, 415, 422)
_NO_STORE = {"Cache-Control": {"schema": {"type": "string"}, "description": "`no-store`."}}


def _auth() -> dict[str, Schema]:
    deleted = _empty("Revoked.")
    return {
        "/v1/auth/register": {
            "post": _operation(
                "auth",
                "register",
                "Create an account (per the blueprint's registration mode)",
                {"201": _json("Users", "The new user; a verification email is on its way.")},
                *_WRITE,
                403,
                409,
                429,
                body=_body("AuthRegister"),
                secured=False,
            )
        },
        "/v1/auth/token": {
            "post": _operation(
                "auth",
                "token",
                "Get an access token (OAuth2 token endpoint, RFC 6749)",
                {"200": _json("AuthToken", "The tokens.", headers=_NO_STORE)},
                400,
                401,
                413,
                415,
                429,
                body=_body("AuthTokenRequest", _FORM, "application/json"),
                secured=False,
            )
        },
        "/v1/auth/revoke": {
            "post": _operation(
                "auth",
                "revoke",
                "Revoke a token (RFC 7009); unknown tokens are accepted too",
                {"200": _empty("Revoked.")},
                400,
                413,
                415,
                body=_body("AuthRevoke", _FORM, "application/json"),
                secured=False,
            )
        },
        "/v1/auth/me": {
            "get": _operation(
                "auth", "me", "The signed-in user", {"200": _json("AuthMe", "The caller.")}, 403
            )
        },
        "/v1/auth/logout": {
            "post": _operation(
                "auth",
                "logout",
                "End this session: the access token and, if sent, its refresh token family",
                {"204": _empty("Signed out.")},
                400,
                413,
                415,
            )
        },
        "/v1/auth/logout-all": {
            "post": _operation(
                "auth",
                "logout_all",
                "End every session of the caller, on every device",
                {"204": _empty("Signed out everywhere.")},
            )
        },
        "/.well-known/jwks.json": {
            "get": _operation(
                "auth",
                "jwks",
                "The public keys that verify access tokens",
                {"200": _json("Jwks", "The key set (cacheable for five minutes).")},
                secured=False,
            )
        },
        "/v1/auth/api-keys": {
            "get": _operation(
                "auth",
                "list_api_keys",
                "The caller's API keys (never the keys themselves)",
                {"200": _json("ApiKeyList", "The keys, newest first.")},
                403,
            ),
            "post": _operation(
                "auth",
                "create_api_key",
                "Create an API key for the caller; the key is shown once",
                {"201": _json("ApiKeyCreated", "The key, with its secret value.")},
                *_WRITE,
                403,
                body=_body("ApiKeyCreate"),
            ),
        },
        "/v1/auth/api-keys/{id}": {
            "parameters": [_ID],
            "delete": _operation(
                "auth",
                "revoke_api_key",
                "Revoke one of the caller's API keys",
                {"204": deleted},
                403,
                404,
            ),
        },
    }


def _admin() -> dict[str, Schema]:
    denied = (403,)
    audit_parameters = [
        _query("user", _UUID, "Only events about this user."),
        _query("kind", {"type": "string"}, "Only events of this kind (`login`...)."),
        _query(
            "limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, "Page size."
        ),
        _query("before", _UUID, "Only events older than this one (`next_before`)."),
    ]
    user_query = [_query("user", _UUID, "Only this user's keys (default: every user's).")]
    return {
        "/v1/admin/users": {
            "post": _operation(
                "admin",
                "admin_create_user",
                "Create a user",
                {"201": _json("Users", "The new user.")},
                *_WRITE,
                *denied,
                409,
                body=_body("AdminUserCreate"),
            )
        },
        "/v1/admin/users/{id}": {
            "parameters": [_ID],
            "patch": _operation(
                "admin",
                "admin_update_user",
                "Change a user's roles, status or tenant",
                {"200": _json("Users", "The user.")},
                *_WRITE,
                *denied,
                404,
                409,
                body=_body("AdminUserUpdate", "application/json", "application/merge-patch+json"),
            ),
        },
        "/v1/admin/service-accounts": {
            "post": _operation(
                "admin",
                "admin_create_service_account",
                "Create a service account; its client secret is shown once",
                {"201": _json("ServiceAccountCreated", "The account and its credentials.")},
                *_WRITE,
                *denied,
                body=_body("ServiceAccountCreate"),
            )
        },
        "/v1/admin/invitations": {
            "post": _operation(
                "admin",
                "admin_create_invitation",
                "Invite someone to register (the code is mailed to them)",
                {"201": _json("Invitation", "The invitation.")},
                *_WRITE,
                *denied,
                409,
                body=_body("InvitationCreate"),
            )
        },
        "/v1/admin/api-keys": {
            "get": _operation(
                "admin",
                "admin_list_api_keys",
                "Any user's API keys",
                {"200": _json("ApiKeyList", "The keys, newest first.")},
                400,
                *denied,
                parameters=user_query,
            ),
            "post": _operation(
                "admin",
                "admin_create_api_key",
                "Create an API key for a user; the key is shown once",
                {"201": _json("ApiKeyCreated", "The key, with its secret value.")},
                *_WRITE,
                *denied,
                body=_body("AdminApiKeyCreate"),
            ),
        },
        "/v1/admin/api-keys/{id}": {
            "parameters": [_ID],
            "delete": _operation(
                "admin",
                "admin_revoke_api_key",
                "Revoke any API key",
                {"204": _empty("Revoked.")},
                *denied,
                404,
            ),
        },
        "/v1/admin/audit": {
            "get": _operation(
                "admin",
                "admin_audit",
                "The auth audit trail, newest first",
                {"200": _json("AuthEventPage", "A page of events.")},
                400,
                *denied,
                parameters=audit_parameters,
            )
        },
        "/v1/admin/signing-keys:rotate": {
            "post": _operation(
                "admin",
                "admin_rotate_signing_keys",
                "Sign new access tokens with a new key (earlier tokens stay valid)",
                {"200": _json("SigningKeyRotated", "The new key's id.")},
                *denied,
                409,
            )
        },
    }


def auth_paths() -> dict[str, Schema]:
    """The identity endpoints' paths, with their operations."""
    return {**_auth(), **_admin()}


def auth_tags() -> list[Schema]:
    """The tags grouping the identity endpoints."""
    return [
        {"name": "auth", "description": "Sign in, tokens, the caller's account and API keys."},
        {"name": "admin", "description": "Accounts, invitations, audit and keys (admins only)."},
    ]
