"""Building blocks of the identity endpoints' operations in the document.

Shared by :mod:`.auth_paths` (sign-in, account, MFA, recovery, API keys) and
:mod:`.admin_paths` (the admin API): who may call an operation, its responses
and its parameters, each stated the same way everywhere.
"""

from __future__ import annotations

from bastion.api.rest.openapi.auth_schemas import UUID_SCHEMA
from bastion.api.rest.openapi.fields import Schema
from bastion.api.rest.openapi.responses import header_ref, problem_ref
from bastion.api.rest.openapi.schemas import ref

__all__ = [
    "ACCESS_TOKEN",
    "ADMIN_ONLY",
    "ANY_CREDENTIAL",
    "FORM",
    "ID_PARAMETER",
    "JSON_MEDIA",
    "MFA_ENROLMENT",
    "NO_STORE",
    "PUBLIC",
    "TOKEN_ONLY",
    "WRITE",
    "empty_response",
    "json_response",
    "operation",
    "query_parameter",
    "request_body",
]

ANY_CREDENTIAL: list[Schema] = [{"bearerAuth": []}, {"apiKey": []}, {"oauth2": []}]
"""Security of an operation any credential may call (token, API key, external token)."""
ACCESS_TOKEN: list[Schema] = [{"bearerAuth": []}, {"oauth2": []}]
"""Security of an operation only Bastion's own access tokens may call."""
MFA_ENROLMENT: list[Schema] = [*ACCESS_TOKEN, {}]
"""An access token, or none (the body then carries an ``mfa_token``)."""
PUBLIC: list[Schema] = [{}]
"""Security of an operation anyone may call."""
ALWAYS = (401, 500, 503)
"""Statuses every operation may answer."""
FORM = "application/x-www-form-urlencoded"
"""The media type of the token endpoint's bodies (RFC 6749)."""
JSON_MEDIA = "application/json"
"""The media type of every other body."""
WRITE = (400, 413, 415, 422)
"""What reading a JSON body may answer: malformed, too large, not JSON, not as the model says."""
NO_STORE: Schema = {
    "Cache-Control": {"schema": {"type": "string"}, "description": "`no-store`: it holds secrets."}
}
TOKEN_ONLY = (
    "Needs one of Bastion's access tokens: API keys and external providers' tokens are refused."
)
ADMIN_ONLY = (
    "Needs the `admin` role, with a credential not narrowed by scopes: anonymous callers get "
    "401, everyone else 403."
)


def json_response(
    schema: str, description: str, *, headers: Schema | None = None, media: str = JSON_MEDIA
) -> Schema:
    """A response whose body is the component schema ``schema``."""
    return {
        "description": description,
        "headers": {"X-Request-ID": header_ref("X-Request-ID"), **(headers or {})},
        "content": {media: {"schema": ref(schema)}},
    }


def empty_response(description: str) -> Schema:
    """A response without a body."""
    return {"description": description, "headers": {"X-Request-ID": header_ref("X-Request-ID")}}


def operation(
    tag: str,
    operation_id: str,
    summary: str,
    responses: Schema,
    *statuses: int,
    body: Schema | None = None,
    security: list[Schema] = ANY_CREDENTIAL,
    parameters: list[Schema] | None = None,
    description: str | None = None,
) -> Schema:
    """One operation: ``responses`` plus a problem response for each of ``statuses``
    and :data:`ALWAYS`, and who may call it (``security``)."""
    for status in sorted({*statuses, *ALWAYS}):
        responses.setdefault(str(status), problem_ref(status))
    built: Schema = {"tags": [tag], "operationId": operation_id, "summary": summary}
    if description:
        built["description"] = description
    if parameters:
        built["parameters"] = parameters
    if body is not None:
        built["requestBody"] = body
    built["responses"] = dict(sorted(responses.items()))
    built["security"] = security
    return built


def request_body(schema: str, *media_types: str, required: bool = True) -> Schema:
    """A request body of the component schema ``schema`` (JSON unless other types are named)."""
    types = media_types or (JSON_MEDIA,)
    return {"required": required, "content": {t: {"schema": ref(schema)} for t in types}}


def query_parameter(name: str, schema: Schema, description: str) -> Schema:
    """An optional query-string parameter."""
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


ID_PARAMETER = {"name": "id", "in": "path", "required": True, "schema": UUID_SCHEMA}
"""The ``{id}`` path parameter."""
