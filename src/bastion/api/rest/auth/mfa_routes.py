"""MFA endpoints: enrol a TOTP authenticator, confirm it, remove it, renew recovery codes.

``POST /v1/auth/mfa/totp`` and ``POST /v1/auth/mfa/totp/confirm`` accept, in the
body, the ``mfa_token`` that sign-in gives a person who must enrol
(``error=mfa_enrollment_required``) in place of a bearer token. Starting leaves
that token valid; a successful confirmation uses it up, after which the person
signs in again and completes the sign-in with a code. Removing the
authenticator and renewing recovery codes need a bearer token and either the
password or a current code (``otp``: a TOTP code or a recovery code).
"""

from __future__ import annotations

from pydantic import Field, StrictStr
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bastion.api.rest.auth.bodies import Body, read_body
from bastion.api.rest.http import json_response, request_context
from bastion.core.identity.container import Identity

__all__ = ["MfaConfirm", "MfaProof", "MfaStart", "mfa_routes"]

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_Token = StrictStr | None


class MfaStart(Body):
    """``POST /v1/auth/mfa/totp`` (the body is optional with a bearer token)."""

    mfa_token: _Token = Field(default=None, min_length=1, max_length=256)


class MfaConfirm(Body):
    """``POST /v1/auth/mfa/totp/confirm``."""

    otp: StrictStr = Field(min_length=1, max_length=64)
    mfa_token: _Token = Field(default=None, min_length=1, max_length=256)


class MfaProof(Body):
    """``DELETE /v1/auth/mfa/totp`` and ``POST /v1/auth/mfa/recovery-codes``: one of the two."""

    password: StrictStr | None = Field(default=None, max_length=4096)
    otp: StrictStr | None = Field(default=None, max_length=64)


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    if length is not None:
        return length.strip() != "0"
    return "transfer-encoding" in request.headers


def mfa_routes(identity: Identity) -> list[BaseRoute]:
    """The routes under ``/v1/auth/mfa`` (none without ``identity.mfa``)."""
    if identity.mfa is None:
        return []
    mfa = identity.mfa

    async def start(request: Request) -> Response:
        body = await read_body(request, MfaStart) if _has_body(request) else MfaStart()
        enrolment = await mfa.start_totp(request_context(request), mfa_token=body.mfa_token)
        content = {
            "secret": enrolment.secret,
            "otpauth_uri": enrolment.uri,
            "recovery_codes": enrolment.recovery_codes,
        }
        return json_response(content, 200, _NO_STORE)

    async def confirm(request: Request) -> Response:
        body = await read_body(request, MfaConfirm)
        await mfa.confirm_totp(request_context(request), body.otp, mfa_token=body.mfa_token)
        return json_response({"mfa_enabled": True})

    async def disable(request: Request) -> Response:
        body = await read_body(request, MfaProof)
        await mfa.disable_totp(request_context(request), password=body.password, otp=body.otp)
        return Response(status_code=204)

    async def recovery_codes(request: Request) -> Response:
        body = await read_body(request, MfaProof)
        codes = await mfa.regenerate_recovery_codes(
            request_context(request), password=body.password, otp=body.otp
        )
        return json_response({"recovery_codes": codes}, 200, _NO_STORE)

    return [
        Route("/v1/auth/mfa/totp", start, methods=["POST"]),
        Route("/v1/auth/mfa/totp", disable, methods=["DELETE"]),
        Route("/v1/auth/mfa/totp/confirm", confirm, methods=["POST"]),
        Route("/v1/auth/mfa/recovery-codes", recovery_codes, methods=["POST"]),
    ]
