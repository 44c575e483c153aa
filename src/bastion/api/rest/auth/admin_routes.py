"""``/v1/admin/*``: what admins do to accounts (see :mod:`bastion.core.identity.admin`).

Every route needs the ``admin`` role: anonymous callers get 401, others 403.
Users and tenants are listed, read and deleted through the generic
``/v1/users`` and ``/v1/tenants`` routes.
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import Field, StrictBool, StrictStr
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bastion.api.rest.auth.api_key_routes import NO_STORE, ApiKeyCreate, api_keys_of
from bastion.api.rest.auth.bodies import Body, path_id, query_id, read_body
from bastion.api.rest.http import json_response, request_context
from bastion.core import FieldError, InvalidQuery
from bastion.core.identity.admin import KEEP, AdminService, require_admin
from bastion.core.identity.container import Identity

__all__ = ["admin_of", "admin_routes"]


class UserCreateBody(Body):
    email: StrictStr
    password: StrictStr | None = None
    name: StrictStr | None = None
    roles: list[StrictStr] = Field(default_factory=list)
    tenant: UUID | None = None
    email_verified: StrictBool = False


class UserUpdateBody(Body):
    roles: list[StrictStr] | None = None
    status: Literal["active", "disabled"] | None = None
    tenant: UUID | None = None


class ServiceAccountCreateBody(Body):
    name: StrictStr = Field(min_length=1, max_length=200)
    roles: list[StrictStr] = Field(default_factory=list)
    tenant: UUID | None = None


class InvitationCreateBody(Body):
    email: StrictStr
    roles: list[StrictStr] = Field(default_factory=list)
    tenant: UUID | None = None


class AdminApiKeyCreateBody(ApiKeyCreate):
    user: UUID


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit", "50")
    if not (raw.isascii() and raw.isdigit()):  # "²".isdigit(), but int("²") fails
        raise InvalidQuery(
            "limit must be a whole number", errors=(FieldError("limit", f"{raw!r} is no number"),)
        )
    return int(raw)


def admin_of(identity: Identity) -> AdminService:
    """The identity's admin service (built, and kept, on first use)."""
    if identity.admin is None:
        identity.admin = AdminService.configured(
            identity.service,
            identity.config,
            hasher=identity.hasher,
            mailer=identity.mailer,
            signer=identity.signer,
        )
    return identity.admin


def admin_routes(identity: Identity, *, prefix: str = "/v1") -> list[BaseRoute]:
    """The routes under ``{prefix}/admin``."""
    admin = admin_of(identity)
    api_keys = api_keys_of(identity)

    async def create_user(request: Request) -> Response:
        ctx = request_context(request)
        require_admin(ctx)  # before reading the body: a stranger learns nothing from errors
        body = await read_body(request, UserCreateBody)
        row = await admin.create_user(ctx, **body.model_dump())
        return json_response(row, 201)

    async def update_user(request: Request) -> Response:
        ctx = request_context(request)
        require_admin(ctx)
        user_id = path_id(request, "user")
        body = await read_body(request, UserUpdateBody, merge_patch=True)
        tenant = body.tenant if "tenant" in body.model_fields_set else KEEP
        row = await admin.update_user(
            ctx, user_id, roles=body.roles, status=body.status, tenant=tenant
        )
        return json_response(row)

    async def create_service_account(request: Request) -> Response:
        ctx = request_context(request)
        require_admin(ctx)
        body = await read_body(request, ServiceAccountCreateBody)
        created = await admin.create_service_account(ctx, **body.model_dump())
        return json_response(created.as_json(), 201, NO_STORE)

    async def create_invitation(request: Request) -> Response:
        ctx = request_context(request)
        require_admin(ctx)
        body = await read_body(request, InvitationCreateBody)
        created = await admin.create_invitation(ctx, **body.model_dump())
        return json_response(created.record, 201)

    async def list_api_keys(request: Request) -> Response:
        ctx = request_context(request)
        require_admin(ctx)
        user = query_id(request, "user")
        rows = await api_keys.list(ctx, user=user, everyone=user is None)
        return json_response({"data": rows})

    async def create_api_key(request: Request) -> Response:
        ctx = request_context(request)
        require_admin(ctx)
        body = await read_body(request, AdminApiKeyCreateBody)
        created = await api_keys.create(
            ctx,
            name=body.name,
            scopes=body.scopes,
            expires_at=body.expires_at,
            expires_in=body.expires_in,
            user=body.user,
        )
        return json_response(created.as_json(), 201, NO_STORE)

    async def revoke_api_key(request: Request) -> Response:
        ctx = request_context(request)
        require_admin(ctx)
        await api_keys.revoke(ctx, path_id(request, "API key"))
        return Response(status_code=204)

    async def audit(request: Request) -> Response:
        ctx = request_context(request)
        require_admin(ctx)
        page = await admin.auth_events(
            ctx,
            user=query_id(request, "user"),
            kind=request.query_params.get("kind") or None,
            limit=_limit(request),
            before=query_id(request, "before"),
        )
        return json_response(page.as_json())

    async def rotate(request: Request) -> Response:
        kid = await admin.rotate_signing_keys(request_context(request))
        return json_response({"kid": kid})

    return [
        Route(f"{prefix}/admin/users", create_user, methods=["POST"]),
        Route(f"{prefix}/admin/users/{{id}}", update_user, methods=["PATCH"]),
        Route(f"{prefix}/admin/service-accounts", create_service_account, methods=["POST"]),
        Route(f"{prefix}/admin/invitations", create_invitation, methods=["POST"]),
        Route(f"{prefix}/admin/api-keys", list_api_keys, methods=["GET"]),
        Route(f"{prefix}/admin/api-keys", create_api_key, methods=["POST"]),
        Route(f"{prefix}/admin/api-keys/{{id}}", revoke_api_key, methods=["DELETE"]),
        Route(f"{prefix}/admin/audit", audit, methods=["GET"]),
        Route(f"{prefix}/admin/signing-keys:rotate", rotate, methods=["POST"]),
    ]
