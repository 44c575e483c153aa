"""The identity endpoints in the document: ``/v1/auth/*``, ``/v1/admin/*`` and the JWKS.

They are served beside the generated resource endpoints when the blueprint
carries the identity resources (their bodies: :mod:`.auth_schemas`). Each
operation states what it needs: nothing (``[{}]``), any credential (an access
token, an API key or an external provider's token), or one of Bastion's access
tokens only; the MFA enrolment endpoints also take an ``mfa_token`` in the body
instead. Every operation may answer 401: the authentication layer refuses
invalid credentials wherever they are sent.
"""

from __future__ import annotations

from bastion.api.rest.openapi.auth_schemas import UUID_SCHEMA
from bastion.api.rest.openapi.fields import Schema
from bastion.api.rest.openapi.responses import header_ref, problem_ref
from bastion.api.rest.openapi.schemas import ref

__all__ = ["auth_paths", "auth_tags"]

_UUID = UUID_SCHEMA
_ANY_CREDENTIAL: list[Schema] = [{"bearerAuth": []}, {"apiKey": []}, {"oauth2": []}]
_ACCESS_TOKEN: list[Schema] = [{"bearerAuth": []}, {"oauth2": []}]
_MFA_ENROLMENT: list[Schema] = [*_ACCESS_TOKEN, {}]
_PUBLIC: list[Schema] = [{}]
_ALWAYS = (401, 500, 503)
_FORM = "application/x-www-form-urlencoded"
_JSON = "application/json"
_WRITE = (400, 413, 415, 422)
"""What reading a JSON body may answer: malformed, too large, not JSON, not as the model says."""
_NO_STORE: Schema = {
    "Cache-Control": {"schema": {"type": "string"}, "description": "`no-store`: it holds secrets."}
}
_TOKEN_ONLY = (
    "Needs one of Bastion's access tokens: API keys and external providers' tokens are refused."
)
_ADMIN = (
    "Needs the `admin` role, with a credential not narrowed by scopes: anonymous callers get "
    "401, everyone else 403."
)


def _json(
    schema: str, description: str, *, headers: Schema | None = None, media: str = _JSON
) -> Schema:
    return {
        "description": description,
        "headers": {"X-Request-ID": header_ref("X-Request-ID"), **(headers or {})},
        "content": {media: {"schema": ref(schema)}},
    }


def _empty(description: str) -> Schema:
    return {"description": description, "headers": {"X-Request-ID": header_ref("X-Request-ID")}}


def _operation(
    tag: str,
    operation_id: str,
    summary: str,
    responses: Schema,
    *statuses: int,
    body: Schema | None = None,
    security: list[Schema] = _ANY_CREDENTIAL,
    parameters: list[Schema] | None = None,
    description: str | None = None,
) -> Schema:
    for status in sorted({*statuses, *_ALWAYS}):
        responses.setdefault(str(status), problem_ref(status))
    operation: Schema = {"tags": [tag], "operationId": operation_id, "summary": summary}
    if description:
        operation["description"] = description
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = body
    operation["responses"] = dict(sorted(responses.items()))
    operation["security"] = security
    return operation


def _body(schema: str, *media_types: str, required: bool = True) -> Schema:
    types = media_types or (_JSON,)
    return {"required": required, "content": {t: {"schema": ref(schema)} for t in types}}


def _query(name: str, schema: Schema, description: str) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


_ID = {"name": "id", "in": "path", "required": True, "schema": _UUID}


def _oauth_refusal(description: str) -> Schema:
    """A 400 of the token or revocation endpoint: a problem with RFC 6749's members."""
    return _json(
        "OAuthProblem",
        description,
        headers={"Cache-Control": _NO_STORE["Cache-Control"]},
        media="application/problem+json",
    )


