"""The admin API in the document: ``/v1/admin/*`` (accounts, invitations, audit, keys,
feature flags, webhooks)."""

from __future__ import annotations

from bastion.api.rest.openapi.auth_operations import (
    ADMIN_ONLY,
    ID_PARAMETER,
    JSON_MEDIA,
    NO_STORE,
    WRITE,
    empty_response,
    json_response,
    operation,
    query_parameter,
    request_body,
)
from bastion.api.rest.openapi.auth_schemas import UUID_SCHEMA
from bastion.api.rest.openapi.fields import Schema
from bastion.api.rest.openapi.flag_paths import flag_paths
from bastion.api.rest.openapi.webhook_paths import webhook_paths

__all__ = ["admin_paths"]


def _admin_operations() -> dict[str, Schema]:
    """What admins do to accounts, keys and the audit trail."""
    denied = (403,)
    audit_parameters = [
        query_parameter("user", UUID_SCHEMA, "Only events about this user."),
        query_parameter("kind", {"type": "string"}, "Only events of this kind (`login`...)."),
        query_parameter(
            "limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, "Page size."
        ),
        query_parameter("before", UUID_SCHEMA, "Only events older than this one (`next_before`)."),
    ]
    user_query = [
        query_parameter("user", UUID_SCHEMA, "Only this user's keys (default: every user's).")
    ]
    return {
        "/v1/admin/users": {
            "post": operation(
                "admin",
                "admin_create_user",
                "Create a user",
                {"201": json_response("Users", "The new user.")},
                *WRITE,
                *denied,
                409,
                body=request_body("AdminUserCreate"),
            )
        },
        "/v1/admin/users/{id}": {
            "parameters": [ID_PARAMETER],
            "patch": operation(
                "admin",
                "admin_update_user",
                "Change a user's roles, status or tenant",
                {"200": json_response("Users", "The user.")},
                *WRITE,
                *denied,
                404,
                409,
                body=request_body("AdminUserUpdate", JSON_MEDIA, "application/merge-patch+json"),
            ),
        },
        "/v1/admin/service-accounts": {
            "post": operation(
                "admin",
                "admin_create_service_account",
                "Create a service account; its client secret is shown once",
                {
                    "201": json_response(
                        "ServiceAccountCreated",
                        "The account and its credentials.",
                        headers=NO_STORE,
                    )
                },
                *WRITE,
                *denied,
                body=request_body("ServiceAccountCreate"),
            )
        },
        "/v1/admin/invitations": {
            "post": operation(
                "admin",
                "admin_create_invitation",
                "Invite someone to register (the code is mailed to them)",
                {"201": json_response("Invitation", "The invitation.")},
                *WRITE,
                *denied,
                409,
                body=request_body("InvitationCreate"),
            )
        },
        "/v1/admin/api-keys": {
            "get": operation(
                "admin",
                "admin_list_api_keys",
                "Any user's API keys",
                {"200": json_response("ApiKeyList", "The keys, newest first.")},
                400,
                *denied,
                parameters=user_query,
            ),
            "post": operation(
                "admin",
                "admin_create_api_key",
                "Create an API key for a user; the key is shown once",
                {
                    "201": json_response(
                        "ApiKeyCreated", "The key, with its secret value.", headers=NO_STORE
                    )
                },
                *WRITE,
                *denied,
                body=request_body("AdminApiKeyCreate"),
            ),
        },
        "/v1/admin/api-keys/{id}": {
            "parameters": [ID_PARAMETER],
            "delete": operation(
                "admin",
                "admin_revoke_api_key",
                "Revoke any API key",
                {"204": empty_response("Revoked.")},
                *denied,
                404,
            ),
        },
        "/v1/admin/audit": {
            "get": operation(
                "admin",
                "admin_audit",
                "The auth audit trail, newest first",
                {"200": json_response("AuthEventPage", "A page of events.")},
                400,
                *denied,
                parameters=audit_parameters,
            )
        },
        "/v1/admin/signing-keys:rotate": {
            "post": operation(
                "admin",
                "admin_rotate_signing_keys",
                "Sign new access tokens with a new key (earlier tokens stay valid)",
                {"200": json_response("SigningKeyRotated", "The new key's id.")},
                *denied,
                409,
            )
        },
    }


def _needing_admin(paths: dict[str, Schema]) -> dict[str, Schema]:
    """``paths`` with each operation saying that it needs the admin role."""
    for item in paths.values():
        for method, op in item.items():
            if method != "parameters":
                more = op.get("description")
                op["description"] = f"{ADMIN_ONLY} {more}" if more else ADMIN_ONLY
    return paths


def admin_paths() -> dict[str, Schema]:
    """The admin API's paths, each operation saying that it needs the admin role."""
    return _needing_admin({**_admin_operations(), **flag_paths(), **webhook_paths()})
