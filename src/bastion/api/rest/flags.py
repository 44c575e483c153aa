"""``/v1/admin/flags``: feature flags, read and changed by admins at runtime.

- ``GET /v1/admin/flags``: every flag (as declared, its override, as in force);
- ``GET /v1/admin/flags/{name}``: one flag;
- ``PUT /v1/admin/flags/{name}``: override it (``default``, ``rules``, ``enabled``);
- ``DELETE /v1/admin/flags/{name}``: remove the override (the blueprint's again);
- ``POST /v1/admin/flags/{name}:evaluate``: its value for a caller
  (``{"user", "roles", "tenant"}``), and why.

Every route needs the ``admin`` role: anonymous callers get 401, others 403,
before the body is read. See :mod:`bastion.core.flags.admin`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bastion.api.rest.auth.bodies import MAX_AUTH_BODY_BYTES
from bastion.api.rest.encoding import read_json_body
from bastion.api.rest.http import json_response, request_context
from bastion.core.flags.admin import FlagAdmin
from bastion.core.identity.admin_parts import require_admin

__all__ = ["flag_routes"]


def flag_routes(admin: FlagAdmin, *, prefix: str = "/v1") -> list[BaseRoute]:
    """The routes under ``{prefix}/admin/flags``."""

    async def list_flags(request: Request) -> Response:
        return json_response({"data": admin.flags(request_context(request))})

    async def one_flag(request: Request) -> Response:
        if request.method == "PUT":
            return await put_flag(request)
        if request.method == "DELETE":
            return await delete_flag(request)
        return json_response(admin.flag(request_context(request), request.path_params["name"]))

    async def put_flag(request: Request) -> Response:
        ctx = request_context(request)
        require_admin(ctx)  # before reading the body: a stranger learns nothing from errors
        admin.flag(ctx, request.path_params["name"])  # 404 before the body, too
        body = await read_json_body(request, max_bytes=MAX_AUTH_BODY_BYTES)
        return json_response(await admin.set_override(ctx, request.path_params["name"], body))

    async def delete_flag(request: Request) -> Response:
        await admin.reset(request_context(request), request.path_params["name"])
        return Response(status_code=204)

    async def evaluate_flag(request: Request) -> Response:
        ctx = request_context(request)
        require_admin(ctx)
        admin.flag(ctx, request.path_params["name"])
        body = await read_json_body(request, max_bytes=MAX_AUTH_BODY_BYTES)
        return json_response(admin.evaluate(ctx, request.path_params["name"], body))

    base = f"{prefix}/admin/flags"
    return [
        Route(base, list_flags, methods=["GET"]),
        Route(f"{base}/{{name}}:evaluate", evaluate_flag, methods=["POST"]),
        Route(f"{base}/{{name}}", one_flag, methods=["GET", "PUT", "DELETE"]),
    ]
