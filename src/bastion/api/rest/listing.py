"""``GET /v1/{resource}``: one page of records."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from bastion.api.rest.http import RestConfig, json_response, request_context, resource_name
from bastion.core import (
    FieldError,
    InvalidQuery,
    QuerySpec,
    RecordService,
    decode_cursor,
    encode_cursor,
)

__all__ = ["list_records"]

_LIST_PARAMETERS = frozenset({"limit", "cursor"})


def _limit(raw: str | None, config: RestConfig) -> int:
    if raw is None:
        return config.list_limit_default
    if not raw.isdigit() or not 1 <= int(raw) <= config.list_limit_max:
        raise InvalidQuery(
            f"limit must be a whole number from 1 to {config.list_limit_max}",
            errors=(FieldError("limit", f"must be 1..{config.list_limit_max}, got {raw!r}"),),
        )
    return int(raw)


async def list_records(request: Request, service: RecordService, config: RestConfig) -> Response:
    """A page of records: ``{"data": [...], "next_cursor": ..., "has_more": ...}``."""
    resource = resource_name(request, service)
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
    page = await service.list(resource, spec, ctx=request_context(request))
    next_cursor = encode_cursor(page.records[-1]["id"]) if page.has_more else None
    return json_response(
        {"data": page.records, "next_cursor": next_cursor, "has_more": page.has_more}
    )
