"""Everything the identity routes need, built once by the app layer."""

from __future__ import annotations

from dataclasses import dataclass

from bastion.blueprint import Blueprint
from bastion.core.identity.accounts import AccountService
from bastion.core.identity.admin import AdminService
from bastion.core.identity.api_keys import ApiKeyService
from bastion.core.identity.config import IdentityConfig
from bastion.core.identity.mfa import MfaService
from bastion.core.identity.recovery import RecoveryService
from bastion.core.identity.store import AccountMailer
from bastion.core.identity.tokens import TokenService
from bastion.core.ports import (
    ExternalVerifier,
    LoginThrottle,
    PasswordHasher,
    SecretBox,
    Store,
    TokenSigner,
)
from bastion.core.records import RecordService

__all__ = ["Identity", "IdentityConfig"]


@dataclass
class Identity:
    """The identity services and the pieces they are built from.

    The REST routes take one of these; optional services (MFA, recovery, API
    keys, administration) are attributes their modules add.
    """

    blueprint: Blueprint
    """The blueprint served, identity resources included."""
    service: RecordService
    store: Store
    accounts: AccountService
    tokens: TokenService
    hasher: PasswordHasher
    signer: TokenSigner
    throttle: LoginThrottle
    mailer: AccountMailer
    secret_box: SecretBox
    config: IdentityConfig
    external: ExternalVerifier | None = None
    """Verifies an external OIDC provider's tokens, when one is trusted."""
    mfa: MfaService | None = None
    """TOTP enrolment and recovery codes (``/v1/auth/mfa/...``)."""
    recovery: RecoveryService | None = None
    """Email verification and password reset (``/v1/auth/verify-email``, ``/password/...``)."""
    api_keys: ApiKeyService | None = None
    """The caller's API keys (``/v1/auth/api-keys``); built from the rest when unset."""
    admin: AdminService | None = None
    """Admin operations (``/v1/admin/...``); built from the rest when unset."""
