"""ASGI middleware of the REST layer: request ids and the last line of error handling."""

from __future__ import annotations

import logging
from http import HTTPStatus

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion.api.rest.problems import Problem, problem_for_error, problem_response
from bastion.core.errors import BastionError, StoreUnavailable
from bastion.core.ids import request_id_or_new

__all__ = ["ProblemMiddleware", "http_exception_handler"]

log = logging.getLogger("bastion.api")


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            return request_id_or_new(value.decode("latin-1"))
    return request_id_or_new(None)


def _tagged(headers: list[tuple[bytes, bytes]], request_id: bytes) -> list[tuple[bytes, bytes]]:
    """``headers`` with ``X-Request-ID`` and ``Authorization`` added to ``Vary``.

    What ``MutableHeaders.add_vary_header`` does (the first ``Vary`` extended in
    place, any later one dropped, or a new one last), on the raw list (hot path).
    """
    tagged = []
    vary = False
    for name, value in headers:
        if name == b"vary":  # raw ASGI names are lower-case, as Starlette matches them
            if vary:
                continue
            vary = True
            value += b", Authorization"
        tagged.append((name, value))
    tagged.append((b"x-request-id", request_id))
    if not vary:
        tagged.append((b"vary", b"Authorization"))
    return tagged


class ProblemMiddleware:
    """Turns every error into a problem document and tags responses with ``X-Request-ID``.

    Core errors become their mapped status; anything unexpected is logged with
    its traceback and answered with a 500 problem that reveals nothing inside.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        # The operations layer outside names the request (and its trace) when it is there.
        request_id = state.get("request_id") or _request_id(scope)
        state["request_id"] = request_id
        encoded_id = request_id.encode()
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                # What a response holds depends on the caller (access rules hide records
                # and fields): a shared cache must not serve it to someone else.
                message["headers"] = _tagged(message.get("headers", ()), encoded_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if started:
                raise
            response = _error_response(exc, scope, request_id)
            await response(scope, receive, send_with_id)


def _error_response(exc: Exception, scope: Scope, request_id: str) -> Response:
    instance = scope.get("path")
    trace_id = scope["state"].get("trace_id")
    if isinstance(exc, Problem):
        return problem_response(exc, instance=instance, request_id=request_id, trace_id=trace_id)
    if isinstance(exc, StoreUnavailable):
        # The cause names hosts and drivers: the operator's log gets it, the client does not.
        log.warning("database unavailable (request %s): %s", request_id, exc.detail, exc_info=exc)
        problem = problem_for_error(StoreUnavailable("the database is unavailable; retry shortly"))
        return problem_response(
            problem, instance=instance, request_id=request_id, trace_id=trace_id
        )
    if isinstance(exc, BastionError):
        return problem_response(
            problem_for_error(exc), instance=instance, request_id=request_id, trace_id=trace_id
        )
    log.exception(
        "unhandled error in %s %s (request %s)", scope.get("method"), instance, request_id
    )
    problem = Problem(
        500,
        "internal_error",
        "Internal server error",
        "the server failed to handle this request; "
        f"quote request id {request_id} when reporting it",
    )
    return problem_response(problem, instance=instance, request_id=request_id, trace_id=trace_id)


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    """Starlette's own HTTP errors (unknown route, ...) as problem documents."""
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed"}
    code = codes.get(exc.status_code, "http_error")
    detail = exc.detail
    if exc.status_code == 404:
        detail = f"nothing is served at {request.url.path}"
    try:
        title = HTTPStatus(exc.status_code).phrase
    except ValueError:
        title = "HTTP error"
    problem = Problem(exc.status_code, code, title, detail, headers=dict(exc.headers or {}))
    request_id = getattr(request.state, "request_id", None)
    trace_id = getattr(request.state, "trace_id", None)
    return problem_response(
        problem, instance=request.url.path, request_id=request_id, trace_id=trace_id
    )
