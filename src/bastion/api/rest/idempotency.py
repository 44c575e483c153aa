"""The ``Idempotency-Key`` header: read it, fingerprint the request, keep and replay responses.

A keyed request is identified by the caller (core's
:func:`~bastion.core.idempotency.caller_scope`) and the key; its fingerprint
is the endpoint (method and route path, without any mount prefix) and the
SHA-256 of the body in canonical JSON (keys sorted, no whitespace), so a
retry that serialises the same document differently still matches.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from bastion.api.rest.problems import Problem
from bastion.core import IdempotentOutcome, IdempotentRequest, RequestContext
from bastion.core.ports import StoredResponse

__all__ = [
    "REPLAYED_HEADER",
    "idempotency_key",
    "idempotent_request",
    "outcome_response",
    "stored_response",
]

REPLAYED_HEADER = "Idempotent-Replayed"
"""Set to ``true`` on a response that repeats an earlier request's."""

_KEY = re.compile(r"[\x20-\x7e]{1,255}")
_KEPT_HEADERS = frozenset({"content-type", "location", "etag"})


def idempotency_key(request: Request) -> str | None:
    """The request's ``Idempotency-Key``, ``None`` without one; 400 if it is malformed."""
    values = request.headers.getlist("idempotency-key")
    if not values:
        return None
    if len(values) > 1:
        raise Problem(
            400,
            "invalid_idempotency_key",
            "Invalid idempotency key",
            "send one Idempotency-Key header, not several",
        )
    if not _KEY.fullmatch(values[0]):
        raise Problem(
            400,
            "invalid_idempotency_key",
            "Invalid idempotency key",
            "Idempotency-Key must be 1 to 255 printable ASCII characters; a UUID is a good key",
        )
    return values[0]


def idempotent_request(
    request: Request, ctx: RequestContext, *, key: str, route: str, body: Any
) -> IdempotentRequest:
    """The keyed request: the caller's scope, the key, ``METHOD route`` and the body's hash."""
    canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    return IdempotentRequest.for_caller(
        ctx,
        key=key,
        endpoint=f"{request.method} {route}",
        request_hash=hashlib.sha256(canonical).hexdigest(),
    )


def stored_response(response: Response) -> StoredResponse:
    """What is kept of ``response`` to send again: status, body and the headers that matter."""
    headers = tuple((k, v) for k, v in response.headers.items() if k in _KEPT_HEADERS)
    return StoredResponse(status=response.status_code, headers=headers, body=bytes(response.body))


def outcome_response(outcome: IdempotentOutcome) -> Response:
    """The response for an outcome; a replay says so in ``Idempotent-Replayed: true``."""
    stored = outcome.response
    headers = dict(stored.headers)
    if outcome.replayed:
        headers[REPLAYED_HEADER] = "true"
    return Response(stored.body, status_code=stored.status, headers=headers)
