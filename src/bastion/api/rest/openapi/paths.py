"""The paths of one resource in one API version, with every operation and response.

``/v1/customers`` (list, create), ``/v1/customers:batch``,
``/v1/customers:aggregate``, ``/v1/customers/{id}`` (get, replace,
patch, delete) and ``/v1/customers/{id}/history`` (when its changes are
logged). Operation ids are ``list_customers``, ``create_customers``,
...; versions after ``v1`` add their name (``list_customers_v2``).
"""

from __future__ import annotations

from bastion.api.rest.openapi.aggregates import aggregate_parameters, aggregate_schema
from bastion.api.rest.openapi.fields import Schema
from bastion.api.rest.openapi.history import (
    AS_OF_PARAMETER,
    ERASED_FIELDS_HEADER_SCHEMA,
    ETAG_UNLESS_AS_OF,
    HISTORY_LIMIT_PARAMETER,
)
from bastion.api.rest.openapi.parameters import (
    expand_parameter,
    fields_parameter,
    list_parameters,
    parameter_ref,
)
from bastion.api.rest.openapi.responses import header_ref, problem_ref
from bastion.api.rest.openapi.schemas import ref
from bastion.api.rest.openapi.views import ApiView, ResourceView

__all__ = ["resource_paths"]

_ALWAYS = (500, 503)
_BODY = (400, 413, 415, 422)


