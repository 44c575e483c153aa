"""Tokens issued by an external OpenID Connect provider (Keycloak, Auth0, Entra ID...).

The provider's public keys come from its JWKS document, fetched over HTTP and
cached. When a token names a key the cache lacks (the provider rotated its
keys), the document is fetched again, at most once per
``min_refetch_interval``, so forged key ids cannot make Bastion flood the
provider. If a refresh fails, the keys already known keep being used.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import jwt

from bastion.adapters.identity.rejections import rejection
from bastion.core.ports import ExternalClaims, TokenRejected

if TYPE_CHECKING:
    # Imported when an issuer first fetches its keys: most deployments have no external
    # issuer, and httpx costs every worker about 6 MiB of memory (measured).
    import httpx

__all__ = ["ExternalIdentity", "ExternalIssuer", "IssuerUnavailable"]

log = logging.getLogger(__name__)

_SYMMETRIC = ("HS256", "HS384", "HS512", "none")


@dataclass(frozen=True, slots=True)
class ExternalIdentity(ExternalClaims):
    """Who a verified external token speaks for, with every claim it carried.

    ``scopes`` comes from ``scope`` (space-separated) or ``scp`` (a list, or
    space-separated); it is ``None`` when the token has neither.
    """

    claims: dict[str, Any] = field(hash=False)
    """Every claim of the token, as verified."""


class IssuerUnavailable(Exception):
    """The provider's keys could not be fetched and none are cached; answer 503."""


