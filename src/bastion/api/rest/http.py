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


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response encoded with orjson (decimals as strings, datetimes with ``Z``)."""
    return Response(
        dump_json(body), status_code=status, headers=headers, media_type="application/json"
    )


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
    context: RequestContext | None = getattr(request.state, "context", None)
    if context is not None:
        return context
    return RequestContext(request_id=getattr(request.state, "request_id", None))


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
