"""``POST /v1/{resource}``: create a record, at most once per ``Idempotency-Key``."""

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
from bastion.api.rest.idempotency import (
    idempotency_key,
    idempotent_request,
    outcome_response,
    stored_response,
)
from bastion.core import IdempotentRecords, RecordService
from bastion.core.ports import Row, StoredResponse

__all__ = ["create_record"]


async def create_record(
    request: Request,
    service: RecordService,
    config: RestConfig,
    idempotent: IdempotentRecords,
) -> Response:
    """201 with the stored record, its ``Location`` and ``ETag``.

    With ``Idempotency-Key`` the first response is stored in the same
    transaction as the record, and a retry gets it again.
    """
    resource = resource_name(request, service)
    key = idempotency_key(request)
    body = await read_json_body(request, max_bytes=config.max_body_bytes)
    ctx = request_context(request)

    def created(row: Row) -> Response:
        headers = {
            "Location": location(request, config, resource, row),
            "ETag": etag(row["version"]),
        }
        return json_response(row, 201, headers)

    if key is None:
        return created(await service.create(resource, body, ctx=ctx))

    def render(row: Row) -> StoredResponse:
        return stored_response(created(row))

    keyed = idempotent_request(
        request, ctx, key=key, route=f"{config.prefix}/{resource}", body=body
    )
    outcome = await idempotent.create(resource, body, ctx=ctx, request=keyed, render=render)
    return outcome_response(outcome)
