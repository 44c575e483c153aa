"""Small HTTP pieces every REST handler shares: JSON responses, ids, ETags, context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from starlette.requests import Request
from starlette.responses import Response

from bastion.api.rest.encoding import dump_json
from bastion.core import ExpectedVersion, NotFound, RecordService, RequestContext, parse_id

__all__ = [
    "RestConfig",
    "etag",
    "json_response",
    "location",
    "parse_if_match",
    "record_id",
    "request_context",
    "resource_name",
]


@dataclass(frozen=True, slots=True)
class RestConfig:
    """What the REST layer needs from the settings."""

    prefix: str = "/v1"
    max_body_bytes: int = 1_048_576
    batch_max: int = 100
    """The most records one ``POST /v1/{resource}:batch`` creates (413 beyond)."""


class _JsonResponse(Response):
    """``Response(content, status, headers, media_type="application/json")`` with the raw
    headers written directly: every record and page goes out as one (hot path)."""

    media_type = "application/json"

    def __init__(self, content: bytes, status: int, headers: dict[str, str] | None) -> None:
        self.status_code = status
        self.background = None
        self.body = content
        raw = (
            []
            if not headers
            else [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        )
        raw.append((b"content-length", str(len(content)).encode("latin-1")))
        raw.append((b"content-type", b"application/json"))
        self.raw_headers = raw


_STARLETTE_HEADERS = frozenset({"content-length", "content-type"})


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response encoded with orjson (decimals as strings, datetimes with ``Z``)."""
    if (
        status < 200
        or status in (204, 304)
        or (headers and not _STARLETTE_HEADERS.isdisjoint(map(str.lower, headers)))
    ):
        # Starlette's own rules for these (no length, given types kept).
        return Response(
            dump_json(body), status_code=status, headers=headers, media_type="application/json"
        )
    return _JsonResponse(dump_json(body), status, headers)


def etag(version: int) -> str:
    """The strong ETag of a record version: ``"<version>"``."""
    return f'"{version}"'


def parse_if_match(request: Request) -> ExpectedVersion:
    """The version ``If-Match`` names: an int, ``"*"``, or ``None`` when absent."""
    header = request.headers.get("if-match")
    if header is None:
        return None
    header = header.strip()
    if header == "*":
        return "*"
    for tag in header.split(","):
        tag = tag.strip()
        if tag.startswith('"') and tag.endswith('"') and tag[1:-1].isdigit():
            return int(tag[1:-1])
    # A tag that is not one of ours can never match the current version.
    return -1


def request_context(request: Request) -> RequestContext:
    """Who is asking: set by the identity layer, or anonymous with the request's id."""
    # The scope's state dict itself: ``request.state`` builds a wrapper per request.
    state = request.scope.get("state") or {}
    context: RequestContext | None = state.get("context")
    if context is not None:
        return context
    return RequestContext(request_id=state.get("request_id"))


def record_id(request: Request, resource: str) -> UUID:
    """The ``{id}`` path parameter; a malformed id is a 404 (no such record can exist)."""
    raw = request.path_params["id"]
    parsed = parse_id(raw)
    if parsed is None:
        raise NotFound(f"there is no {resource} record with id {raw!r} (ids are UUIDs)")
    return parsed


def resource_name(request: Request, service: RecordService) -> str:
    """The ``{resource}`` path parameter, checked against the blueprint (404 if unknown)."""
    name: str = request.path_params["resource"]
    service.validator(name)
    if service.blueprint.resources[name].internal:
        raise NotFound(f"there is no resource called {name!r}")
    return name


def location(request: Request, config: RestConfig, resource: str, row: dict[str, Any]) -> str:
    """The URL of a record, including the path a host application mounted Bastion at."""
    root = request.scope.get("root_path", "")
    return f"{root}{config.prefix}/{resource}/{row['id']}"
