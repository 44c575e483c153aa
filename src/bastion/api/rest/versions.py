"""API versions: how one version names and shows the stored fields.

Every version is served from the same records. A :class:`VersionView`
translates between a version's field names and the blueprint's: request
bodies and query parameters on the way in, records and error pointers on the
way out. The core never knows which version a request came through.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message

from bastion.api.rest.encoding import dump_json
from bastion.api.rest.problems import problem_for_error, problem_response
from bastion.blueprint import ApiVersion, BelongsTo, Blueprint
from bastion.core import BastionError, FieldError, InvalidInput, InvalidQuery

__all__ = ["VersionView", "VersionedEndpoint", "version_views"]


class _ResourceNames:
    """Field names of one resource in one version."""

    __slots__ = ("hidden", "to_public", "to_storage")

    def __init__(self, renamed: dict[str, str], hidden: list[str]) -> None:
        self.to_public = dict(renamed)
        self.to_storage = {public: stored for stored, public in renamed.items()}
        self.hidden = frozenset(hidden)


def _http_date(day: date) -> str:
    return format_datetime(datetime.combine(day, time(), tzinfo=UTC), usegmt=True)


class VersionView:
    """One API version's names for fields, and the headers it adds to responses.

    Hot path: a version that renames nothing returns records unchanged.
    """

    def __init__(self, name: str, spec: ApiVersion, blueprint: Blueprint) -> None:
        self.name = name
        self.prefix = f"/{name}"
        self._resources = {
            resource: _ResourceNames(changes.renamed, changes.hidden)
            for resource, changes in spec.resources.items()
            if changes.renamed or changes.hidden
        }
        self.headers: dict[str, str] = {}
        if spec.deprecated:
            if isinstance(spec.deprecated, date):
                # RFC 9745: the moment of deprecation as a structured-field date.
                moment = datetime.combine(spec.deprecated, time(), tzinfo=UTC)
                self.headers["Deprecation"] = f"@{int(moment.timestamp())}"
            else:
                self.headers["Deprecation"] = "@0"
        if spec.sunset is not None:
            self.headers["Sunset"] = _http_date(spec.sunset)  # RFC 8594

    def hidden_fields(self, resource: str) -> frozenset[str]:
        """The stored fields of ``resource`` this version hides."""
        names = self._resources.get(resource)
        return frozenset() if names is None else names.hidden

    @property
    def is_identity(self) -> bool:
        """Whether this version shows every resource exactly as stored."""
        return not self._resources

    def public_name(self, resource: str, field: str) -> str:
        """The name this version uses for a stored field."""
        names = self._resources.get(resource)
        return field if names is None else names.to_public.get(field, field)

    def storage_name(self, resource: str, field: str) -> str:
        """The stored field a name of this version stands for.

        Raises:
            InvalidInput: for a field this version hides (it does not exist here).
        """
        names = self._resources.get(resource)
        if names is None:
            return field
        if field in names.hidden or (field in names.to_public and field not in names.to_storage):
            raise InvalidInput(
                f"{resource} has no field {field!r} in {self.name}",
                errors=(FieldError(f"/{field}", f"is not a field of {resource} in {self.name}"),),
            )
        return names.to_storage.get(field, field)

    def record_out(self, resource: str, record: dict[str, Any]) -> dict[str, Any]:
        """A stored record as this version shows it."""
        names = self._resources.get(resource)
        if names is None:
            return record
        return {
            names.to_public.get(key, key): value
            for key, value in record.items()
            if key not in names.hidden
        }

    def body_in(self, resource: str, body: Any) -> Any:
        """A request body with this version's names turned into stored names."""
        names = self._resources.get(resource)
        if names is None or not isinstance(body, dict):
            return body
        errors = [
            FieldError(f"/{key}", f"is not a field of {resource} in {self.name}")
            for key in body
            if key in names.hidden or (key in names.to_public and key not in names.to_storage)
        ]
        if errors:
            raise InvalidInput(
                f"the body does not fit {resource} in {self.name}", errors=tuple(errors)
            )
        return {names.to_storage.get(key, key): value for key, value in body.items()}

    def error_out(self, resource: str, error: BastionError) -> BastionError:
        """``error`` with its field pointers in this version's names."""
        names = self._resources.get(resource)
        if names is None or not error.errors:
            return error
        renamed = []
        for item in error.errors:
            head, _, rest = item.pointer.lstrip("/").partition("/")
            public = names.to_public.get(head, head)
            pointer = "/" + public + ("/" + rest if rest else "") if item.pointer else ""
            renamed.append(FieldError(pointer, item.detail))
        error.errors = tuple(renamed)
        return error


def version_views(blueprint: Blueprint) -> list[VersionView]:
    """A view for every served version, oldest first."""
    return [
        VersionView(name, spec, blueprint) for name, spec in blueprint.served_versions().items()
    ]


_PLAIN_PARAMETERS = frozenset({"limit", "cursor", "count", "q"})
_LIST_PARAMETERS = frozenset({"sort", "fields", "expand", "group_by"})
_AGGREGATES = ("sum", "avg", "min", "max", "distinct")


