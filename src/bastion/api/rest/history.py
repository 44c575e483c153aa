"""``GET /v1/{resource}/{id}/history`` and ``GET /v1/{resource}/{id}?as_of=...``.

Both read the event log through the record's access rules
(:class:`~bastion.core.events.history.RecordHistory`). Neither answers an
``ETag``: a past state is not the record's current version, so it can be
neither a precondition of a write nor revalidated. Both are sent with
``Cache-Control: no-store``: they may hold personal data, which erasure must
be able to take back.

Fields whose personal data was erased are left out of a past record and
named in the ``Erased-Fields`` header; in a history they read ``"[erased]"``.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.api.rest.http import (
    RestConfig,
    json_response,
    record_id,
    request_context,
    resource_name,
)
from bastion.api.rest.problems import Problem, problem_for_error
from bastion.api.rest.query_params import item_view
from bastion.api.rest.versions import VersionedEndpoint, VersionView
from bastion.core import BastionError, FieldError, InvalidQuery, RecordService, select_fields
from bastion.core.events.history import (
    RecordHistory,
    parse_as_of,
    parse_history_limit,
)

__all__ = ["AS_OF", "ERASED_FIELDS_HEADER", "HISTORY_SUFFIX", "HistoryEndpoints"]

HISTORY_SUFFIX = "/history"
"""Appended to a record's path: ``/v1/orders/{id}/history``."""
AS_OF = "as_of"
"""The query parameter of ``GET /v1/{resource}/{id}`` that reads a past state."""
ERASED_FIELDS_HEADER = "Erased-Fields"
"""Names the fields of a past record left out because their personal data was erased."""
_HISTORY_PARAMETERS = ("limit", "cursor")
_NO_STORE = {"Cache-Control": "no-store"}
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


def _single(params: QueryParams, name: str) -> str | None:
    values = params.getlist(name)
    if len(values) > 1:
        raise InvalidQuery(
            f"{name} is given {len(values)} times; give it once",
            errors=(FieldError(name, "is given more than once"),),
        )
    return values[0] if values else None


class HistoryEndpoints:
    """The history route and the ``as_of`` reads of one API version's resources.

    ``versioned`` is the version the routes serve (``None``: the blueprint's
    names as they are); a history's ``changes`` use that version's field names.
    """

    def __init__(
        self,
        service: RecordService,
        config: RestConfig,
        *,
        versioned: VersionedEndpoint | None = None,
    ) -> None:
        self.service = service
        self.config = config
        self.history = RecordHistory(service)
        self.view: VersionView | None = None if versioned is None else versioned.view

    def route(self) -> Route:
        """``{prefix}/{resource}/{id}/history`` (every method, so others answer 405)."""
        path = f"{self.config.prefix}/{{resource}}/{{id}}{HISTORY_SUFFIX}"
        return Route(path, self._dispatch, methods=_METHODS)

    async def _dispatch(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            raise Problem(
                405,
                "method_not_allowed",
                "Method not allowed",
                f"{request.method} is not allowed here; use GET, HEAD",
                headers={"Allow": "GET, HEAD"},
            )
        view = self.view
        if view is None or not view.headers:
            return await self._history(request)
        try:
            response = await self._history(request)
        except BastionError as exc:
            problem = problem_for_error(exc)
            problem.headers.update(view.headers)
            raise problem from exc
        response.headers.update(view.headers)
        return response

    async def _history(self, request: Request) -> Response:
        """A page: ``{"data": [event, ...], "next_cursor": ..., "has_more": ...}``."""
        resource = resource_name(request, self.service)
        rid = record_id(request, resource)
        params = request.query_params
        unknown = sorted(key for key in params if key not in _HISTORY_PARAMETERS)
        if unknown:
            raise InvalidQuery(
                f"unknown query parameter(s): {', '.join(unknown)}; a history accepts "
                "limit and cursor",
                errors=tuple(FieldError(name, "is not a known parameter") for name in unknown),
            )
        page = await self.history.page(
            resource,
            rid,
            ctx=request_context(request),
            limit=parse_history_limit(_single(params, "limit")),
            cursor=_single(params, "cursor") or None,
        )
        entries = page.entries
        if self.view is not None and not self.view.is_identity:
            entries = [self._versioned(resource, entry) for entry in entries]
        body = {"data": entries, "next_cursor": page.next_cursor, "has_more": page.has_more}
        return json_response(body, headers=dict(_NO_STORE))

    def _versioned(self, resource: str, entry: dict[str, Any]) -> dict[str, Any]:
        view = self.view
        assert view is not None
        hidden = view.hidden_fields(resource)
        changes = {
            view.public_name(resource, name): change
            for name, change in entry["changes"].items()
            if name not in hidden
        }
        return {**entry, "changes": changes}

    async def record_as_of(self, request: Request, resource: str) -> Response:
        """``GET /v1/{resource}/{id}?as_of=...``: the record as it was then.

        Takes ``fields`` as a plain read does; ``expand`` is refused (related
        records are only served as they are now).
        """
        params = request.query_params
        text = _single(params, AS_OF)
        fields, expand = item_view(self.service.query_rules(resource), params)
        if expand:
            raise InvalidQuery(
                "expand cannot be combined with as_of: related records are only served as "
                "they are now; read them with as_of of their own",
                errors=(FieldError("expand", "cannot be combined with as_of"),),
            )
        at = parse_as_of(text or "", now=self.service.clock())
        past = await self.history.as_of(
            resource, record_id(request, resource), at, ctx=request_context(request)
        )
        headers = dict(_NO_STORE)
        named = (self._public_name(resource, name) for name in past.erased)
        erased = [name for name in named if name is not None]
        if erased:
            headers[ERASED_FIELDS_HEADER] = ", ".join(erased)
        return json_response(select_fields(past.record, fields), headers=headers)

    def _public_name(self, resource: str, name: str) -> str | None:
        view = self.view
        if view is None:
            return name
        if name in view.hidden_fields(resource):
            return None
        return view.public_name(resource, name)
