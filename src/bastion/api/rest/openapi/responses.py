"""The shared parts of every response: the problem document, its statuses and the headers.

Every error is an ``application/problem+json`` document (RFC 9457) of one
schema, ``Problem``; each status has one reusable response that lists the
codes it carries (docs/errors.md has them all).
"""

from __future__ import annotations

from bastion.api.rest.openapi.fields import Schema

__all__ = [
    "PROBLEM_STATUSES",
    "header_components",
    "header_ref",
    "problem_ref",
    "problem_responses",
    "problem_schemas",
]

PROBLEM_STATUSES: dict[int, tuple[str, str]] = {
    400: (
        "BadRequest",
        "The query string or the body cannot be read: `invalid_query`, `malformed_json`.",
    ),
    401: ("Unauthorized", "No valid credentials were sent (identity layer)."),
    403: ("Forbidden", "The credentials do not allow this (identity layer)."),
    404: ("NotFound", "No such record or resource, or the id is not a UUID: `not_found`."),
    405: (
        "MethodNotAllowed",
        "The path exists but not for this method: `method_not_allowed`; "
        "`Allow` lists the methods it takes.",
    ),
    409: (
        "Conflict",
        "The change clashes with the data as it stands: `conflict`, "
        "`unique_violation`, `delete_restricted`, `idempotency_in_flight`.",
    ),
    412: (
        "PreconditionFailed",
        "`If-Match` names a version that is no longer current: "
        "`precondition_failed`; `current_version` and `ETag` give the version now.",
    ),
    413: ("PayloadTooLarge", "The body is larger than the server accepts: `payload_too_large`."),
    415: (
        "UnsupportedMediaType",
        "The body is not sent as a media type the endpoint takes: `unsupported_media_type`.",
    ),
    422: (
        "UnprocessableContent",
        "The body breaks the blueprint's rules or a hook refused it: "
        "`validation_failed`, `rejected`, `idempotency_key_reused`; `errors` points at "
        "each bad part.",
    ),
    428: (
        "PreconditionRequired",
        "This resource requires `If-Match` on writes: `precondition_required`.",
    ),
    429: (
        "TooManyRequests",
        "Too many requests (rate limiting); retry after `Retry-After` seconds.",
    ),
    500: ("InternalError", "A bug: `internal_error`; `detail` quotes the request id."),
    503: (
        "ServiceUnavailable",
        "The database cannot answer right now: `store_unavailable`; "
        "retry after `Retry-After` seconds.",
    ),
}
"""Every problem status: the component response name and what it means."""

_EXTRA_HEADERS: dict[int, tuple[str, ...]] = {
    401: ("WWW-Authenticate",),
    409: ("Retry-After",),
    405: ("Allow",),
    412: ("ETag",),
    415: ("Accept-Post", "Accept-Patch"),
    429: ("Retry-After",),
    503: ("Retry-After",),
}

_HEADERS: dict[str, Schema] = {
    "X-Request-ID": {
        "required": True,
        "description": "The request's id (the client's own, if it sent a valid one); quote it "
        "when reporting a problem.",
        "schema": {"type": "string"},
    },
    "ETag": {
        "required": True,
        "description": 'The version of the record, as a strong entity tag: `"<version>"`.',
        "schema": {"type": "string", "pattern": '^"[0-9]+"$', "examples": ['"3"']},
    },
    "Location": {
        "required": True,
        "description": "The URL of the record created.",
        "schema": {"type": "string", "format": "uri-reference"},
    },
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "Allow": {
        "required": True,
        "description": "The methods the path accepts.",
        "schema": {"type": "string"},
    },
    "Accept-Post": {
        "description": "The media types a POST accepts.",
        "schema": {"type": "string"},
    },
    "Accept-Patch": {
        "description": "The media types a PATCH accepts.",
        "schema": {"type": "string"},
    },
    "Idempotent-Replayed": {
        "description": "`true` when this repeats the response to an earlier request with the "
        "same `Idempotency-Key`.",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "Deprecation": {
        "description": "This API version is deprecated (RFC 9745): move to a newer one.",
        "schema": {"type": "string"},
    },
    "Sunset": {
        "description": "When this API version stops being served (RFC 8594).",
        "schema": {"type": "string"},
    },
    "WWW-Authenticate": {
        "description": "How to authenticate (RFC 9110).",
        "schema": {"type": "string"},
    },
}


def header_ref(name: str) -> Schema:
    """A reference to the component header ``name``."""
    return {"$ref": f"#/components/headers/{name}"}


def problem_ref(status: int) -> Schema:
    """A reference to the problem response of ``status``."""
    return {"$ref": f"#/components/responses/{PROBLEM_STATUSES[status][0]}"}


def header_components() -> dict[str, Schema]:
    """Every response header, for ``components.headers``."""
    return {name: dict(header) for name, header in _HEADERS.items()}


def problem_schemas() -> dict[str, Schema]:
    """``Problem`` and ``ProblemFieldError``, for ``components.schemas``."""
    field_error: Schema = {
        "type": "object",
        "description": "One invalid part of the input.",
        "properties": {
            "pointer": {
                "type": "string",
                "description": "A JSON Pointer into the body (`/price`; empty for the "
                "whole body), or the name of the query parameter (`limit`).",
            },
            "detail": {"type": "string", "description": "What is wrong with it."},
        },
        "required": ["pointer", "detail"],
    }
    problem: Schema = {
        "type": "object",
        "description": "An RFC 9457 problem document: the body of every error.",
        "properties": {
            "type": {
                "type": "string",
                "format": "uri",
                "description": "`urn:bastion:problem:<code>`.",
                "examples": ["urn:bastion:problem:validation_failed"],
            },
            "title": {"type": "string", "description": "A short summary of the kind."},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string", "description": "What went wrong this time."},
            "code": {
                "type": "string",
                "pattern": "^[a-z][a-z0-9_]*$",
                "description": "The stable code to switch on (docs/errors.md lists every one).",
            },
            "instance": {"type": "string", "description": "The request path that failed."},
            "trace_id": {
                "type": ["string", "null"],
                "description": "The trace id, or null when the request is not traced.",
            },
            "request_id": {"type": "string", "description": "Equal to `X-Request-ID`."},
            "errors": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/ProblemFieldError"},
                "description": "One entry per invalid part of the input.",
            },
            "current_version": {
                "type": "integer",
                "minimum": 1,
                "description": "With `precondition_failed`: the record's version now.",
            },
        },
        "required": ["type", "title", "status", "detail", "code", "trace_id"],
    }
    return {"Problem": problem, "ProblemFieldError": field_error}


def problem_responses() -> dict[str, Schema]:
    """A response per problem status, for ``components.responses``."""
    responses: dict[str, Schema] = {}
    for status, (name, description) in PROBLEM_STATUSES.items():
        headers = {"X-Request-ID": header_ref("X-Request-ID")}
        for header in _EXTRA_HEADERS.get(status, ()):
            headers[header] = header_ref(header)
        responses[name] = {
            "description": description,
            "headers": headers,
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        }
    return responses
