"""Reading the small JSON bodies and query values of the identity endpoints."""

from __future__ import annotations

from typing import Any, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.requests import Request

from bastion.api.rest.encoding import read_json_body
from bastion.core import FieldError, InvalidInput, InvalidQuery, NotFound, parse_id
from bastion.core.validation import field_errors

__all__ = ["MAX_AUTH_BODY_BYTES", "Body", "path_id", "query_id", "read_body"]

MAX_AUTH_BODY_BYTES = 65_536
"""The identity endpoints take small bodies only."""

_Model = TypeVar("_Model", bound="Body")


class Body(BaseModel):
    """A request body: unknown members are refused, so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


async def read_body(request: Request, model: type[_Model], *, merge_patch: bool = False) -> _Model:
    """The JSON body checked against ``model``; ``InvalidInput`` points at each bad member."""
    raw: Any = await read_json_body(request, max_bytes=MAX_AUTH_BODY_BYTES, merge_patch=merge_patch)
    if not isinstance(raw, dict):
        raise InvalidInput(
            "the body must be a JSON object", errors=(FieldError("", "must be an object"),)
        )
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput("the body is not valid", errors=field_errors(exc)) from exc


def path_id(request: Request, what: str) -> UUID:
    """The ``{id}`` path parameter; a malformed id is a 404 (no such record can exist)."""
    raw = request.path_params["id"]
    parsed = parse_id(raw)
    if parsed is None:
        raise NotFound(f"there is no {what} with id {raw!r} (ids are UUIDs)")
    return parsed


def query_id(request: Request, name: str) -> UUID | None:
    """The query parameter ``name`` as a UUID, ``None`` when absent."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    parsed = parse_id(raw)
    if parsed is None:
        raise InvalidQuery(
            f"{name} must be a UUID", errors=(FieldError(name, f"{raw!r} is not a UUID"),)
        )
    return parsed
