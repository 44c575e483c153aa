"""Email verification and password reset endpoints.

``POST /v1/auth/password/forgot`` answers ``202`` with the same body whether or
not the address belongs to an account; the code to reset the password arrives
by email. A reset signs the user out everywhere.
"""

from __future__ import annotations

from pydantic import Field, StrictStr
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bastion.api.rest.auth.bodies import Body, read_body
from bastion.api.rest.http import json_response, request_context
from bastion.core.identity.container import Identity

__all__ = [
    "FORGOT_PASSWORD_ANSWER",
    "ForgotPassword",
    "ResetPassword",
    "VerifyEmail",
    "recovery_routes",
]

FORGOT_PASSWORD_ANSWER = {
    "detail": "If an account uses this address, a message with a reset code is on its way."
}
"""The body of every answer to ``POST /v1/auth/password/forgot``."""

_Token = StrictStr


class VerifyEmail(Body):
    """``POST /v1/auth/verify-email``."""

    token: _Token = Field(min_length=1, max_length=256)


class ForgotPassword(Body):
    """``POST /v1/auth/password/forgot``."""

    email: StrictStr = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")


class ResetPassword(Body):
    """``POST /v1/auth/password/reset``."""

    token: _Token = Field(min_length=1, max_length=256)
    new_password: StrictStr = Field(max_length=4096)


def recovery_routes(identity: Identity) -> list[BaseRoute]:
    """The email verification and password reset routes (none without ``identity.recovery``)."""
    if identity.recovery is None:
        return []
    recovery = identity.recovery

    async def request_verification(request: Request) -> Response:
        await recovery.request_verification(request_context(request))
        return json_response({"detail": "A verification message is on its way."}, 202)

    async def verify_email(request: Request) -> Response:
        body = await read_body(request, VerifyEmail)
        await recovery.verify_email(body.token, request_context(request))
        return Response(status_code=204)

    async def forgot_password(request: Request) -> Response:
        body = await read_body(request, ForgotPassword)
        await recovery.forgot_password(body.email, request_context(request))
        return json_response(FORGOT_PASSWORD_ANSWER, 202)

    async def reset_password(request: Request) -> Response:
        body = await read_body(request, ResetPassword)
        await recovery.reset_password(body.token, body.new_password, request_context(request))
        return Response(status_code=204)

    return [
        Route("/v1/auth/verify-email/request", request_verification, methods=["POST"]),
        Route("/v1/auth/verify-email", verify_email, methods=["POST"]),
        Route("/v1/auth/password/forgot", forgot_password, methods=["POST"]),
        Route("/v1/auth/password/reset", reset_password, methods=["POST"]),
    ]