class _Operations:
    """Builds the operations of one resource in one version."""

    def __init__(self, api: ApiView, view: ResourceView) -> None:
        self.api = api
        self.view = view
        self.name = view.name
        self.schema = view.schema_name

    def headers(self, *names: str) -> Schema:
        headers: Schema = {"X-Request-ID": header_ref("X-Request-ID")}
        for name in names:
            headers[name] = header_ref(name)
        if self.api.deprecated:
            headers["Deprecation"] = header_ref("Deprecation")
        if self.api.spec.sunset is not None:
            headers["Sunset"] = header_ref("Sunset")
        return headers

    def operation(self, verb: str, summary: str, responses: Schema, *statuses: int) -> Schema:
        flag = self.view.resource.flag
        # Behind a flag, every operation answers 404 to callers the flag is off for.
        for status in sorted({*statuses, *_ALWAYS, *((404,) if flag else ())}):
            responses[str(status)] = problem_ref(status)
        operation: Schema = {
            "tags": [self.name],
            "operationId": self.operation_id(verb),
            "summary": summary,
            "responses": responses,
        }
        if flag:
            operation["description"] = (
                f"Behind the feature flag `{flag}`: answers 404 to callers it is off for."
            )
        if self.api.deprecated:
            operation["deprecated"] = True
        return operation

    def body(self, schema: str, *media_types: str) -> Schema:
        content = {media_type: {"schema": ref(schema)} for media_type in media_types}
        return {"required": True, "content": content}

    def record(self, description: str, *headers: str, schema: str | None = None) -> Schema:
        return {
            "description": description,
            "headers": self.headers(*headers),
            "content": {"application/json": {"schema": ref(schema or self.schema)}},
        }

    def operation_id(self, verb: str) -> str:
        return f"{verb}_{self.name}{self.api.operation_suffix}"

    def links(self) -> Schema:
        """What a client can do next with the record just created (OpenAPI links)."""
        record = {"id": "$response.body#/id"}
        versioned = {**record, "header.If-Match": "$response.header.ETag"}
        return {
            "GetCreated": {"operationId": self.operation_id("get"), "parameters": record},
            "ReplaceCreated": {
                "operationId": self.operation_id("replace"),
                "parameters": versioned,
            },
            "UpdateCreated": {"operationId": self.operation_id("update"), "parameters": versioned},
            "DeleteCreated": {"operationId": self.operation_id("delete"), "parameters": versioned},
        }

    def if_match(self) -> Schema:
        required = self.view.resource.require_if_match
        return parameter_ref("If-Match.required" if required else "If-Match")

    def writes(self) -> tuple[int, ...]:
        """Statuses every write to an existing record may answer."""
        return (404, 409, 412, *((428,) if self.view.resource.require_if_match else ()))

    def collection(self) -> Schema:
        listing = self.operation(
            "list",
            f"List {self.name}",
            {"200": self.record("A page of records.", schema=f"{self.schema}Page")},
            400,
        )
        listing["parameters"] = list_parameters(self.api, self.view)
        created = self.record("Created.", "Location", "ETag", "Idempotent-Replayed")
        created["links"] = self.links()
        create = self.operation(
            "create", f"Create a {self.name} record", {"201": created}, *_BODY, 409
        )
        create["parameters"] = [parameter_ref("Idempotency-Key")]
        create["requestBody"] = self.body(f"{self.schema}Create", "application/json")
        return {"get": listing, "post": create}

    def batch(self) -> Schema:
        created = self.record("Created, in the order sent.", "Idempotent-Replayed")
        created["content"]["application/json"]["schema"] = ref(f"{self.schema}BatchResult")
        batch = self.operation(
            "batch_create", f"Create several {self.name} records", {"201": created}, *_BODY, 409
        )
        batch["description"] = "All records are created in one transaction, or none is."
        batch["parameters"] = [parameter_ref("Idempotency-Key")]
        batch["requestBody"] = self.body(f"{self.schema}Batch", "application/json")
        return {"post": batch}

    def aggregate(self) -> Schema:
        answer = {
            "description": "One row per group.",
            "headers": self.headers(),
            "content": {"application/json": {"schema": aggregate_schema(self.view)}},
        }
        operation = self.operation("aggregate", f"Aggregate {self.name}", {"200": answer}, 400)
        operation["parameters"] = aggregate_parameters(self.api, self.view)
        return {"get": operation}

    def item(self) -> Schema:
        not_modified = {
            "description": "Not modified: the record is still at the version `If-None-Match` "
            "names (never with `expand`, whose records change on their own).",
            "headers": self.headers("ETag"),
        }
        found = self.record("The record.", "ETag", schema=f"{self.schema}Selected")
        if self.view.resource.events:  # ``as_of`` reads answer without an ETag
            found["headers"]["ETag"] = ETAG_UNLESS_AS_OF
            found["headers"]["Erased-Fields"] = ERASED_FIELDS_HEADER_SCHEMA
        read = self.operation(
            "get", f"Get a {self.name} record", {"200": found, "304": not_modified}, 400, 404
        )
        read["parameters"] = [
            fields_parameter(self.view),
            *expand_parameter(self.view),
            parameter_ref("If-None-Match"),
            *([AS_OF_PARAMETER] if self.view.resource.events else []),
        ]
        replace = self.operation(
            "replace",
            f"Replace a {self.name} record",
            {"200": self.record("Replaced.", "ETag")},
            *_BODY,
            *self.writes(),
        )
        replace["parameters"] = [self.if_match()]
        replace["requestBody"] = self.body(f"{self.schema}Create", "application/json")
        patch = self.operation(
            "update",
            f"Change a {self.name} record (JSON merge patch)",
            {"200": self.record("Changed.", "ETag")},
            *_BODY,
            *self.writes(),
        )
        patch["parameters"] = [self.if_match()]
        patch["requestBody"] = self.body(
            f"{self.schema}Patch", "application/merge-patch+json", "application/json"
        )
        delete = self.operation(
            "delete",
            f"Delete a {self.name} record",
            {"204": {"description": "Deleted.", "headers": self.headers()}},
            *self.writes(),
        )
        delete["parameters"] = [self.if_match()]
        return {
            "parameters": [parameter_ref("id")],
            "get": read,
            "put": replace,
            "patch": patch,
            "delete": delete,
        }

    def history(self) -> Schema:
        page = self.record("A page of the record's changes, oldest first.", schema="HistoryPage")
        summary = f"The history of a {self.name} record"
        read = self.operation("history", summary, {"200": page}, 400, 404)
        about = (
            "Every change of the record from its event log, with the same access rules as "
            "reading it (fields you may not read are left out); a deleted record's history "
            "stays readable. Answered with `Cache-Control: no-store`."
        )
        flagged = read.get("description")
        read["description"] = f"{about} {flagged}" if flagged else about
        read["parameters"] = [HISTORY_LIMIT_PARAMETER, parameter_ref("cursor")]
        return {"parameters": [parameter_ref("id")], "get": read}


def resource_paths(api: ApiView, view: ResourceView) -> dict[str, Schema]:
    """Every path of ``view`` in ``api``, with its operations."""
    operations = _Operations(api, view)
    base = f"{api.prefix}/{view.name}"
    paths = {
        base: operations.collection(),
        f"{base}:batch": operations.batch(),
        f"{base}:aggregate": operations.aggregate(),
        f"{base}/{{id}}": operations.item(),
    }
    if view.resource.events:
        paths[f"{base}/{{id}}/history"] = operations.history()
    return paths
