"""Wiring the identity layer: settings become the hasher, key ring, throttle,
mailer and services, and the routes and middleware that serve them."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from bastion.adapters.identity import (
    Argon2Hasher,
    ExternalIssuer,
    IssuerUnavailable,
    KeyRing,
    decrypt_private_key,
    encrypt_private_key,
)
from bastion.adapters.memory import MemoryLoginThrottle
from bastion.adapters.redis import RedisLoginThrottle, redis_from_url
from bastion.api.rest.auth import AuthenticationMiddleware, auth_routes
from bastion.api.rest.client_ip import parse_trusted_proxies
from bastion.blueprint import Blueprint
from bastion.core.errors import NotAuthenticated
from bastion.core.identity.accounts import AccountService
from bastion.core.identity.config import IdentityConfig
from bastion.core.identity.container import Identity
from bastion.core.identity.mail import CallableMailer, LogMailer, OutgoingMail, UndeliveredMailer
from bastion.core.identity.mfa import MfaService
from bastion.core.identity.password_policy import PasswordPolicy
from bastion.core.identity.recovery import RecoveryService
from bastion.core.identity.signing_keys import StoreSigningKeys
from bastion.core.identity.store import AccountMailer
from bastion.core.identity.throttling import ACCOUNT_POLICY, IP_POLICY, ThrottlePolicy
from bastion.core.identity.tokens import TokenService
from bastion.core.ports import ExternalClaims, LoginThrottle, Store
from bastion.core.records import RecordService
from bastion.settings import Settings

__all__ = ["FernetSecretBox", "IdentityWiring", "OidcVerifier", "build_identity", "load_sender"]


class FernetSecretBox:
    """A :class:`~bastion.core.ports.SecretBox`: Fernet under a key derived (HKDF) from
    the server secret, as the signing keys are encrypted."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def encrypt(self, plaintext: bytes) -> bytes:
        """``plaintext`` encrypted and authenticated."""
        return encrypt_private_key(plaintext, self._secret)

    def decrypt(self, ciphertext: bytes) -> bytes:
        """What :meth:`encrypt` encrypted; ``ValueError`` if altered or another key's."""
        return decrypt_private_key(ciphertext, self._secret)


class OidcVerifier:
    """An :class:`~bastion.core.ports.ExternalVerifier` over an :class:`ExternalIssuer`."""

    def __init__(self, issuer: ExternalIssuer) -> None:
        self.issuer = issuer

    def matches(self, token: str) -> bool:
        """Whether the token names the provider as its issuer."""
        return self.issuer.matches(token)

    async def verify(self, token: str) -> ExternalClaims:
        """The token's identity; a provider whose keys cannot be fetched answers 401."""
        try:
            identity = await self.issuer.verify(token)
        except IssuerUnavailable:
            raise NotAuthenticated(
                "the identity provider's keys cannot be fetched; retry shortly",
                reason="invalid_token",
            ) from None
        return ExternalClaims(
            subject=identity.subject,
            roles=identity.roles,
            tenant=identity.tenant,
            scopes=identity.scopes or None,
        )


def load_sender(reference: str) -> Callable[[OutgoingMail], Awaitable[None]]:
    """The async callable ``package.module:attribute`` names (``BASTION_EMAIL_SENDER``).

    Raises:
        ValueError: The reference is malformed, cannot be imported, or is not callable.
    """
    module_name, colon, attribute = reference.partition(":")
    if not colon or not module_name or not attribute:
        raise ValueError(
            f"BASTION_EMAIL_SENDER must be 'package.module:attribute', not {reference!r}"
        )
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"BASTION_EMAIL_SENDER: cannot import {module_name!r}: {exc}") from exc
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ValueError(f"BASTION_EMAIL_SENDER: {module_name!r} has no {attribute!r}")
        target = getattr(target, part)
    if not callable(target):
        raise ValueError(f"BASTION_EMAIL_SENDER: {reference!r} is not callable")
    return cast(Callable[[OutgoingMail], Awaitable[None]], target)


@dataclass
class IdentityWiring:
    """The identity layer of one application, ready to serve.

    Attributes:
        identity: the services (for routes, hooks and tests).
        routes: the identity routes (``/v1/auth/*``, the JWKS...).
        middleware: the authentication middleware (inside ``ProblemMiddleware``).
    """

    identity: Identity
    routes: list[BaseRoute]
    middleware: Middleware
    _closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def start(self) -> None:
        """Nothing to open: the signing keys load (and the first is made) on first use,
        so the application starts even while the database is down."""

    async def stop(self) -> None:
        """Release the hasher's threads, the throttle's and provider's connections.

        Final: the wiring cannot serve again afterwards (build a new one).
        """
        closers, self._closers = self._closers, []
        for close in closers:
            await close()


