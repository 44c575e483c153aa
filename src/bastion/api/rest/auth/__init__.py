"""The identity endpoints (``/v1/auth/*``, ``/v1/admin/*``, the JWKS) and the
middleware that authenticates every request."""

from __future__ import annotations

from starlette.routing import BaseRoute

from bastion.api.rest.auth.account_routes import account_routes
from bastion.api.rest.auth.admin_routes import admin_routes
from bastion.api.rest.auth.api_key_routes import api_key_routes
from bastion.api.rest.auth.jwks import jwks_routes
from bastion.api.rest.auth.mfa_routes import mfa_routes
from bastion.api.rest.auth.middleware import AuthenticationMiddleware
from bastion.api.rest.auth.recovery_routes import recovery_routes
from bastion.api.rest.auth.token_endpoint import token_routes
from bastion.core.identity.container import Identity

__all__ = ["AuthenticationMiddleware", "auth_routes"]


def auth_routes(identity: Identity) -> list[BaseRoute]:
    """Every identity route; each module contributes its own list."""
    return [
        *token_routes(identity),
        *account_routes(identity),
        *jwks_routes(identity),
        *mfa_routes(identity),
        *recovery_routes(identity),
        *api_key_routes(identity),
        *admin_routes(identity),
    ]
