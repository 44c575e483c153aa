"""Who sent a request: bearer credentials (access tokens, API keys, external tokens)
turned into a :class:`~bastion.core.context.RequestContext`."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from bastion.blueprint.identity import API_KEYS
from bastion.core.context import ANONYMOUS, RequestContext
from bastion.core.errors import Conflict, NotAuthenticated
from bastion.core.identity.config import IdentityConfig
from bastion.core.identity.opaque import API_KEY_PREFIX, looks_like_api_key, token_digest
from bastion.core.identity.store import IdentityRecords
from bastion.core.ports import ExternalVerifier, Row, TokenRejected, TokenSigner
from bastion.core.records import RecordService

__all__ = ["Authenticator", "issued_at"]

log = logging.getLogger("bastion.auth")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ALL_SCOPES = "*"


def _rejected(detail: str = "the access token is invalid, expired or revoked") -> NotAuthenticated:
    return NotAuthenticated(detail, reason="invalid_token")


def issued_at(claims: dict[str, Any]) -> datetime:
    """When a token was issued: ``iat_us`` (microseconds) if it has it, else ``iat``."""
    micros = claims.get("iat_us")
    if isinstance(micros, int) and not isinstance(micros, bool):
        return _EPOCH + timedelta(microseconds=micros)
    return datetime.fromtimestamp(float(claims["iat"]), UTC)


def _scopes(value: Any) -> frozenset[str] | None:
    if isinstance(value, str):
        words = frozenset(value.split())
    elif isinstance(value, list):
        words = frozenset(str(item) for item in value)
    else:
        return None
    return None if not words or _ALL_SCOPES in words else words


def _checked(claims: dict[str, Any]) -> dict[str, Any]:
    roles = claims.get("roles", [])
    tenant = claims.get("tenant")
    scope = claims.get("scope")
    if (
        not isinstance(claims.get("sub"), str)
        or not isinstance(roles, list)
        or not all(isinstance(role, str) for role in roles)
        or not (tenant is None or isinstance(tenant, str))
        or not (scope is None or isinstance(scope, str))
        or not isinstance(claims.get("jti"), str)
    ):
        raise _rejected()
    return claims


class Authenticator:
    """Checks bearer credentials; :class:`~bastion.core.identity.tokens.TokenService` uses it.

    Args:
        service: the record service of a blueprint served with identity.
        signer: verifies Bastion's access tokens.
        config: the API key ``last_used_at`` interval.
        external: verifies an external provider's tokens, if one is trusted.
    """

    def __init__(
        self,
        service: RecordService,
        signer: TokenSigner,
        config: IdentityConfig,
        *,
        external: ExternalVerifier | None = None,
    ) -> None:
        self._service = service
        self._signer = signer
        self._config = config
        self._external = external

    async def authenticate(
        self, authorization: str, *, client_ip: str | None, request_id: str | None
    ) -> RequestContext:
        """The caller an ``Authorization`` header value names (see ``TokenService``)."""
        scheme, _, credential = authorization.strip().partition(" ")
        token = credential.strip()
        if scheme.lower() != "bearer" or not token or " " in token:
            raise NotAuthenticated(
                "send credentials as 'Authorization: Bearer <token>'", reason="invalid_request"
            )
        if token.startswith(API_KEY_PREFIX):
            ctx = await self._api_key(token)
        elif self._external is not None and self._external.matches(token):
            ctx = await self._external_token(self._external, token)
        else:
            claims = await self.access_token_claims(token)
            ctx = RequestContext(
                actor=claims["sub"],
                roles=frozenset(claims.get("roles", [])),
                tenant=claims.get("tenant"),
                scopes=_scopes(claims.get("scope")),
                credential="token",
                actor_kind=claims.get("kind"),
            )
        return RequestContext(
            actor=ctx.actor,
            roles=ctx.roles,
            tenant=ctx.tenant,
            scopes=ctx.scopes,
            credential=ctx.credential,
            actor_kind=ctx.actor_kind,
            client_ip=client_ip,
            request_id=request_id,
        )

    async def access_token_claims(self, token: str) -> dict[str, Any]:
        """The claims of one of Bastion's access tokens, once checked and not revoked.

        One query reads both the token's own revocation and its user's cut-off.
        """
        try:
            claims = _checked(await self._signer.verify(token))
        except TokenRejected as exc:
            log.info("access token rejected: %s", exc.reason)
            raise _rejected() from None
        sub, jti = claims["sub"], claims["jti"]
        async with self._service.store.unit_of_work(read_only=True) as uow:
            rows = await IdentityRecords(self._service, uow, ANONYMOUS).revocations(
                [jti, f"user:{sub}"]
            )
        issued = issued_at(claims)
        for row in rows:
            if row["jti"] == jti:
                raise _rejected()
            cut_off = row.get("issued_before")
            if cut_off is not None and cut_off > issued:
                raise _rejected()
        return claims

    async def _api_key(self, key: str) -> RequestContext:
        if not looks_like_api_key(key):
            raise _rejected("the API key is invalid, expired or revoked")
        async with self._service.store.unit_of_work(read_only=True) as uow:
            records = IdentityRecords(self._service, uow, ANONYMOUS)
            row = await records.find_one(API_KEYS, key_hash=token_digest(key))
            user = None if row is None else await records.user(row["user"])
        now = self._service.clock()
        if (
            row is None
            or user is None
            or row["revoked_at"] is not None
            or (row["expires_at"] is not None and row["expires_at"] <= now)
            or user["status"] != "active"
        ):
            raise _rejected("the API key is invalid, expired or revoked")
        roles = frozenset(str(role) for role in user.get("roles") or [])
        mfa_roles = self._service.blueprint.auth.mfa_required_roles
        if not user["mfa_enabled"] and roles.intersection(mfa_roles):
            # The owner now holds a role that needs MFA (promoted after the key was made):
            # the key may not act with it until they enrol, as a sign-in may not.
            raise _rejected("the API key's owner must enrol in MFA first")
        last_used = row["last_used_at"]
        if last_used is None or now - last_used >= self._config.api_key_touch_interval:
            await self._touch(row, now)
        return RequestContext(
            actor=str(user["id"]),
            roles=roles,
            tenant=None if user.get("tenant") is None else str(user["tenant"]),
            scopes=_scopes(row["scopes"]),
            credential="api_key",
            actor_kind=user.get("kind") or "person",
        )

    async def _touch(self, row: Row, now: datetime) -> None:
        try:
            async with self._service.store.unit_of_work() as uow:
                records = IdentityRecords(self._service, uow, ANONYMOUS)
                await records.records.update(API_KEYS, row["id"], {"last_used_at": now})
        except Conflict:
            pass  # another request touched it at the same moment

    async def _external_token(self, external: ExternalVerifier, token: str) -> RequestContext:
        try:
            claims = await external.verify(token)
        except TokenRejected as exc:
            log.info("external token rejected: %s", exc.reason)
            raise _rejected() from None
        return RequestContext(
            actor=claims.subject,
            roles=claims.roles,
            tenant=claims.tenant,
            scopes=claims.scopes or None,
            credential="external",
            actor_kind="person",
        )