def _sign_in() -> dict[str, Schema]:
    """Registering, tokens, revocation and the public keys."""
    token_refused = _oauth_refusal(
        "Refused (`error`): `invalid_request`, `invalid_grant` (wrong credentials, a used "
        "refresh token...), `invalid_scope`, `unsupported_grant_type`; or a second factor is "
        "due: `mfa_required` or `mfa_enrollment_required`, with an `mfa_token`."
    )
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
                body=_body("AuthRegister"),
                security=_PUBLIC,
                description="`403` when registration is closed, or is by invitation and the "
                "invitation is missing or invalid; `409` when the email has an account; `422` "
                "when the password breaks the password rules.",
            )
        },
        "/v1/auth/token": {
            "post": _operation(
                "auth",
                "token",
                "Get an access token (OAuth2 token endpoint, RFC 6749)",
                {
                    "200": _json("AuthToken", "The tokens.", headers=_NO_STORE),
                    "400": token_refused,
                },
                401,
                413,
                415,
                429,
                body=_body("AuthTokenRequest", _FORM, _JSON),
                security=_PUBLIC,
                description="Grants: `password`, `refresh_token`, `client_credentials` (the "
                "client's credentials may come by HTTP Basic) and the `mfa-otp` grant that "
                "completes a sign-in answered `mfa_required`. `401` (`invalid_client`) refuses "
                "client credentials; `429` (with `Retry-After`) answers sign-ins while the "
                "account or the client address is locked after too many failures.",
            )
        },
        "/v1/auth/revoke": {
            "post": _operation(
                "auth",
                "revoke",
                "Revoke a token (RFC 7009); unknown tokens are accepted too",
                {
                    "200": _empty("Revoked."),
                    "400": _oauth_refusal("`invalid_request`: no `token`, or an unreadable body."),
                },
                413,
                415,
                body=_body("AuthRevoke", _FORM, _JSON),
                security=_PUBLIC,
            )
        },
        "/.well-known/jwks.json": {
            "get": _operation(
                "auth",
                "jwks",
                "The public keys that verify access tokens",
                {"200": _json("Jwks", "The key set (cacheable for five minutes).")},
                security=_PUBLIC,
            )
        },
    }


def _account() -> dict[str, Schema]:
    """The caller's own account and sessions."""
    return {
        "/v1/auth/me": {
            "get": _operation(
                "auth", "me", "The signed-in user", {"200": _json("AuthMe", "The caller.")}
            ),
            "delete": _operation(
                "auth",
                "delete_me",
                "Delete the caller's account, given its password",
                {"204": _empty("Deleted; the caller's tokens stop working at once.")},
                *_WRITE,
                409,
                429,
                body=_body("AuthPassword"),
                security=_ACCESS_TOKEN,
                description=f"{_TOKEN_ONLY} What the account owns goes with it through "
                "`cascade` relations; `409` when other records still refer to it. A wrong "
                "password is `422` and counts as a failed sign-in (`429` once locked).",
            ),
        },
        "/v1/auth/password": {
            "post": _operation(
                "auth",
                "change_password",
                "Change the caller's password; every other session ends",
                {
                    "200": _json(
                        "AuthToken", "A new token pair for this session.", headers=_NO_STORE
                    )
                },
                *_WRITE,
                429,
                body=_body("AuthPasswordChange"),
                security=_ACCESS_TOKEN,
                description=f"{_TOKEN_ONLY} A wrong current password is `422` and counts as a "
                "failed sign-in (`429` once locked); so is a new one that breaks the password "
                "rules.",
            )
        },
        "/v1/auth/logout": {
            "post": _operation(
                "auth",
                "logout",
                "End this session: the access token and, if sent, its refresh token family",
                {"204": _empty("Signed out.")},
                *_WRITE,
                body=_body("AuthLogout", required=False),
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
    }


def _mfa() -> dict[str, Schema]:
    """Enrolling a TOTP authenticator, removing it, renewing recovery codes."""
    enrolment = (
        "Takes a bearer access token, or (for a person whose role requires MFA, before they "
        "can get one) the `mfa_token` of a sign-in answered `mfa_enrollment_required`, in the "
        "body. `403` for API keys and service accounts; `409` when MFA is already on."
    )
    proof = (
        "Needs a bearer access token and, in the body, the password or a current code. "
        "`403` for API keys and service accounts; `409` when MFA is not on; a wrong proof is "
        "`422` and counts as a failed sign-in (`429` once locked)."
    )
    return {
        "/v1/auth/mfa/totp": {
            "post": _operation(
                "mfa",
                "mfa_start",
                "Start enrolling a TOTP authenticator: its secret and recovery codes, once",
                {"200": _json("MfaEnrolment", "The pending enrolment.", headers=_NO_STORE)},
                *_WRITE,
                403,
                409,
                body=_body("MfaStart", required=False),
                security=_MFA_ENROLMENT,
                description=enrolment,
            ),
            "delete": _operation(
                "mfa",
                "mfa_disable",
                "Remove the TOTP authenticator (or a pending enrolment): MFA is off",
                {"204": _empty("MFA is off.")},
                *_WRITE,
                403,
                409,
                429,
                body=_body("MfaProof"),
                security=_ACCESS_TOKEN,
                description=proof,
            ),
        },
        "/v1/auth/mfa/totp/confirm": {
            "post": _operation(
                "mfa",
                "mfa_confirm",
                "Confirm the enrolment with a code of the authenticator: MFA is on",
                {"200": _json("MfaEnabled", "MFA is on.")},
                *_WRITE,
                403,
                409,
                body=_body("MfaConfirm"),
                security=_MFA_ENROLMENT,
                description=f"{enrolment} A wrong code is `422`; an `mfa_token` is used up "
                "only by a right one.",
            )
        },
        "/v1/auth/mfa/recovery-codes": {
            "post": _operation(
                "mfa",
                "mfa_recovery_codes",
                "Replace every recovery code with new ones, shown once",
                {"200": _json("RecoveryCodes", "The new codes.", headers=_NO_STORE)},
                *_WRITE,
                403,
                409,
                429,
                body=_body("MfaProof"),
                security=_ACCESS_TOKEN,
                description=proof,
            )
        },
    }


def _recovery() -> dict[str, Schema]:
    """Verifying the email address and resetting a forgotten password."""
    return {
        "/v1/auth/verify-email/request": {
            "post": _operation(
                "auth",
                "request_email_verification",
                "Send the caller another verification email",
                {"202": _json("AuthAccepted", "The email is on its way.")},
                403,
                409,
                description="`403` for an external provider's token; `409` when the address "
                "is verified already, or the account has none.",
            )
        },
        "/v1/auth/verify-email": {
            "post": _operation(
                "auth",
                "verify_email",
                "Confirm the email address with the code mailed",
                {"204": _empty("The address is verified.")},
                *_WRITE,
                body=_body("VerifyEmail"),
                security=_PUBLIC,
                description="An invalid, used or expired code is `422` (pointer `/token`).",
            )
        },
        "/v1/auth/password/forgot": {
            "post": _operation(
                "auth",
                "forgot_password",
                "Mail a password reset code, if the address has an account",
                {"202": _json("AuthAccepted", "The same answer whether or not it has one.")},
                *_WRITE,
                body=_body("ForgotPassword"),
                security=_PUBLIC,
            )
        },
        "/v1/auth/password/reset": {
            "post": _operation(
                "auth",
                "reset_password",
                "Set a new password with the code mailed; every session ends",
                {"204": _empty("The password is set.")},
                *_WRITE,
                403,
                body=_body("ResetPassword"),
                security=_PUBLIC,
                description="An invalid, used or expired code (pointer `/token`), or a "
                "password that breaks the password rules (`/new_password`), is `422`.",
            )
        },
    }


def _api_keys() -> dict[str, Schema]:
    """The caller's own API keys."""
    return {
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
                {
                    "201": _json(
                        "ApiKeyCreated", "The key, with its secret value.", headers=_NO_STORE
                    )
                },
                *_WRITE,
                403,
                body=_body("ApiKeyCreate"),
                description="`403` for an external provider's token, or scopes wider than the "
                "credential creating the key.",
            ),
        },
        "/v1/auth/api-keys/{id}": {
            "parameters": [_ID],
            "delete": _operation(
                "auth",
                "revoke_api_key",
                "Revoke one of the caller's API keys",
                {"204": _empty("Revoked.")},
                403,
                404,
            ),
        },
    }