class ExternalIssuer:
    """Verifies the access tokens of one external OIDC provider.

    Args:
        issuer: The provider's ``iss``, exactly as in its tokens.
        audience: The ``aud`` the tokens must carry (Bastion's client or API id).
        jwks_url: Where the provider publishes its JSON Web Key Set.
        roles_claim: The claim holding the roles; a dotted path reaches into
            objects (``realm_access.roles`` for Keycloak). A claim whose name
            itself has dots (``https://example.com/roles``) is found too.
        tenant_claim: The claim holding the tenant, if tokens carry one.
        subject_claim: The claim identifying the user.
        algorithms: The signature algorithms accepted (asymmetric ones only).
        http: The client to fetch with; by default the issuer makes and closes its own.
        cache_ttl: How long a fetched key set is used before it is fetched again.
        min_refetch_interval: The least time between two fetches of the key set.
        leeway: Tolerated clock difference with the provider, for ``exp``/``iat``/``nbf``.
    """

    def __init__(
        self,
        issuer: str,
        audience: str,
        jwks_url: str,
        *,
        roles_claim: str = "roles",
        tenant_claim: str | None = "tenant",
        subject_claim: str = "sub",
        algorithms: tuple[str, ...] = ("RS256", "ES256", "EdDSA"),
        http: httpx.AsyncClient | None = None,
        cache_ttl: timedelta = timedelta(minutes=10),
        min_refetch_interval: timedelta = timedelta(seconds=10),
        leeway: timedelta = timedelta(seconds=30),
    ) -> None:
        refused = [alg for alg in algorithms if alg in _SYMMETRIC]
        if refused or not algorithms:
            # An HMAC "key" from a public JWKS would let anyone sign tokens.
            raise ValueError(f"only asymmetric algorithms can be accepted, not {refused}")
        self.issuer = issuer
        self.audience = audience
        self.jwks_url = jwks_url
        self._roles_claim = roles_claim
        self._tenant_claim = tenant_claim
        self._subject_claim = subject_claim
        self._algorithms = algorithms
        self._own_http = http is None
        self._http: httpx.AsyncClient | None = http
        self._cache_ttl = cache_ttl.total_seconds()
        self._min_refetch = min_refetch_interval.total_seconds()
        self._leeway = leeway
        self._keys: dict[str | None, dict[str, Any]] | None = None
        self._prepared: dict[tuple[str | None, str], jwt.PyJWK] = {}
        self._fetched_at = 0.0
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()

    def matches(self, token: str) -> bool:
        """Whether ``token`` claims to come from this issuer (its signature is not checked)."""
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return False
        return claims.get("iss") == self.issuer

    async def verify(self, token: str) -> ExternalIdentity:
        """The identity ``token`` carries, once its signature, issuer, audience and times check.

        Raises:
            TokenRejected: The token cannot be trusted; ``reason`` says why.
            IssuerUnavailable: The provider's keys cannot be fetched.
        """
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise rejection(exc) from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise TokenRejected("algorithm_not_allowed", f"alg {alg!r}")
        key = await self._key(header.get("kid"), alg)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self._leeway,
                options={
                    "require": ["exp", "iss", "aud"],
                    "enforce_minimum_key_length": True,
                },
            )
        except jwt.PyJWTError as exc:
            raise rejection(exc) from None
        return self._identity(claims)

    async def aclose(self) -> None:
        """Close the HTTP client, if the issuer made it."""
        if self._own_http and self._http is not None:
            await self._http.aclose()
            # The next fetch makes a new client: the application may be started again.
            self._http = None

    def _identity(self, claims: dict[str, Any]) -> ExternalIdentity:
        subject = _claim(claims, self._subject_claim)
        if not isinstance(subject, str) or not subject:
            raise TokenRejected("missing_claim", f"no {self._subject_claim!r} claim")
        tenant = None if self._tenant_claim is None else _claim(claims, self._tenant_claim)
        scopes = claims.get("scope")
        if scopes is None:
            scopes = claims.get("scp")
        return ExternalIdentity(
            subject=subject,
            roles=_words(_claim(claims, self._roles_claim)),
            tenant=str(tenant) if isinstance(tenant, str | int) and tenant != "" else None,
            scopes=None if scopes is None else _words(scopes),
            claims=claims,
        )

    async def _key(self, kid: Any, alg: str) -> jwt.PyJWK:
        if kid is not None and not isinstance(kid, str):
            raise TokenRejected("malformed", "kid is not a string")
        await self._refresh(force=False)
        jwk = self._find(kid)
        if jwk is None:
            await self._refresh(force=True)
            jwk = self._find(kid)
        if jwk is None:
            raise TokenRejected("unknown_key", f"the provider has no key {kid!r}")
        if jwk.get("alg", alg) != alg:
            raise TokenRejected("algorithm_not_allowed", f"key {kid!r} is not for {alg}")
        prepared = self._prepared.get((kid, alg))
        if prepared is None:
            try:
                prepared = jwt.PyJWK(jwk, algorithm=alg)
            except jwt.PyJWTError as exc:
                raise TokenRejected("unknown_key", f"key {kid!r} cannot verify {alg}") from exc
            self._prepared[(kid, alg)] = prepared
        return prepared

    def _find(self, kid: str | None) -> dict[str, Any] | None:
        keys = self._keys
        if keys is None:
            raise IssuerUnavailable(f"the keys of {self.issuer} cannot be fetched")
        if kid is None and len(keys) == 1:
            # Providers with a single key may leave kid out of their tokens.
            return next(iter(keys.values()))
        return keys.get(kid)

    def _stale(self) -> bool:
        return self._keys is None or time.monotonic() - self._fetched_at >= self._cache_ttl

    async def _refresh(self, *, force: bool) -> None:
        if not (force or self._stale()):
            return
        async with self._lock:
            if not (force or self._stale()):
                return
            now = time.monotonic()
            if self._attempted_at is not None and now - self._attempted_at < self._min_refetch:
                return
            self._attempted_at = now
            import httpx

            try:
                keys = await self._fetch()
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("cannot fetch the keys of %s: %s", self.issuer, exc)
                return
            self._keys = keys
            self._prepared = {}
            self._fetched_at = now

    async def _fetch(self) -> dict[str | None, dict[str, Any]]:
        if self._http is None:
            import httpx

            self._http = httpx.AsyncClient(timeout=5.0)
        response = await self._http.get(self.jwks_url, headers={"Accept": "application/json"})
        response.raise_for_status()
        document = response.json()
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ValueError("the JWKS document has no 'keys' list")
        keys: dict[str | None, dict[str, Any]] = {}
        for jwk in document["keys"]:
            if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
                continue
            kid = jwk.get("kid")
            if kid is None or isinstance(kid, str):
                keys[kid] = jwk
        return keys


def _claim(claims: Mapping[str, Any], name: str) -> Any:
    if name in claims:
        return claims[name]
    value: Any = claims
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _words(value: Any) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list | tuple):
        return frozenset(item for item in value if isinstance(item, str) and item)
    return frozenset()
