"""JSON in and out of the REST layer, with orjson (hot path)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from starlette.requests import Request

from bastion.api.rest.problems import Problem

__all__ = ["dump_json", "read_json_body"]

_JSON_MEDIA_TYPES = frozenset({"application/json", "application/merge-patch+json"})


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")  # never exponent notation: "0.0000002", not "2E-7"
    raise TypeError(f"cannot serialize {type(value).__name__}")


def dump_json(value: Any) -> bytes:
    """JSON bytes: datetimes in RFC 3339 UTC with ``Z``, decimals as strings."""
    return orjson.dumps(value, default=_default, option=orjson.OPT_UTC_Z)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def read_json_body(request: Request, *, max_bytes: int, merge_patch: bool = False) -> Any:
    """The request's JSON body, refusing wrong media types, oversized and malformed bodies."""
    media_type = _media_type(request)
    accepted = _JSON_MEDIA_TYPES if merge_patch else frozenset({"application/json"})
    if media_type not in accepted and not (media_type.endswith("+json") and not merge_patch):
        expected = " or ".join(sorted(accepted))
        raise Problem(
            415,
            "unsupported_media_type",
            "Unsupported media type",
            f"send the body as {expected} (got {media_type or 'no Content-Type'})",
            headers={"Accept-Patch" if merge_patch else "Accept-Post": ", ".join(sorted(accepted))},
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        chunks.append(chunk)
    try:
        return orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError as exc:
        raise Problem(
            400, "malformed_json", "Malformed JSON", f"the body is not valid JSON: {exc}"
        ) from exc


def _too_large(max_bytes: int) -> Problem:
    return Problem(
        413,
        "payload_too_large",
        "Payload too large",
        f"the body is larger than the {max_bytes} bytes this server accepts",
    )
