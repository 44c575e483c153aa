"""The identity settings the flows need, free of how they were configured."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import timedelta

from bastion.blueprint.access import Registration
from bastion.core.identity.password_policy import PasswordPolicy
from bastion.core.identity.throttling import ACCOUNT_POLICY, IP_POLICY, ThrottlePolicy

__all__ = ["IdentityConfig", "ProxyNetwork"]

ProxyNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
"""A network of trusted reverse proxies."""


@dataclass(frozen=True, slots=True)
class IdentityConfig:
    """Lifetimes, sign-in rules and policies of the identity flows.

    The app layer builds it from the settings and the blueprint's ``auth`` section.
    """

    issuer: str = "bastion"
    """The ``iss`` of access tokens (also the issuer shown by authenticator apps)."""
    access_ttl: timedelta = timedelta(minutes=15)
    refresh_ttl: timedelta = timedelta(days=30)
    """Lifetime of a refresh token family from its sign-in (rotation does not extend it)."""
    mfa_token_ttl: timedelta = timedelta(minutes=5)
    verify_email_ttl: timedelta = timedelta(days=1)
    reset_password_ttl: timedelta = timedelta(hours=1)
    invitation_ttl: timedelta = timedelta(days=7)
    registration: Registration = "open"
    require_verified_email: bool = False
    password_policy: PasswordPolicy = field(default_factory=PasswordPolicy)
    trusted_proxies: tuple[ProxyNetwork, ...] = ()
    account_policy: ThrottlePolicy = ACCOUNT_POLICY
    """Throttles password sign-ins per account (``account:<email>``)."""
    ip_policy: ThrottlePolicy = IP_POLICY
    """Throttles password sign-ins per client address (``ip:<address>``)."""
    api_key_touch_interval: timedelta = timedelta(minutes=1)
    """An API key's ``last_used_at`` is written at most this often."""
