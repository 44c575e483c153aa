"""Authentication: the caller's credentials become the request's context."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from starlette.types import ASGIApp, Receive, Scope, Send

from bastion.api.rest.client_ip import ProxyNetwork, client_ip
from bastion.api.rest.problems import problem_for_error, problem_response
from bastion.core.context import RequestContext
from bastion.core.errors import NotAuthenticated
from bastion.core.identity.tokens import TokenService

__all__ = ["BASIC_AUTH_PATHS", "AuthenticationMiddleware"]

log = logging.getLogger("bastion.auth")

BASIC_AUTH_PATHS = ("/v1/auth/token", "/v1/auth/revoke")
"""Endpoints where ``Authorization: Basic`` carries client credentials for the endpoint itself."""


class AuthenticationMiddleware:
    """Puts a :class:`~bastion.core.context.RequestContext` in ``scope["state"]["context"]``.

    No ``Authorization`` header: an anonymous context (the access rules decide).
    ``Bearer`` credentials: an API key, an external provider's token or one of
    Bastion's access tokens (see ``TokenService.authenticate``); invalid ones
    are answered 401 with ``WWW-Authenticate``. Another scheme is a 401 too,
    except ``Basic`` on the endpoints in ``basic_paths``, which read it themselves.
    Place it inside ``ProblemMiddleware``, which sets the request id.

    Args:
        app: the application to call.
        tokens: checks the credentials.
        trusted_proxies: reverse proxies whose ``X-Forwarded-For`` is believed.
        basic_paths: path endings where ``Basic`` is left to the endpoint.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        tokens: TokenService,
        trusted_proxies: Sequence[ProxyNetwork] = (),
        basic_paths: Sequence[str] = BASIC_AUTH_PATHS,
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.trusted_proxies = tuple(trusted_proxies)
        self.basic_paths = tuple(basic_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        ip = client_ip(scope, self.trusted_proxies)
        request_id = state.get("request_id")
        trace_id = state.get("trace_id")
        header = _authorization(scope)
        given = state.get("context")
        if header is None and isinstance(given, RequestContext):
            # A host application that authenticates by itself passes its caller in.
            await self.app(scope, receive, send)
            return
        try:
            if header is None or self._left_to_endpoint(scope, header):
                context = RequestContext(client_ip=ip, request_id=request_id, trace_id=trace_id)
            else:
                context = await self.tokens.authenticate(
                    header, client_ip=ip, request_id=request_id
                )
                if trace_id is not None:
                    context = replace(context, trace_id=trace_id)
        except NotAuthenticated as exc:
            response = problem_response(
                problem_for_error(exc),
                instance=scope.get("path"),
                request_id=request_id,
                trace_id=trace_id,
            )
            await response(scope, receive, send)
            return
        state["context"] = context
        await self.app(scope, receive, send)

    def _left_to_endpoint(self, scope: Scope, header: str) -> bool:
        scheme = header.strip().partition(" ")[0].lower()
        path = str(scope.get("path", ""))
        return scheme == "basic" and path.endswith(self.basic_paths)


def _authorization(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            text: str = value.decode("latin-1")
            return text
    return None
