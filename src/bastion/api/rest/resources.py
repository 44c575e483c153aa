"""The generated REST endpoints: ``/v1/{resource}``, ``/v1/{resource}:batch``,
``/v1/{resource}:aggregate``, ``/v1/{resource}/{id}`` and ``/v1/{resource}/{id}/history``.

Handlers translate HTTP into core calls and core errors into problem
documents; no SQL and no business rules live here. Each family of endpoints
has its own module (``listing``, ``creating``, ``batching``); this one holds the
single-record endpoints and assembles the routes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.rest.batching import BATCH_SUFFIX, create_records
from bastion.api.rest.creating import create_record
from bastion.api.rest.encoding import read_json_body
from bastion.api.rest.freshness import cache_control
from bastion.api.rest.history import AS_OF, HistoryEndpoints
from bastion.api.rest.http import (
    RestConfig,
    etag,
    json_response,
    parse_if_match,
    record_id,
    request_context,
    resource_name,
)
from bastion.api.rest.listing import AGGREGATE_SUFFIX, aggregate_records, list_records
from bastion.api.rest.problems import Problem
from bastion.api.rest.query_params import item_view
from bastion.api.rest.versions import VersionedEndpoint
from bastion.core import IdempotentRecords, RecordService, select_fields

__all__ = ["resource_routes"]

# Routes take every method so that the handler answers 405 with the right Allow list.
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
Handler = Callable[[Request], Awaitable[Response]]


def resource_routes(
    service: RecordService,
    config: RestConfig,
    *,
    idempotent: IdempotentRecords | None = None,
    versioned: VersionedEndpoint | None = None,
) -> list[Route]:
    """The routes serving every resource of the service's blueprint.

    ``versioned`` serves them as one API version (its prefix is ``config.prefix``).

    ``idempotent`` runs creates that carry ``Idempotency-Key`` (by default
    with the default key lifetime).
    """
    keyed = idempotent or IdempotentRecords(records=service)
    past = HistoryEndpoints(service, config, versioned=versioned)

    async def get_record(request: Request) -> Response:
        resource = resource_name(request, service)
        if AS_OF in request.query_params:
            return await past.record_as_of(request, resource)
        fields, expand = item_view(service.query_rules(resource), request.query_params)
        row = await service.get(
            resource, record_id(request, resource), ctx=request_context(request), expand=expand
        )
        headers = {"ETag": etag(row["version"]), "Cache-Control": cache_control(service, resource)}
        tag = headers["ETag"]
        if_none_match = request.headers.get("if-none-match")
        # Embedded records change without this record's version: no 304 with expand.
        if (
            not expand
            and if_none_match is not None
            and (
                if_none_match.strip() == "*"
                or tag in (t.strip().removeprefix("W/") for t in if_none_match.split(","))
            )
        ):
            return Response(status_code=304, headers=headers)
        return json_response(select_fields(row, fields, expand), headers=headers)

    async def patch_record(request: Request) -> Response:
        resource = resource_name(request, service)
        rid = record_id(request, resource)
        body = await read_json_body(request, max_bytes=config.max_body_bytes, merge_patch=True)
        row = await service.update(
            resource,
            rid,
            body,
            ctx=request_context(request),
            expected_version=parse_if_match(request),
        )
        return json_response(row, headers={"ETag": etag(row["version"])})

    async def put_record(request: Request) -> Response:
        resource = resource_name(request, service)
        rid = record_id(request, resource)
        body = await read_json_body(request, max_bytes=config.max_body_bytes)
        row = await service.replace(
            resource,
            rid,
            body,
            ctx=request_context(request),
            expected_version=parse_if_match(request),
            keep=versioned.view.hidden_fields(resource) if versioned else (),
        )
        return json_response(row, headers={"ETag": etag(row["version"])})

    async def delete_record(request: Request) -> Response:
        resource = resource_name(request, service)
        rid = record_id(request, resource)
        await service.delete(
            resource, rid, ctx=request_context(request), expected_version=parse_if_match(request)
        )
        return Response(status_code=204)

    async def list_page(request: Request) -> Response:
        return await list_records(request, service)

    async def aggregate(request: Request) -> Response:
        return await aggregate_records(request, service)

    async def create(request: Request) -> Response:
        return await create_record(request, service, config, keyed)

    async def create_batch(request: Request) -> Response:
        return await create_records(request, service, config, keyed)

    collection: dict[str, Handler] = {"GET": list_page, "HEAD": list_page, "POST": create}
    item: dict[str, Handler] = {
        "GET": get_record,
        "HEAD": get_record,
        "PATCH": patch_record,
        "PUT": put_record,
        "DELETE": delete_record,
    }

    batch: dict[str, Handler] = {"POST": create_batch}
    aggregation: dict[str, Handler] = {"GET": aggregate, "HEAD": aggregate}

    def endpoint(handlers: Mapping[str, Handler]) -> Handler:
        async def dispatch(request: Request) -> Response:
            return await _dispatch(request, handlers)

        if versioned is None:
            return dispatch

        async def dispatch_versioned(request: Request) -> Response:
            return await versioned(request, dispatch)

        return dispatch_versioned

    collection_endpoint = endpoint(collection)
    item_endpoint = endpoint(item)
    aggregate_endpoint = endpoint(aggregation)
    batch_endpoint = endpoint(batch)

    return [
        # Before the collection: ``{resource}`` matches ``[^/]+``, colon included.
        Route(f"{config.prefix}/{{resource}}{BATCH_SUFFIX}", batch_endpoint, methods=_ALL_METHODS),
        Route(
            f"{config.prefix}/{{resource}}{AGGREGATE_SUFFIX}",
            aggregate_endpoint,
            methods=_ALL_METHODS,
        ),
        Route(f"{config.prefix}/{{resource}}", collection_endpoint, methods=_ALL_METHODS),
        Route(f"{config.prefix}/{{resource}}/{{id}}", item_endpoint, methods=_ALL_METHODS),
        past.route(),
    ]


async def _dispatch(request: Request, handlers: Mapping[str, Handler]) -> Response:
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
