"""Identity: who a caller is, and how they prove it."""

from bastion.core.identity.opaque import (
    API_KEY_PREFIX,
    looks_like_api_key,
    new_api_key,
    new_opaque_token,
    token_digest,
)
from bastion.core.identity.otp import (
    hash_recovery_code,
    new_recovery_codes,
    new_totp_secret,
    normalize_recovery_code,
    provisioning_uri,
    verify_totp,
)
from bastion.core.identity.password_policy import PasswordPolicy

__all__ = [
    "API_KEY_PREFIX",
    "PasswordPolicy",
    "hash_recovery_code",
    "looks_like_api_key",
    "new_api_key",
    "new_opaque_token",
    "new_recovery_codes",
    "new_totp_secret",
    "normalize_recovery_code",
    "provisioning_uri",
    "token_digest",
    "verify_totp",
]