def _admin() -> dict[str, Schema]:
    """What admins do to accounts, keys and the audit trail."""
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
                body=_body("AdminUserUpdate", _JSON, "application/merge-patch+json"),
            ),
        },
        "/v1/admin/service-accounts": {
            "post": _operation(
                "admin",
                "admin_create_service_account",
                "Create a service account; its client secret is shown once",
                {
                    "201": _json(
                        "ServiceAccountCreated",
                        "The account and its credentials.",
                        headers=_NO_STORE,
                    )
                },
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
                {
                    "201": _json(
                        "ApiKeyCreated", "The key, with its secret value.", headers=_NO_STORE
                    )
                },
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


def _admin_only(paths: dict[str, Schema]) -> dict[str, Schema]:
    """``paths`` with each operation saying that it needs the admin role."""
    for item in paths.values():
        for method, operation in item.items():
            if method != "parameters":
                more = operation.get("description")
                operation["description"] = f"{_ADMIN} {more}" if more else _ADMIN
    return paths


def auth_paths() -> dict[str, Schema]:
    """The identity endpoints' paths, with their operations."""
    return {
        **_sign_in(),
        **_account(),
        **_mfa(),
        **_recovery(),
        **_api_keys(),
        **_admin_only(_admin()),
    }


def auth_tags() -> list[Schema]:
    """The tags grouping the identity endpoints."""
    return [
        {"name": "auth", "description": "Sign in, tokens, the caller's account and API keys."},
        {"name": "mfa", "description": "Two-factor authentication with a TOTP authenticator."},
        {"name": "admin", "description": "Accounts, invitations, audit and keys (admins only)."},
    ]
