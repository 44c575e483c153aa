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

from bastion.api.rest.openapi.admin_paths import admin_paths
from bastion.api.rest.openapi.auth_operations import (
    ACCESS_TOKEN,
    FORM,
    ID_PARAMETER,
    JSON_MEDIA,
    MFA_ENROLMENT,
    NO_STORE,
    PUBLIC,
    TOKEN_ONLY,
    WRITE,
    empty_response,
    json_response,
    operation,
    request_body,
)
from bastion.api.rest.openapi.fields import Schema

__all__ = ["auth_paths", "auth_tags"]


def _oauth_refusal(description: str) -> Schema:
    """A 400 of the token or revocation endpoint: a problem with RFC 6749's members."""
    return json_response(
        "OAuthProblem",
        description,
        headers={"Cache-Control": NO_STORE["Cache-Control"]},
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
            "post": operation(
                "auth",
                "register",
                "Create an account (per the blueprint's registration mode)",
                {
                    "201": json_response(
                        "Users", "The new user; a verification email is on its way."
                    )
                },
                *WRITE,
                403,
                409,
                body=request_body("AuthRegister"),
                security=PUBLIC,
                description="`403` when registration is closed, or is by invitation and the "
                "invitation is missing or invalid; `409` when the email has an account; `422` "
                "when the password breaks the password rules.",
            )
        },
        "/v1/auth/token": {
            "post": operation(
                "auth",
                "token",
                "Get an access token (OAuth2 token endpoint, RFC 6749)",
                {
                    "200": json_response("AuthToken", "The tokens.", headers=NO_STORE),
                    "400": token_refused,
                },
                401,
                413,
                415,
                429,
                body=request_body("AuthTokenRequest", FORM, JSON_MEDIA),
                security=PUBLIC,
                description="Grants: `password`, `refresh_token`, `client_credentials` (the "
                "client's credentials may come by HTTP Basic) and the `mfa-otp` grant that "
                "completes a sign-in answered `mfa_required`. `401` (`invalid_client`) refuses "
                "client credentials; `429` (with `Retry-After`) answers sign-ins while the "
                "account or the client address is locked after too many failures.",
            )
        },
        "/v1/auth/revoke": {
            "post": operation(
                "auth",
                "revoke",
                "Revoke a token (RFC 7009); unknown tokens are accepted too",
                {
                    "200": empty_response("Revoked."),
                    "400": _oauth_refusal("`invalid_request`: no `token`, or an unreadable body."),
                },
                413,
                415,
                body=request_body("AuthRevoke", FORM, JSON_MEDIA),
                security=PUBLIC,
            )
        },
        "/.well-known/jwks.json": {
            "get": operation(
                "auth",
                "jwks",
                "The public keys that verify access tokens",
                {"200": json_response("Jwks", "The key set (cacheable for five minutes).")},
                security=PUBLIC,
            )
        },
    }


