"""Access and refresh tokens: issuing a pair, rotating, revoking, signing out.

An access token is a short-lived JWT from the :class:`~bastion.core.ports.TokenSigner`;
a refresh token is an opaque secret stored as its digest in
``bastion_refresh_tokens``. A sign-in starts a *family*; every refresh marks
the token used and issues the next one of the same family, which expires
with the family (rotation never extends a sign-in). A used or revoked refresh
token presented again means it was stolen (or replayed): the whole family is
revoked and a ``refresh_reuse`` event recorded.

Access tokens are revoked by ``jti`` rows in ``bastion_revocations``; a
``user:<id>`` row cuts off every token of the user issued before its
``issued_before`` (sign out everywhere, password change, disabling). Tokens
carry ``iat_us``, their issue time in microseconds, so that a cut-off and a
token issued within the same second are told apart.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from bastion.blueprint.identity import REFRESH_TOKENS, REVOCATIONS
from bastion.core.context import RequestContext
from bastion.core.errors import NotAuthenticated, OAuthError
from bastion.core.identity.authentication import Authenticator
from bastion.core.identity.config import IdentityConfig
from bastion.core.identity.opaque import new_opaque_token, token_digest
from bastion.core.identity.store import IdentityRecords
from bastion.core.ids import new_id
from bastion.core.ports import ExternalVerifier, Row, TokenRejected, TokenSigner
from bastion.core.query import Filter, QuerySpec
from bastion.core.records import RecordService

__all__ = ["TokenPair", "TokenService", "parse_scope"]

log = logging.getLogger("bastion.auth")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_BATCH = 200


@dataclass(frozen=True, slots=True)
class TokenPair:
    """What the token endpoint answers (RFC 6749 section 5.1)."""

    access_token: str
    expires_in: int
    refresh_token: str | None = None
    scope: str | None = None
    """The granted scopes, space-separated, when narrower than the roles allow."""

    def as_json(self) -> dict[str, Any]:
        """The response body."""
        body: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }
        if self.refresh_token is not None:
            body["refresh_token"] = self.refresh_token
        if self.scope is not None:
            body["scope"] = self.scope
        return body


def parse_scope(scope: str | None) -> frozenset[str] | None:
    """The scopes of a space-separated ``scope`` parameter; ``None`` if absent or empty."""
    if scope is None:
        return None
    words = frozenset(scope.split())
    return words or None


def _stored_scopes(value: Any) -> frozenset[str] | None:
    if isinstance(value, list) and value:
        return frozenset(str(item) for item in value)
    return None


def _bad_refresh() -> OAuthError:
    return OAuthError("invalid_grant", "the refresh token is invalid, expired or revoked")


class TokenService:
    """Issues, rotates and revokes tokens, and authenticates bearer credentials.

    Args:
        service: the record service of a blueprint served with identity.
        signer: signs and verifies access tokens.
        config: lifetimes and policies.
        external: verifies an external OIDC provider's tokens, if one is trusted.
    """

    def __init__(
        self,
        service: RecordService,
        signer: TokenSigner,
        config: IdentityConfig,
        *,
        external: ExternalVerifier | None = None,
    ) -> None:
        self.service = service
        self.signer = signer
        self.config = config
        self.external = external
        self._authenticator = Authenticator(service, signer, config, external=external)
        self._signer_ready = False

    def requested_scopes(self, scope: str | None) -> frozenset[str] | None:
        """The scopes a token request asks for; ``invalid_scope`` for unknown ones.

        ``*`` or ``<resource>:read`` / ``<resource>:write`` for a served resource;
        ``None`` (no ``scope`` parameter) means everything the roles allow.
        """
        wanted = parse_scope(scope)
        if wanted is None:
            return None
        known = {"*"}
        for resource in self.service.blueprint.served_resources():
            known |= {f"{resource}:read", f"{resource}:write"}
        unknown = sorted(wanted - known)
        if unknown:
            raise OAuthError(
                "invalid_scope",
                f"unknown scope {', '.join(unknown)}: ask for '*', or '<resource>:read' / "
                "'<resource>:write' for a served resource",
            )
        return wanted

    async def prepare(self) -> None:
        """Make sure a signing key exists, before any transaction that signs opens.

        The first key is created in a transaction of its own; on SQLite that must
        not happen inside another write transaction, which holds the only write lock.
        """
        if not self._signer_ready:
            await self.signer.ensure_key()
            self._signer_ready = True

    # Issuing ---------------------------------------------------------------

    def claims(
        self, user: Row, *, amr: Sequence[str] | None, scopes: frozenset[str] | None
    ) -> dict[str, Any]:
        """The claims of an access token for ``user`` (the signer adds the registered ones)."""
        roles = user.get("roles") or []
        claims: dict[str, Any] = {
            "sub": str(user["id"]),
            "roles": sorted(str(role) for role in roles),
            "tenant": None if user.get("tenant") is None else str(user["tenant"]),
            "kind": user.get("kind") or "person",
            "iat_us": (self.service.clock() - _EPOCH) // timedelta(microseconds=1),
        }
        if amr:
            claims["amr"] = list(amr)
        if scopes is not None:
            claims["scope"] = " ".join(sorted(scopes))
        return claims

    async def issue(
        self,
        records: IdentityRecords,
        user: Row,
        *,
        amr: Sequence[str] | None,
        scopes: frozenset[str] | None = None,
        refresh: bool = True,
        family: UUID | None = None,
        family_expires_at: datetime | None = None,
    ) -> TokenPair:
        """A new access token for ``user`` and, with ``refresh``, a refresh token.

        The refresh token is stored in ``records``' unit of work; without
        ``family`` it starts a new one (a new sign-in).
        """
        refresh_token: str | None = None
        if refresh:
            refresh_token = new_opaque_token()
            await records.records.create(
                REFRESH_TOKENS,
                {
                    "user": user["id"],
                    "family": family or new_id(),
                    "token_hash": token_digest(refresh_token),
                    "scopes": sorted(scopes) if scopes is not None else [],
                    "expires_at": family_expires_at or records.now + self.config.refresh_ttl,
                },
            )
        access = await self.signer.sign(self.claims(user, amr=amr, scopes=scopes))
        return TokenPair(
            access_token=access,
            expires_in=int(self.config.access_ttl.total_seconds()),
            refresh_token=refresh_token,
            scope=None if scopes is None else " ".join(sorted(scopes)),
        )

    async def refresh(
        self, refresh_token: str, *, scope: str | None, ctx: RequestContext
    ) -> TokenPair:
        """Rotate ``refresh_token``: mark it used and issue the family's next pair.

        Raises:
            OAuthError: ``invalid_grant`` for an unknown, expired, used or revoked
                token, or a user who is gone or disabled; a used or revoked token
                also revokes its whole family (committed before the error).
                ``invalid_scope`` when asking for scopes the sign-in did not grant.
        """
        reused = False
        pair: TokenPair | None = None
        async with self.service.store.unit_of_work() as uow:
            records = IdentityRecords(self.service, uow, ctx)
            found = await records.find_one(REFRESH_TOKENS, token_hash=token_digest(refresh_token))
            row = (
                None
                if found is None
                else await uow.fetch(REFRESH_TOKENS, found["id"], for_update=True)
            )
            if row is None:
                raise _bad_refresh()
            if row["used_at"] is not None or row["revoked_at"] is not None:
                await self._revoke_refresh(records, Filter("family", "eq", row["family"]))
                await records.audit(
                    "refresh_reuse", user=row["user"], detail={"family": str(row["family"])}
                )
                reused = True
            else:
                pair = await self._rotate(records, row, scope)
        if reused or pair is None:
            log.warning("refresh token reuse: family revoked (request %s)", ctx.request_id)
            raise _bad_refresh()
        return pair

    async def _rotate(self, records: IdentityRecords, row: Row, scope: str | None) -> TokenPair:
        if row["expires_at"] <= records.now:
            raise _bad_refresh()
        user = await records.user(row["user"])
        if user is None or user["status"] != "active":
            raise _bad_refresh()
        granted = _stored_scopes(row["scopes"])
        wanted = parse_scope(scope)
        if wanted is not None and granted is not None and not wanted <= granted:
            raise OAuthError("invalid_scope", "a refresh may only narrow the scopes granted")
        await records.records.update(REFRESH_TOKENS, row["id"], {"used_at": records.now})
        # The family started with the MFA sign-in when the user has MFA.
        amr = ["pwd", "otp"] if user.get("mfa_enabled") else ["pwd"]
        return await self.issue(
            records,
            user,
            amr=amr,
            scopes=wanted if wanted is not None else granted,
            family=row["family"],
            family_expires_at=row["expires_at"],
        )

    # Revoking --------------------------------------------------------------

    async def _revoke_refresh(self, records: IdentityRecords, where: Filter) -> int:
        """Revoke the live refresh tokens matching ``where``; how many there were."""
        live = (where, Filter("used_at", "isnull", True), Filter("revoked_at", "isnull", True))
        count = 0
        while True:
            rows = await records.uow.fetch_page(
                REFRESH_TOKENS, QuerySpec(limit=_BATCH, filters=live)
            )
            for row in rows:
                await records.records.update(REFRESH_TOKENS, row["id"], {"revoked_at": records.now})
            count += len(rows)
            if len(rows) <= _BATCH:
                return count

    async def end_sessions(self, records: IdentityRecords, user_id: UUID) -> None:
        """Revoke every refresh token of the user and cut off their access tokens.

        For sign out everywhere, password changes and resets, disabling and deletion.
        """
        await self._revoke_refresh(records, Filter("user", "eq", user_id))
        await records.cut_off_sessions(user_id, until=records.now + self.config.access_ttl)

    async def _revoke_access(self, records: IdentityRecords, claims: dict[str, Any]) -> None:
        jti = claims.get("jti")
        if not isinstance(jti, str) or await records.find_one(REVOCATIONS, jti=jti):
            return
        expires = datetime.fromtimestamp(float(claims["exp"]), UTC)
        await records.records.create(REVOCATIONS, {"jti": jti, "expires_at": expires})

    async def _claims_or_none(self, token: str) -> dict[str, Any] | None:
        if token.count(".") != 2:
            return None
        try:
            return await self.signer.verify(token)
        except TokenRejected:
            return None

    async def revoke(self, token: str, *, ctx: RequestContext) -> None:
        """Revoke an access or refresh token (RFC 7009): unknown tokens are ignored.

        A refresh token takes its whole family with it.
        """
        claims = await self._claims_or_none(token)
        async with self.service.store.unit_of_work() as uow:
            records = IdentityRecords(self.service, uow, ctx)
            if claims is not None:
                await self._revoke_access(records, claims)
                return
            row = await records.find_one(REFRESH_TOKENS, token_hash=token_digest(token))
            if row is None:
                return
            if await self._revoke_refresh(records, Filter("family", "eq", row["family"])):
                await records.audit("logout", user=row["user"], detail={"via": "revoke"})

    async def logout(
        self, ctx: RequestContext, *, access_token: str | None, refresh_token: str | None
    ) -> None:
        """Sign the caller out of this session: its access token and refresh family."""
        user_id = _signed_in(ctx)
        claims = None if access_token is None else await self._claims_or_none(access_token)
        async with self.service.store.unit_of_work() as uow:
            records = IdentityRecords(self.service, uow, ctx)
            if claims is not None and claims.get("sub") == str(user_id):
                await self._revoke_access(records, claims)
            if refresh_token:
                row = await records.find_one(REFRESH_TOKENS, token_hash=token_digest(refresh_token))
                if row is not None and row["user"] == user_id:
                    await self._revoke_refresh(records, Filter("family", "eq", row["family"]))
            await records.audit("logout", user=user_id)

    async def logout_all(self, ctx: RequestContext) -> None:
        """Sign the caller out everywhere: every refresh token, every access token so far."""
        user_id = _signed_in(ctx)
        async with self.service.store.unit_of_work() as uow:
            records = IdentityRecords(self.service, uow, ctx)
            await self.end_sessions(records, user_id)
            await records.audit("logout_all", user=user_id)

    # Authenticating -------------------------------------------------------

    async def authenticate(
        self, authorization: str, *, client_ip: str | None, request_id: str | None
    ) -> RequestContext:
        """The caller an ``Authorization`` header value names.

        ``Bearer bst_...`` is an API key; a token from the external provider is
        verified by it; anything else must be one of Bastion's access tokens.

        Raises:
            NotAuthenticated: The credential is malformed, invalid, expired or revoked.
        """
        return await self._authenticator.authenticate(
            authorization, client_ip=client_ip, request_id=request_id
        )

    async def verify_access_token(self, token: str) -> dict[str, Any]:
        """The claims of one of Bastion's access tokens, once checked and not revoked.

        Raises:
            NotAuthenticated: The token is invalid, expired or revoked.
        """
        return await self._authenticator.access_token_claims(token)


def _signed_in(ctx: RequestContext) -> UUID:
    if ctx.actor is None or ctx.credential not in ("token", "api_key"):
        raise NotAuthenticated("sign in first: this needs one of Bastion's access tokens")
    return UUID(ctx.actor)