def _throttle(settings: Settings) -> LoginThrottle:
    if settings.redis_url:
        return RedisLoginThrottle(
            redis_from_url(settings.redis_url),
            prefix=settings.redis_prefix,
            fallback=MemoryLoginThrottle(),
        )
    return MemoryLoginThrottle()


def _mailer(settings: Settings) -> AccountMailer:
    if settings.email_sender:
        return CallableMailer(load_sender(settings.email_sender))
    if settings.is_development:
        return LogMailer()
    return UndeliveredMailer()


def identity_config(
    settings: Settings,
    blueprint: Blueprint,
    *,
    account_policy: ThrottlePolicy = ACCOUNT_POLICY,
    ip_policy: ThrottlePolicy = IP_POLICY,
) -> IdentityConfig:
    """The identity configuration for these settings and the blueprint's ``auth`` section."""
    return IdentityConfig(
        issuer=settings.auth_issuer,
        access_ttl=timedelta(seconds=settings.access_token_ttl_seconds),
        refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
        mfa_token_ttl=timedelta(seconds=settings.mfa_token_ttl_seconds),
        verify_email_ttl=timedelta(seconds=settings.verify_email_ttl_seconds),
        reset_password_ttl=timedelta(seconds=settings.reset_password_ttl_seconds),
        invitation_ttl=timedelta(seconds=settings.invitation_ttl_seconds),
        registration=blueprint.auth.registration,
        require_verified_email=settings.require_verified_email,
        password_policy=PasswordPolicy(min_length=settings.password_min_length),
        trusted_proxies=parse_trusted_proxies(settings.trusted_proxies),
        account_policy=account_policy,
        ip_policy=ip_policy,
    )


def build_identity(
    settings: Settings,
    blueprint: Blueprint,
    service: RecordService,
    store: Store,
    *,
    account_policy: ThrottlePolicy = ACCOUNT_POLICY,
    ip_policy: ThrottlePolicy = IP_POLICY,
    mailer: AccountMailer | None = None,
) -> IdentityWiring:
    """The identity layer for ``blueprint`` (served with identity) on ``service``.

    Args:
        settings: lifetimes, argon2 costs, Redis, secret key, OIDC provider...
        blueprint: the blueprint served, identity resources included.
        service: its record service.
        store: its store.
        account_policy: throttling per account (tests shorten it).
        ip_policy: throttling per client address.
        mailer: sends account emails; by default ``BASTION_EMAIL_SENDER`` or the log.
    """
    config = identity_config(
        settings, blueprint, account_policy=account_policy, ip_policy=ip_policy
    )
    secret = settings.secret_key.get_secret_value()
    hasher = Argon2Hasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
        max_concurrency=settings.argon2_max_concurrency,
    )
    signer = KeyRing(
        StoreSigningKeys(service),
        secret=secret,
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        access_ttl=config.access_ttl,
        clock=service.clock,  # one clock for records and tokens (tests move it)
    )
    throttle = _throttle(settings)
    closers: list[Callable[[], Awaitable[None]]] = [throttle.close]
    external: OidcVerifier | None = None
    if settings.oidc_issuer and settings.oidc_audience and settings.oidc_jwks_url:
        issuer = ExternalIssuer(
            settings.oidc_issuer,
            settings.oidc_audience,
            settings.oidc_jwks_url,
            roles_claim=settings.oidc_roles_claim,
            tenant_claim=settings.oidc_tenant_claim,
        )
        external = OidcVerifier(issuer)
        closers.append(issuer.aclose)
    secret_box = FernetSecretBox(secret)
    account_mailer = mailer or _mailer(settings)
    tokens = TokenService(service, signer, config, external=external)
    accounts = AccountService(
        service,
        tokens=tokens,
        hasher=hasher,
        throttle=throttle,
        mailer=account_mailer,
        secret_box=secret_box,
        config=config,
    )
    identity = Identity(
        blueprint=blueprint,
        service=service,
        store=store,
        accounts=accounts,
        tokens=tokens,
        hasher=hasher,
        signer=signer,
        throttle=throttle,
        mailer=account_mailer,
        secret_box=secret_box,
        config=config,
        external=external,
    )

    identity.mfa = MfaService(accounts)
    identity.recovery = RecoveryService(accounts)

    async def close_hasher() -> None:
        hasher.close()

    closers.append(close_hasher)
    middleware = Middleware(
        AuthenticationMiddleware, tokens=tokens, trusted_proxies=config.trusted_proxies
    )
    return IdentityWiring(
        identity=identity, routes=auth_routes(identity), middleware=middleware, _closers=closers
    )
