"""``GET /openapi.json`` and the interactive docs at ``GET /docs``, served from local files.

The document is encoded once, when the routes are built; each request only
compares its ``If-None-Match`` with the ETag. The docs page is Swagger UI
from the ``swagger-ui-bundle-v2`` package, served at ``/docs/static/``: no
CDN, so the docs work on a machine without internet access. The page loads
no inline script (a ``script-src 'self'`` policy can stay strict).

Mounted under a prefix (``/backend``), the document names that prefix as its
server so that "Try it out" reaches the mounted API.
"""

from __future__ import annotations

import hashlib
from html import escape
from pathlib import Path
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

__all__ = ["SWAGGER_UI_DIRECTORY", "openapi_routes"]

SWAGGER_UI_DIRECTORY = Path(str(swagger_ui_path))
"""The Swagger UI files this package ships."""

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — API docs</title>
<link rel="stylesheet" href="{root}/docs/static/swagger-ui.css">
<link rel="icon" type="image/png" href="{root}/docs/static/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{root}/openapi.json"></div>
<script src="{root}/docs/static/swagger-ui-bundle.js"></script>
<script src="{root}/docs/swagger-init.js"></script>
</body>
</html>
"""

_INIT_SCRIPT = b"""window.addEventListener("load", function () {
  var node = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: node.dataset.openapiUrl,
    domNode: node,
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
"""


class _EncodedDocument:
    """The document's bytes and ETag, per mount prefix (encoded on first use)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self._document = document
        self._encoded: dict[str, tuple[bytes, str]] = {}

    def for_root(self, root: str) -> tuple[bytes, str]:
        encoded = self._encoded.get(root)
        if encoded is None:
            document = self._document
            if root:
                document = {**document, "servers": [{"url": root}]}
            body = orjson.dumps(document)
            encoded = body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            self._encoded[root] = encoded
        return encoded


def _matches(if_none_match: str | None, tag: str) -> bool:
    if if_none_match is None:
        return False
    tags = (t.strip().removeprefix("W/") for t in if_none_match.split(","))
    return if_none_match.strip() == "*" or tag in tags


def _version_document(document: dict[str, Any], version: str) -> dict[str, Any]:
    prefix = f"/{version}/"
    paths = {path: item for path, item in document["paths"].items() if path.startswith(prefix)}
    info = {**document["info"], "title": f"{document['info']['title']} ({version})"}
    return {**document, "info": info, "paths": paths}


def _document_endpoint(encoded: _EncodedDocument) -> Any:
    async def openapi_json(request: Request) -> Response:
        body, tag = encoded.for_root(request.scope.get("root_path", ""))
        headers = {"ETag": tag, "Cache-Control": "no-cache"}
        if _matches(request.headers.get("if-none-match"), tag):
            return Response(status_code=304, headers=headers)
        return Response(body, headers=headers, media_type="application/json")

    return openapi_json


def openapi_routes(
    document: dict[str, Any], *, title: str = "Bastion", versions: tuple[str, ...] = ()
) -> list[BaseRoute]:
    """The routes serving ``document`` at ``/openapi.json`` and its docs at ``/docs``.

    Each API version in ``versions`` also gets a document of its own paths at
    ``/<version>/openapi.json``.
    """
    encoded = _EncodedDocument(document)
    encoded.for_root("")  # the common case is ready before the first request
    openapi_json = _document_endpoint(encoded)
    per_version = [
        Route(
            f"/{version}/openapi.json",
            _document_endpoint(_EncodedDocument(_version_document(document, version))),
            methods=["GET", "HEAD"],
        )
        for version in versions
    ]

    async def docs_page(request: Request) -> Response:
        root = escape(request.scope.get("root_path", ""), quote=True)
        page = _PAGE.format(title=escape(title), root=root)
        return Response(page, media_type="text/html")

    async def docs_redirect(request: Request) -> Response:
        return RedirectResponse(f"{request.scope.get('root_path', '')}/docs", status_code=308)

    async def init_script(request: Request) -> Response:
        return Response(_INIT_SCRIPT, media_type="text/javascript")

    return [
        *per_version,
        Route("/openapi.json", openapi_json, methods=["GET", "HEAD"]),
        Route("/docs", docs_page, methods=["GET", "HEAD"]),
        Route("/docs/", docs_redirect, methods=["GET", "HEAD"]),
        Route("/docs/swagger-init.js", init_script, methods=["GET", "HEAD"]),
        Mount("/docs/static", StaticFiles(directory=SWAGGER_UI_DIRECTORY), name="docs-static"),
    ]
