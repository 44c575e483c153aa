"""Every HTTP error as an RFC 9457 problem document; the one place codes become statuses."""

from __future__ import annotations

import math
from typing import Any

import orjson
from starlette.responses import Response

from bastion.core.errors import (
    BastionError,
    Conflict,
    Forbidden,
    IdempotencyInFlight,
    IdempotencyKeyReused,
    InvalidInput,
    InvalidQuery,
    NotAuthenticated,
    NotFound,
    OAuthError,
    PreconditionFailed,
    PreconditionRequired,
    Rejected,
    StoreUnavailable,
    TooManyAttempts,
)

__all__ = ["PROBLEM_TYPE_PREFIX", "Problem", "problem_for_error", "problem_response"]

PROBLEM_TYPE_PREFIX = "urn:bastion:problem:"
"""Problem ``type`` URIs are ``urn:bastion:problem:<code>``; docs/errors.md lists every code."""

_STATUS_BY_ERROR: tuple[tuple[type[BastionError], int], ...] = (
    (NotFound, 404),
    (InvalidQuery, 400),
    (InvalidInput, 422),
    (IdempotencyKeyReused, 422),
    (Conflict, 409),
    (PreconditionFailed, 412),
    (PreconditionRequired, 428),
    (StoreUnavailable, 503),
    (NotAuthenticated, 401),
    (Forbidden, 403),
    (TooManyAttempts, 429),
)


class Problem(Exception):
    """An HTTP-level problem raised inside the REST layer (bad headers, bad JSON, ...)."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra or {}


def problem_response(
    problem: Problem,
    *,
    instance: str | None = None,
    trace_id: str | None = None,
    request_id: str | None = None,
) -> Response:
    """The ``application/problem+json`` response for ``problem``.

    ``trace_id`` is the request's trace (its span's, or the incoming
    ``traceparent``'s when tracing is off; ``null`` without either); ``request_id``
    matches the ``X-Request-ID`` response header, for support requests.
    """
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_PREFIX + problem.code,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "code": problem.code,
    }
    if instance is not None:
        body["instance"] = instance
    body["trace_id"] = trace_id
    if request_id is not None:
        body["request_id"] = request_id
    body.update(problem.extra)
    return Response(
        orjson.dumps(body),
        status_code=problem.status,
        headers=problem.headers,
        media_type="application/problem+json",
    )


def problem_for_error(error: BastionError) -> Problem:
    """Translate a core error into its HTTP problem."""
    status = 500
    if isinstance(error, Rejected | OAuthError):
        status = error.status
    else:
        for error_type, error_status in _STATUS_BY_ERROR:
            if isinstance(error, error_type):
                status = error_status
                break
    extra: dict[str, Any] = {}
    if error.errors:
        extra["errors"] = [{"pointer": e.pointer, "detail": e.detail} for e in error.errors]
    headers: dict[str, str] = {}
    if isinstance(error, PreconditionFailed):
        extra["current_version"] = error.current_version
        headers["ETag"] = f'"{error.current_version}"'
    if isinstance(error, StoreUnavailable | IdempotencyInFlight):
        headers["Retry-After"] = "1"
    if isinstance(error, NotAuthenticated):
        # RFC 6750: no error code when no credentials were sent, else invalid_token; the
        # precise reason stays in the server's logs.
        if getattr(error, "reason", None) == "missing_token":
            headers["WWW-Authenticate"] = 'Bearer realm="bastion"'
        else:
            headers["WWW-Authenticate"] = 'Bearer realm="bastion", error="invalid_token"'
    if isinstance(error, OAuthError) and hasattr(error, "error"):
        extra.update({"error": error.error, "error_description": error.detail, **error.extra})
        headers["Cache-Control"] = "no-store"
        if error.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="bastion"'
    if isinstance(error, TooManyAttempts):
        headers["Retry-After"] = str(max(1, math.ceil(getattr(error, "retry_after", 1))))
    return Problem(status, error.code, error.title, error.detail, headers=headers, extra=extra)
