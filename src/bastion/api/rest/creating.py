"""``POST /v1/{resource}``: create a record."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from bastion.api.rest.encoding import read_json_body
from bastion.api.rest.http import (
    RestConfig,
    etag,
    json_response,
    location,
    request_context,
    resource_name,
)
from bastion.core import RecordService

__all__ = ["create_record"]


async def create_record(request: Request, service: RecordService, config: RestConfig) -> Response:
    """201 with the stored record, its ``Location`` and ``ETag``."""
    resource = resource_name(request, service)
    body = await read_json_body(request, max_bytes=config.max_body_bytes)
    row = await service.create(resource, body, ctx=request_context(request))
    headers = {"Location": location(request, config, resource, row), "ETag": etag(row["version"])}
    return json_response(row, 201, headers)
