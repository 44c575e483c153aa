"""The generated REST endpoints: ``/v1/{resource}`` and ``/v1/{resource}/{id}``.

Handlers translate HTTP into core calls and core errors into problem
documents; no SQL and no business rules live here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.rest.encoding import dump_json, read_json_body
from bastion.api.rest.problems import Problem
from bastion.core import (
    ExpectedVersion,
    FieldError,
    InvalidQuery,
    NotFound,
    QuerySpec,
    RecordService,
    RequestContext,
    decode_cursor,
    encode_cursor,
    parse_id,
)

__all__ = ["RestConfig", "resource_routes"]

_LIST_PARAMETERS = frozenset({"limit", "cursor"})
# Routes take every method so that the handler answers 405 with the right Allow list.
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


@dataclass(frozen=True, slots=True)
class RestConfig:
    """What the REST layer needs from the settings."""

    prefix: str = "/v1"
    max_body_bytes: int = 1_048_576
    list_limit_default: int = 20
    list_limit_max: int = 100


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        dump_json(body), status_code=status, headers=headers, media_type="application/json"
    )


def _etag(version: int) -> str:
    return f'"{version}"'


def _parse_if_match(request: Request) -> ExpectedVersion:
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


def _context(request: Request) -> RequestContext:
    context: RequestContext | None = getattr(request.state, "context", None)
    if context is not None:
        return context
    # The identity layer will set a full context; until then the caller is anonymous.
    return RequestContext(request_id=getattr(request.state, "request_id", None))


def _limit(raw: str | None, config: RestConfig) -> int:
    if raw is None:
        return config.list_limit_default
    if not raw.isdigit() or not 1 <= int(raw) <= config.list_limit_max:
        raise InvalidQuery(
            f"limit must be a whole number from 1 to {config.list_limit_max}",
            errors=(FieldError("limit", f"must be 1..{config.list_limit_max}, got {raw!r}"),),
        )
    return int(raw)


def resource_routes(service: RecordService, config: RestConfig) -> list[Route]:
    """The routes serving every resource of the service's blueprint."""

    def record_id(request: Request, resource: str) -> UUID:
        raw = request.path_params["id"]
        parsed = parse_id(raw)
        if parsed is None:
            raise NotFound(f"there is no {resource} record with id {raw!r} (ids are UUIDs)")
        return parsed

    def resource_name(request: Request) -> str:
        name: str = request.path_params["resource"]
        service.validator(name)
        return name

    def location(request: Request, resource: str, row: dict[str, Any]) -> str:
        # root_path is where a host application mounted Bastion ("" when standalone).
        root = request.scope.get("root_path", "")
        return f"{root}{config.prefix}/{resource}/{row['id']}"

    async def list_records(request: Request) -> Response:
        resource = resource_name(request)
        params = request.query_params
        unknown = sorted(set(params.keys()) - _LIST_PARAMETERS)
        if unknown:
            raise InvalidQuery(
                f"unknown query parameter(s): {', '.join(unknown)}; "
                f"this endpoint accepts {', '.join(sorted(_LIST_PARAMETERS))}",
                errors=tuple(FieldError(name, "is not a known parameter") for name in unknown),
            )
        cursor = params.get("cursor")
        spec = QuerySpec(
            limit=_limit(params.get("limit"), config),
            after=decode_cursor(cursor) if cursor else None,
        )
        page = await service.list(resource, spec, ctx=_context(request))
        next_cursor = encode_cursor(page.records[-1]["id"]) if page.has_more else None
        return _json({"data": page.records, "next_cursor": next_cursor, "has_more": page.has_more})

    async def create_record(request: Request) -> Response:
        resource = resource_name(request)
        body = await read_json_body(request, max_bytes=config.max_body_bytes)
        row = await service.create(resource, body, ctx=_context(request))
        headers = {"Location": location(request, resource, row), "ETag": _etag(row["version"])}
        return _json(row, 201, headers)

    async def get_record(request: Request) -> Response:
        resource = resource_name(request)
        row = await service.get(resource, record_id(request, resource), ctx=_context(request))
        etag = _etag(row["version"])
        if_none_match = request.headers.get("if-none-match")
        if if_none_match is not None and (
            if_none_match.strip() == "*"
            or etag in (tag.strip().removeprefix("W/") for tag in if_none_match.split(","))
        ):
            return Response(status_code=304, headers={"ETag": etag})
        return _json(row, headers={"ETag": etag})

    async def patch_record(request: Request) -> Response:
        resource = resource_name(request)
        rid = record_id(request, resource)
        body = await read_json_body(request, max_bytes=config.max_body_bytes, merge_patch=True)
        row = await service.update(
            resource, rid, body, ctx=_context(request), expected_version=_parse_if_match(request)
        )
        return _json(row, headers={"ETag": _etag(row["version"])})

    async def put_record(request: Request) -> Response:
        resource = resource_name(request)
        rid = record_id(request, resource)
        body = await read_json_body(request, max_bytes=config.max_body_bytes)
        row = await service.replace(
            resource, rid, body, ctx=_context(request), expected_version=_parse_if_match(request)
        )
        return _json(row, headers={"ETag": _etag(row["version"])})

    async def delete_record(request: Request) -> Response:
        resource = resource_name(request)
        rid = record_id(request, resource)
        await service.delete(
            resource, rid, ctx=_context(request), expected_version=_parse_if_match(request)
        )
        return Response(status_code=204)

    async def collection(request: Request) -> Response:
        handler = {"GET": list_records, "HEAD": list_records, "POST": create_record}
        return await _dispatch(request, handler)

    async def item(request: Request) -> Response:
        handler = {
            "GET": get_record,
            "HEAD": get_record,
            "PATCH": patch_record,
            "PUT": put_record,
            "DELETE": delete_record,
        }
        return await _dispatch(request, handler)

    return [
        Route(f"{config.prefix}/{{resource}}", collection, methods=_ALL_METHODS),
        Route(f"{config.prefix}/{{resource}}/{{id}}", item, methods=_ALL_METHODS),
    ]


async def _dispatch(
    request: Request, handlers: Mapping[str, Callable[[Request], Awaitable[Response]]]
) -> Response:
    handler = handlers.get(request.method)
    if handler is None:
        allowed = ", ".join(handlers)
        raise Problem(
            405,
            "method_not_allowed",
            "Method not allowed",
            f"{request.method} is not allowed here; use {allowed}",
            headers={"Allow": allowed},
        )
    return await handler(request)