class VersionedEndpoint:
    """Runs a generated endpoint through a version's names, headers and pointers.

    The request's query names and JSON body are turned into stored names
    before the endpoint sees them; the JSON it answers (records, pages,
    aggregate rows, embedded records) and the problems it raises are turned
    back into the version's names. Versions that rename nothing cost nothing.
    """

    def __init__(self, view: VersionView, blueprint: Blueprint) -> None:
        self.view = view
        self._targets: dict[str, dict[str, str]] = {}
        for name, resource in blueprint.resources.items():
            targets = {
                field: spec.resource
                for field, spec in resource.fields.items()
                if isinstance(spec, BelongsTo)
            }
            for relation, link in resource.has_many.items():
                targets[relation] = link.resource
            self._targets[name] = targets

    async def __call__(
        self, request: Request, call: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """``call(request)`` as seen through this version."""
        view = self.view
        if view.is_identity:
            response = await call(request)
            response.headers.update(view.headers)
            return response
        resource = request.path_params.get("resource", "")
        try:
            translated = await self._request_in(request, resource)
            response = await call(translated)
        except BastionError as exc:
            problem = problem_for_error(view.error_out(resource, exc))
            problem.headers.update(view.headers)
            return problem_response(
                problem,
                instance=request.url.path,
                request_id=getattr(request.state, "request_id", None),
            )
        if response.media_type == "application/json" and response.body:
            payload = orjson.loads(response.body)
            response.body = dump_json(self._payload_out(resource, payload))
            response.headers["content-length"] = str(len(response.body))
        response.headers.update(view.headers)
        return response

    # --- requests ----------------------------------------------------------

    async def _request_in(self, request: Request, resource: str) -> Request:
        scope = dict(request.scope)
        pairs = parse_qsl(request.url.query, keep_blank_values=True)
        scope["query_string"] = urlencode(
            [self._parameter_in(resource, k, v) for k, v in pairs]
        ).encode()
        body = await request.body()
        if body and request.method in ("POST", "PUT", "PATCH"):
            try:
                data = orjson.loads(body)
            except orjson.JSONDecodeError:
                data = None  # the endpoint answers with its own malformed-JSON problem
            if data is not None:
                body = orjson.dumps(self._body_in(resource, data, request.url.path))
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        return Request(scope, receive)

    def _body_in(self, resource: str, data: Any, path: str) -> Any:
        if path.endswith(":batch") and isinstance(data, dict):
            records = data.get("records")
            if isinstance(records, list):
                return {**data, "records": [self.view.body_in(resource, r) for r in records]}
            return data
        return self.view.body_in(resource, data)

    def _name_in(self, resource: str, name: str, parameter: str) -> str:
        try:
            return self.view.storage_name(resource, name)
        except InvalidInput as exc:
            raise InvalidQuery(exc.detail, errors=(FieldError(parameter, exc.detail),)) from exc

    def _parameter_in(self, resource: str, key: str, value: str) -> tuple[str, str]:
        if key in _PLAIN_PARAMETERS:
            return key, value
        if key in _LIST_PARAMETERS or key in _AGGREGATES:
            names = []
            for item in value.split(","):
                sign = "-" if key == "sort" and item.startswith("-") else ""
                names.append(sign + self._name_in(resource, item.removeprefix(sign), key))
            return key, ",".join(names)
        field, bracket, op = key.partition("[")
        relation, dot, target_field = field.partition(".")
        if dot:
            stored = self._name_in(resource, relation, key)
            target = self._targets.get(resource, {}).get(stored, "")
            field = f"{stored}.{self._name_in(target, target_field, key)}"
        else:
            field = self._name_in(resource, field, key)
        return field + bracket + op, value

    # --- responses ---------------------------------------------------------

    def _payload_out(self, resource: str, payload: Any) -> Any:
        if isinstance(payload, dict) and isinstance(payload.get("data"), list):
            rows = payload["data"]
            is_aggregate = any("id" not in row for row in rows if isinstance(row, dict))
            convert = self._aggregate_out if is_aggregate else self._record_out
            return {**payload, "data": [convert(resource, row) for row in rows]}
        return self._record_out(resource, payload)

    def _record_out(self, resource: str, record: Any) -> Any:
        if not isinstance(record, dict):
            return record
        targets = self._targets.get(resource, {})
        nested = {}
        for key, value in record.items():
            target = targets.get(key)
            if target is None:
                continue
            if isinstance(value, dict):
                nested[key] = self._record_out(target, value)
            elif isinstance(value, list):
                nested[key] = [self._record_out(target, item) for item in value]
        return self.view.record_out(resource, {**record, **nested})

    def _aggregate_out(self, resource: str, row: Any) -> Any:
        if not isinstance(row, dict):
            return row
        out = {}
        for key, value in row.items():
            prefix, _, field = key.partition("_")
            if prefix in _AGGREGATES and field:
                out[f"{prefix}_{self.view.public_name(resource, field)}"] = value
            else:
                out[self.view.public_name(resource, key)] = value
        return out