def _account() -> dict[str, Schema]:
    """The caller's own account and sessions."""
    return {
        "/v1/auth/me": {
            "get": operation(
                "auth", "me", "The signed-in user", {"200": json_response("AuthMe", "The caller.")}
            ),
            "delete": operation(
                "auth",
                "delete_me",
                "Delete the caller's account, given its password",
                {"204": empty_response("Deleted; the caller's tokens stop working at once.")},
                *WRITE,
                409,
                429,
                body=request_body("AuthPassword"),
                security=ACCESS_TOKEN,
                description=f"{TOKEN_ONLY} What the account owns goes with it through "
                "`cascade` relations; `409` when other records still refer to it. A wrong "
                "password is `422` and counts as a failed sign-in (`429` once locked).",
            ),
        },
        "/v1/auth/password": {
            "post": operation(
                "auth",
                "change_password",
                "Change the caller's password; every other session ends",
                {
                    "200": json_response(
                        "AuthToken", "A new token pair for this session.", headers=NO_STORE
                    )
                },
                *WRITE,
                429,
                body=request_body("AuthPasswordChange"),
                security=ACCESS_TOKEN,
                description=f"{TOKEN_ONLY} A wrong current password is `422` and counts as a "
                "failed sign-in (`429` once locked); so is a new one that breaks the password "
                "rules.",
            )
        },
        "/v1/auth/logout": {
            "post": operation(
                "auth",
                "logout",
                "End this session: the access token and, if sent, its refresh token family",
                {"204": empty_response("Signed out.")},
                *WRITE,
                body=request_body("AuthLogout", required=False),
            )
        },
        "/v1/auth/logout-all": {
            "post": operation(
                "auth",
                "logout_all",
                "End every session of the caller, on every device",
                {"204": empty_response("Signed out everywhere.")},
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
            "post": operation(
                "mfa",
                "mfa_start",
                "Start enrolling a TOTP authenticator: its secret and recovery codes, once",
                {"200": json_response("MfaEnrolment", "The pending enrolment.", headers=NO_STORE)},
                *WRITE,
                403,
                409,
                body=request_body("MfaStart", required=False),
                security=MFA_ENROLMENT,
                description=enrolment,
            ),
            "delete": operation(
                "mfa",
                "mfa_disable",
                "Remove the TOTP authenticator (or a pending enrolment): MFA is off",
                {"204": empty_response("MFA is off.")},
                *WRITE,
                403,
                409,
                429,
                body=request_body("MfaProof"),
                security=ACCESS_TOKEN,
                description=proof,
            ),
        },
        "/v1/auth/mfa/totp/confirm": {
            "post": operation(
                "mfa",
                "mfa_confirm",
                "Confirm the enrolment with a code of the authenticator: MFA is on",
                {"200": json_response("MfaEnabled", "MFA is on.")},
                *WRITE,
                403,
                409,
                body=request_body("MfaConfirm"),
                security=MFA_ENROLMENT,
                description=f"{enrolment} A wrong code is `422`; an `mfa_token` is used up "
                "only by a right one.",
            )
        },
        "/v1/auth/mfa/recovery-codes": {
            "post": operation(
                "mfa",
                "mfa_recovery_codes",
                "Replace every recovery code with new ones, shown once",
                {"200": json_response("RecoveryCodes", "The new codes.", headers=NO_STORE)},
                *WRITE,
                403,
                409,
                429,
                body=request_body("MfaProof"),
                security=ACCESS_TOKEN,
                description=proof,
            )
        },
    }


def _recovery() -> dict[str, Schema]:
    """Verifying the email address and resetting a forgotten password."""
    return {
        "/v1/auth/verify-email/request": {
            "post": operation(
                "auth",
                "request_email_verification",
                "Send the caller another verification email",
                {"202": json_response("AuthAccepted", "The email is on its way.")},
                403,
                409,
                description="`403` for an external provider's token; `409` when the address "
                "is verified already, or the account has none.",
            )
        },
        "/v1/auth/verify-email": {
            "post": operation(
                "auth",
                "verify_email",
                "Confirm the email address with the code mailed",
                {"204": empty_response("The address is verified.")},
                *WRITE,
                body=request_body("VerifyEmail"),
                security=PUBLIC,
                description="An invalid, used or expired code is `422` (pointer `/token`).",
            )
        },
        "/v1/auth/password/forgot": {
            "post": operation(
                "auth",
                "forgot_password",
                "Mail a password reset code, if the address has an account",
                {
                    "202": json_response(
                        "AuthAccepted", "The same answer whether or not it has one."
                    )
                },
                *WRITE,
                body=request_body("ForgotPassword"),
                security=PUBLIC,
            )
        },
        "/v1/auth/password/reset": {
            "post": operation(
                "auth",
                "reset_password",
                "Set a new password with the code mailed; every session ends",
                {"204": empty_response("The password is set.")},
                *WRITE,
                403,
                body=request_body("ResetPassword"),
                security=PUBLIC,
                description="An invalid, used or expired code (pointer `/token`), or a "
                "password that breaks the password rules (`/new_password`), is `422`.",
            )
        },
    }


def _api_keys() -> dict[str, Schema]:
    """The caller's own API keys."""
    return {
        "/v1/auth/api-keys": {
            "get": operation(
                "auth",
                "list_api_keys",
                "The caller's API keys (never the keys themselves)",
                {"200": json_response("ApiKeyList", "The keys, newest first.")},
                403,
            ),
            "post": operation(
                "auth",
                "create_api_key",
                "Create an API key for the caller; the key is shown once",
                {
                    "201": json_response(
                        "ApiKeyCreated", "The key, with its secret value.", headers=NO_STORE
                    )
                },
                *WRITE,
                403,
                body=request_body("ApiKeyCreate"),
                description="`403` for an external provider's token, or scopes wider than the "
                "credential creating the key.",
            ),
        },
        "/v1/auth/api-keys/{id}": {
            "parameters": [ID_PARAMETER],
            "delete": operation(
                "auth",
                "revoke_api_key",
                "Revoke one of the caller's API keys",
                {"204": empty_response("Revoked.")},
                403,
                404,
            ),
        },
    }


def auth_paths() -> dict[str, Schema]:
    """The identity endpoints' paths, with their operations."""
    return {
        **_sign_in(),
        **_account(),
        **_mfa(),
        **_recovery(),
        **_api_keys(),
        **admin_paths(),
    }


def auth_tags() -> list[Schema]:
    """The tags grouping the identity endpoints."""
    return [
        {"name": "auth", "description": "Sign in, tokens, the caller's account and API keys."},
        {"name": "mfa", "description": "Two-factor authentication with a TOTP authenticator."},
        {"name": "admin", "description": "Accounts, invitations, audit and keys (admins only)."},
    ]
