"""The JSON request bodies of the identity endpoints, for ``components.schemas``.

Each is derived from the pydantic model the route itself validates the body
with (``model_json_schema``), so the document cannot drift from the code: a
member added, renamed, made required or limited there is in the document too.
Descriptions and formats the models do not carry are laid over the derived
schemas; laying one over a member the model does not have is an error.

Only the token and revocation endpoints (form-encoded, RFC 6749 and 7009)
read their parameters without a model; their schemas are in :mod:`.auth_schemas`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

# The routes' own body models, so the document cannot drift from what they accept.
from bastion.api.rest.auth.account_routes import (
    LogoutBody,
    PasswordBody,
    PasswordChangeBody,
    RegisterBody,
)
from bastion.api.rest.auth.admin_routes import (
    AdminApiKeyCreateBody,
    InvitationCreateBody,
    ServiceAccountCreateBody,
    UserCreateBody,
    UserUpdateBody,
)
from bastion.api.rest.auth.api_key_routes import ApiKeyCreate
from bastion.api.rest.auth.mfa_routes import MfaConfirm, MfaProof, MfaStart
from bastion.api.rest.auth.recovery_routes import ForgotPassword, ResetPassword, VerifyEmail
from bastion.api.rest.openapi.fields import Schema

__all__ = ["REQUEST_BODY_MODELS", "model_schema", "request_body_schemas"]

_EMAIL: Schema = {"format": "email"}
_ROLES: Schema = {"description": "Role names (declared under `auth.roles`, or `admin`)."}
_TENANT: Schema = {"description": "The tenant's id."}
_OTP: Schema = {"description": "A current code of the authenticator app, or a recovery code."}
_MFA_TOKEN: Schema = {
    "description": "The `mfa_token` of a sign-in answered `mfa_enrollment_required`, in place "
    "of a bearer token."
}
_SCOPES: Schema = {
    "description": "`*`, or `<resource>:read` / `<resource>:write`; no wider than the "
    "credential creating the key. Omitted: what that credential may do."
}
_KEY_CREATE: dict[str, Schema] = {
    "name": {"description": "What the key is for."},
    "scopes": _SCOPES,
    "expires_in": {"description": "Seconds from now until the key expires."},
    "expires_at": {"description": "When the key expires (instead of `expires_in`)."},
}

REQUEST_BODY_MODELS: dict[str, tuple[type[BaseModel], str, dict[str, Schema]]] = {
    "AuthRegister": (
        RegisterBody,
        "A new account: the password must follow the password rules.",
        {
            "email": _EMAIL,
            "invitation": {"description": "The invitation code mailed (`invite_only`)."},
        },
    ),
    "AuthPassword": (PasswordBody, "The caller's password, to confirm it is them.", {}),
    "AuthPasswordChange": (
        PasswordChangeBody,
        "The current password and the new one (which must follow the password rules).",
        {},
    ),
    "AuthLogout": (
        LogoutBody,
        "Optionally, the session's refresh token, to end its family too.",
        {},
    ),
    "MfaStart": (
        MfaStart,
        "Optional with a bearer token; without one, the `mfa_token` sign-in gave.",
        {"mfa_token": _MFA_TOKEN},
    ),
    "MfaConfirm": (
        MfaConfirm,
        "A code of the authenticator app just enrolled.",
        {
            "otp": {"description": "A current code of the authenticator app."},
            "mfa_token": _MFA_TOKEN,
        },
    ),
    "MfaProof": (
        MfaProof,
        "The password or a current code (one of the two), to confirm it is the caller.",
        {"otp": _OTP},
    ),
    "VerifyEmail": (VerifyEmail, "The code of the verification email.", {}),
    "ForgotPassword": (ForgotPassword, "The account's email address.", {"email": _EMAIL}),
    "ResetPassword": (
        ResetPassword,
        "The code of the reset email and the new password (which must follow the password rules).",
        {},
    ),
    "ApiKeyCreate": (ApiKeyCreate, "A new API key for the caller.", _KEY_CREATE),
    "AdminApiKeyCreate": (
        AdminApiKeyCreateBody,
        "A new API key for a user.",
        {**_KEY_CREATE, "user": {"description": "The id of the user the key acts as."}},
    ),
    "AdminUserCreate": (
        UserCreateBody,
        "A new user; without a password, the user sets one through a password reset.",
        {"email": _EMAIL, "roles": _ROLES, "tenant": _TENANT},
    ),
    "AdminUserUpdate": (
        UserUpdateBody,
        "The changes (a JSON merge patch); any change cuts off the user's earlier access tokens.",
        {"roles": _ROLES, "tenant": _TENANT},
    ),
    "ServiceAccountCreate": (
        ServiceAccountCreateBody,
        "A new service account; it signs in with client credentials.",
        {"roles": _ROLES, "tenant": _TENANT},
    ),
    "InvitationCreate": (
        InvitationCreateBody,
        "Whom to invite, and the roles and tenant they will get.",
        {"email": _EMAIL, "roles": _ROLES, "tenant": _TENANT},
    ),
}
"""Each request body's component name: the route's model, a description and what to lay
over its members."""


def _without_titles(node: Any) -> Any:
    """``node`` without pydantic's generated ``title`` keywords (member names say as much)."""
    if isinstance(node, list):
        return [_without_titles(item) for item in node]
    if not isinstance(node, dict):
        return node
    schema: Schema = {}
    for key, value in node.items():
        if key == "title":
            continue
        if key == "properties":
            schema[key] = {name: _without_titles(member) for name, member in value.items()}
        elif key in ("items", "anyOf", "oneOf", "allOf", "not", "additionalProperties"):
            schema[key] = _without_titles(value)
        else:
            schema[key] = value
    return schema


def model_schema(
    model: type[BaseModel], description: str, members: dict[str, Schema] | None = None
) -> Schema:
    """The JSON Schema of ``model`` as a component: without generated titles, described,
    and with ``members`` laid over its properties.

    Raises:
        ValueError: ``members`` names a property ``model`` does not have, or the model's
            schema needs definitions of its own (a nested model).
    """
    raw = model.model_json_schema()
    if "$defs" in raw:
        raise ValueError(f"{model.__name__} nests models; describe them as components first")
    schema: Schema = _without_titles(raw)
    properties: dict[str, Schema] = schema.setdefault("properties", {})
    for name, extra in (members or {}).items():
        if name not in properties:
            raise ValueError(f"{model.__name__} has no member {name!r} to describe")
        properties[name] = {**properties[name], **extra}
    return {**schema, "description": description}


def request_body_schemas() -> dict[str, Schema]:
    """Every JSON request body of the identity endpoints, derived from the routes' models."""
    return {
        name: model_schema(model, description, members)
        for name, (model, description, members) in REQUEST_BODY_MODELS.items()
    }
