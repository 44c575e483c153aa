"""``GET /metrics`` on the API port, and its bearer token.

The metrics token is not an API credential: :class:`MetricsCredentials`
takes the ``Authorization`` header off requests for ``/metrics`` before the
authentication layer would refuse it as an unknown bearer token, and keeps
it for the route alone. A scrape without the token, or with another, gets a
401 problem document; the token is compared in constant time and never logged.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bastion.api.rest import Problem, problem_response
from bastion.ops.metrics import Metrics
from bastion.ops.metrics_dir import METRICS_UNAUTHORIZED_DETAIL

__all__ = ["METRICS_PATH", "MetricsCredentials", "metrics_middleware", "metrics_routes"]

METRICS_PATH = "/metrics"

_CREDENTIALS = "metrics_authorization"
"""Where :class:`MetricsCredentials` keeps the scrape's ``Authorization`` header (request state)."""


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root + "/"):
        return path[len(root) :]
    return path


class MetricsCredentials:
    """ASGI middleware: moves ``/metrics``'s ``Authorization`` header into the request state."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _route_path(scope) == METRICS_PATH:
            headers = scope["headers"]
            kept = [(name, value) for name, value in headers if name != b"authorization"]
            if len(kept) != len(headers):
                given = next(value for name, value in headers if name == b"authorization")
                # In place, not a copy: the layers outside read what routing writes into
                # this scope (the route template of the request's metrics and log line).
                scope["headers"] = kept
                scope.setdefault("state", {})[_CREDENTIALS] = given.decode("latin-1")
        await self.app(scope, receive, send)


def metrics_middleware(metrics: Metrics) -> list[Middleware]:
    """What ``/metrics`` needs in front of the authentication layer (nothing without a token)."""
    if metrics.serve_route and metrics.token is not None:
        return [Middleware(MetricsCredentials)]
    return []


def metrics_routes(metrics: Metrics) -> list[BaseRoute]:
    """``GET /metrics``, unless the metrics have a port of their own."""
    if not metrics.serve_route:
        return []

    async def scrape(request: Request) -> Response:
        if not metrics.authorized(request.scope.get("state", {}).get(_CREDENTIALS)):
            problem = Problem(
                401,
                "not_authenticated",
                "Not authenticated",
                METRICS_UNAUTHORIZED_DETAIL,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
            return problem_response(
                problem,
                instance=request.url.path,
                request_id=getattr(request.state, "request_id", None),
                trace_id=getattr(request.state, "trace_id", None),
            )
        accept = request.headers.get("accept")
        if metrics.directory is None:
            body, content_type = metrics.render(accept)
        else:
            body, content_type = await run_in_threadpool(metrics.render, accept)
        return Response(body, headers={"Content-Type": content_type, "Cache-Control": "no-store"})

    return [Route(METRICS_PATH, scrape, methods=["GET"])]
