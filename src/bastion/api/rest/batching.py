"""``POST /v1/{resource}:batch``: create many records in one transaction, all or none.

The body is an object, ``{"records": [{...}, ...]}`` (an object rather than a
bare array so that options can join ``records`` later). Errors point into
it: ``/records/3/email``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from bastion.api.rest.encoding import read_json_body
from bastion.api.rest.http import RestConfig, json_response, request_context, resource_name
from bastion.api.rest.idempotency import (
    idempotency_key,
    idempotent_request,
    outcome_response,
    stored_response,
)
from bastion.api.rest.problems import Problem
from bastion.core import FieldError, IdempotentRecords, InvalidInput, RecordService
from bastion.core.ports import Row, StoredResponse

__all__ = ["BATCH_SUFFIX", "create_records"]

BATCH_SUFFIX = ":batch"
"""Appended to a collection's path: ``/v1/orders:batch``."""

_POINTER = "/records"


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def _items(body: Any, batch_max: int) -> list[Any]:
    """The ``records`` array of a batch body, or the problem with its shape."""
    if not isinstance(body, dict):
        raise InvalidInput(
            'the body must be a JSON object: {"records": [...]}',
            errors=(FieldError("", "must be an object with a records array"),),
        )
    errors = [
        FieldError(f"/{_escape(name)}", "is not a member of a batch; send only records")
        for name in sorted(set(body) - {"records"})
    ]
    items = body.get("records")
    if not isinstance(items, list):
        errors.append(FieldError(_POINTER, "must be an array of records"))
    elif not items:
        errors.append(FieldError(_POINTER, "must hold at least one record"))
    if errors or not isinstance(items, list):
        raise InvalidInput('the body must be {"records": [...]}', errors=tuple(errors))
    if len(items) > batch_max:
        raise Problem(
            413,
            "batch_too_large",
            "Batch too large",
            f"a batch creates at most {batch_max} records and this one has {len(items)}; "
            "split it into several batches",
        )
    return items


async def create_records(
    request: Request,
    service: RecordService,
    config: RestConfig,
    idempotent: IdempotentRecords,
) -> Response:
    """201 with ``{"data": [records...]}`` in the order sent, or one problem and nothing stored."""
    resource = resource_name(request, service)
    key = idempotency_key(request)
    body = await read_json_body(request, max_bytes=config.max_body_bytes)
    items = _items(body, config.batch_max)
    ctx = request_context(request)

    def created(rows: list[Row]) -> Response:
        return json_response({"data": rows}, 201)

    if key is None:
        return created(await service.create_many(resource, items, ctx=ctx, pointer=_POINTER))

    def render(rows: list[Row]) -> StoredResponse:
        return stored_response(created(rows))

    route = f"{config.prefix}/{resource}{BATCH_SUFFIX}"
    keyed = idempotent_request(request, ctx, key=key, route=route, body=body)
    outcome = await idempotent.create_many(
        resource, items, ctx=ctx, request=keyed, render=render, pointer=_POINTER
    )
    return outcome_response(outcome)
