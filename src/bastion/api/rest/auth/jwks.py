"""``GET /.well-known/jwks.json``: the public keys that verify Bastion's access tokens."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bastion.api.rest.http import json_response
from bastion.core.identity.container import Identity

__all__ = ["jwks_routes"]


def jwks_routes(identity: Identity) -> list[BaseRoute]:
    """The JSON Web Key Set, cacheable for five minutes (keys rotate slower than that)."""

    async def jwks(request: Request) -> Response:
        return json_response(
            await identity.signer.jwks(), headers={"Cache-Control": "public, max-age=300"}
        )

    return [Route("/.well-known/jwks.json", jwks, methods=["GET"])]
