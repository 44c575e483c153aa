"""``/v1/auth/api-keys``: the caller's own API keys.

``POST`` creates one and answers the key, once (``Cache-Control: no-store``);
``GET`` lists them (never the key nor its digest); ``DELETE /{id}`` revokes one.
"""

from __future__ import annotations

from pydantic import AwareDatetime, Field, StrictInt, StrictStr
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bastion.api.rest.auth.bodies import Body, path_id, read_body
from bastion.api.rest.http import json_response, request_context
from bastion.core.identity.api_keys import ApiKeyService
from bastion.core.identity.container import Identity

__all__ = ["NO_STORE", "ApiKeyCreate", "api_key_routes", "api_keys_of"]

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
"""Headers of a response that shows a secret: no cache may keep it."""

_MAX_EXPIRES_IN = 100 * 365 * 86_400
"""The longest ``expires_in``, a hundred years: far larger ones overflow the expiry date-time."""


class ApiKeyCreate(Body):
    """``POST /v1/auth/api-keys``."""

    name: StrictStr = Field(min_length=1, max_length=200)
    scopes: list[StrictStr] | None = None
    expires_in: StrictInt | None = Field(default=None, ge=1, le=_MAX_EXPIRES_IN)
    expires_at: AwareDatetime | None = None


def api_keys_of(identity: Identity) -> ApiKeyService:
    """The identity's API key service (built, and kept, on first use)."""
    if identity.api_keys is None:
        identity.api_keys = ApiKeyService(identity.service)
    return identity.api_keys


def api_key_routes(identity: Identity, *, prefix: str = "/v1") -> list[BaseRoute]:
    """The routes managing the caller's API keys, under ``{prefix}/auth/api-keys``."""
    api_keys = api_keys_of(identity)

    async def create(request: Request) -> Response:
        body = await read_body(request, ApiKeyCreate)
        created = await api_keys.create(
            request_context(request),
            name=body.name,
            scopes=body.scopes,
            expires_at=body.expires_at,
            expires_in=body.expires_in,
        )
        return json_response(created.as_json(), 201, NO_STORE)

    async def listing(request: Request) -> Response:
        return json_response({"data": await api_keys.list(request_context(request))})

    async def revoke(request: Request) -> Response:
        await api_keys.revoke(request_context(request), path_id(request, "API key"))
        return Response(status_code=204)

    return [
        Route(f"{prefix}/auth/api-keys", create, methods=["POST"]),
        Route(f"{prefix}/auth/api-keys", listing, methods=["GET"]),
        Route(f"{prefix}/auth/api-keys/{{id}}", revoke, methods=["DELETE"]),
    ]
