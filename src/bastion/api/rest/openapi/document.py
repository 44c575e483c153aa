"""The whole OpenAPI 3.1 document of a blueprint: info, paths, components, security schemes."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from bastion.api.rest.openapi.fields import Schema
from bastion.api.rest.openapi.history import history_schemas
from bastion.api.rest.openapi.parameters import parameter_components
from bastion.api.rest.openapi.paths import resource_paths
from bastion.api.rest.openapi.responses import (
    header_components,
    problem_responses,
    problem_schemas,
)
from bastion.api.rest.openapi.schemas import DocumentLimits, resource_schemas
from bastion.api.rest.openapi.security import add_security
from bastion.api.rest.openapi.views import api_views
from bastion.blueprint import Blueprint

__all__ = ["OPENAPI_VERSION", "build_openapi"]

OPENAPI_VERSION = "3.1.0"


def _package_version() -> str:
    # From the installed distribution: importing ``bastion`` itself would reach ``bastion.app``.
    try:
        return version("bastion")
    except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        return "0.0.0"


_CONVENTIONS = """

Conventions: ids are UUIDv7; date-times are RFC 3339 in UTC with `Z`; decimals \
are JSON strings. Lists are pages of `{"data": [...], "next_cursor", "has_more"}`: \
pass `next_cursor` back as `cursor` for the next one. Reads answer an `ETag`; send it \
back in `If-Match` to change the record only if nobody else did. Every error is an \
`application/problem+json` document (RFC 9457) with a stable `code`."""


def build_openapi(blueprint: Blueprint, *, limits: DocumentLimits | None = None) -> Schema:
    """The OpenAPI 3.1 document of every endpoint generated from ``blueprint``.

    Args:
        blueprint: a validated blueprint, with the identity resources a server adds
            (``with_identity(blueprint)``) when it refers to ``users`` or ``tenants``.
        limits: server limits to state in the document (defaults: none stated).

    Returns:
        A new JSON-ready dictionary.

    Example:
        >>> from bastion.blueprint import Blueprint, Resource, StringField
        >>> notes = Resource(fields={"title": StringField()})
        >>> document = build_openapi(Blueprint(name="notes", resources={"notes": notes}))
        >>> sorted(document["paths"])  # doctest: +NORMALIZE_WHITESPACE
        ['/v1/notes', '/v1/notes/{id}', '/v1/notes/{id}/history', '/v1/notes:aggregate',
         '/v1/notes:batch']
    """
    limits = limits or DocumentLimits()
    paths: dict[str, Schema] = {}
    schemas: dict[str, Schema] = {**problem_schemas(), **history_schemas()}
    for api in api_views(blueprint):
        for view in api.resources.values():
            paths.update(resource_paths(api, view))
            schemas.update(resource_schemas(api, view, limits))
    tags = [
        {"name": name, **({"description": r.description} if r.description else {})}
        for name, r in blueprint.served_resources().items()
    ]
    document: Schema = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": blueprint.name,
            "version": _package_version(),
            "description": (blueprint.description or f"The {blueprint.name} API.") + _CONVENTIONS,
        },
        "servers": [{"url": "/"}],
        "tags": tags,
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": problem_responses(),
            "parameters": parameter_components(),
            "headers": header_components(),
        },
    }
    return add_security(document, blueprint)
