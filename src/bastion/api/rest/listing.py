"""``GET /v1/{resource}``: one page of records; ``GET /v1/{resource}:aggregate``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from bastion.api.rest.freshness import cache_control
from bastion.api.rest.http import json_response, request_context, resource_name
from bastion.api.rest.query_params import aggregate_spec, list_spec
from bastion.core import RecordService

__all__ = ["AGGREGATE_SUFFIX", "aggregate_records", "list_records"]

AGGREGATE_SUFFIX = ":aggregate"
"""Appended to a collection's path: ``/v1/orders:aggregate``."""


async def list_records(request: Request, service: RecordService) -> Response:
    """A page: ``{"data": [...], "next_cursor": ..., "has_more": ...}`` (and ``total``)."""
    resource = resource_name(request, service)
    spec = list_spec(service.query_rules(resource), request.query_params)
    page = await service.list(resource, spec, ctx=request_context(request))
    body: dict[str, Any] = {
        "data": page.records,
        "next_cursor": page.next_cursor,
        "has_more": page.has_more,
    }
    if page.total is not None:
        body["total"] = page.total
    return json_response(body, headers={"Cache-Control": cache_control(service, resource)})


async def aggregate_records(request: Request, service: RecordService) -> Response:
    """Aggregates per group: ``{"data": [{"status": "paid", "count": 3, ...}]}``."""
    resource = resource_name(request, service)
    spec = aggregate_spec(service.query_rules(resource), request.query_params)
    rows = await service.aggregate(resource, spec, ctx=request_context(request))
    return json_response({"data": list(rows)})
