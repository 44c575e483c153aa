"""``/v1/auth/*``: registering, the caller's account, signing out, revoking tokens."""

from __future__ import annotations

from pydantic import StrictStr
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bastion.api.rest.auth.bodies import Body, read_body
from bastion.api.rest.auth.token_endpoint import NO_STORE, read_params
from bastion.api.rest.http import json_response, request_context
from bastion.core.errors import OAuthError
from bastion.core.identity.container import Identity

__all__ = ["account_routes", "bearer_token"]


class RegisterBody(Body):
    email: StrictStr
    password: StrictStr
    name: StrictStr | None = None
    invitation: StrictStr | None = None


class PasswordBody(Body):
    password: StrictStr


class PasswordChangeBody(Body):
    current_password: StrictStr
    new_password: StrictStr


class LogoutBody(Body):
    refresh_token: StrictStr | None = None


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    if length is not None:
        return length.strip() != "0"
    return "transfer-encoding" in request.headers


def bearer_token(request: Request) -> str | None:
    """The token of the request's ``Authorization: Bearer`` header, if any."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def account_routes(identity: Identity) -> list[BaseRoute]:
    """Register, me, password change, account deletion, logout, logout-all, revoke."""
    accounts, tokens = identity.accounts, identity.tokens

    async def register(request: Request) -> Response:
        body = await read_body(request, RegisterBody)
        user = await accounts.register(body.model_dump(exclude_none=True), request_context(request))
        return json_response(user, status=201)

    async def me(request: Request) -> Response:
        return json_response(await accounts.me(request_context(request)))

    async def delete_me(request: Request) -> Response:
        body = await read_body(request, PasswordBody)
        await accounts.delete_account(request_context(request), body.password)
        return Response(status_code=204)

    async def change_password(request: Request) -> Response:
        await tokens.prepare()
        body = await read_body(request, PasswordChangeBody)
        pair = await accounts.change_password(
            request_context(request), body.current_password, body.new_password
        )
        return json_response(pair.as_json(), headers=NO_STORE)

    async def logout(request: Request) -> Response:
        body = await read_body(request, LogoutBody) if _has_body(request) else LogoutBody()
        await tokens.logout(
            request_context(request),
            access_token=bearer_token(request),
            refresh_token=body.refresh_token,
        )
        return Response(status_code=204)

    async def logout_all(request: Request) -> Response:
        await tokens.logout_all(request_context(request))
        return Response(status_code=204)

    async def revoke(request: Request) -> Response:
        params = await read_params(request)
        token = params.get("token")
        if not token:
            raise OAuthError("invalid_request", "the parameter 'token' is required")
        await tokens.revoke(token, ctx=request_context(request))
        return Response(status_code=200, headers=NO_STORE)

    return [
        Route("/v1/auth/register", register, methods=["POST"]),
        Route("/v1/auth/me", me, methods=["GET"]),
        Route("/v1/auth/me", delete_me, methods=["DELETE"]),
        Route("/v1/auth/password", change_password, methods=["POST"]),
        Route("/v1/auth/logout", logout, methods=["POST"]),
        Route("/v1/auth/logout-all", logout_all, methods=["POST"]),
        Route("/v1/auth/revoke", revoke, methods=["POST"]),
    ]
