"""Multi-factor authentication: TOTP enrolment, recovery codes, and checking a second factor.

Enrolment has two steps. :meth:`MfaService.start_totp` stores a new secret
(encrypted) and recovery codes (hashed) without turning MFA on and shows them
once; :meth:`MfaService.confirm_totp` turns MFA on when the caller proves, with
a code from their authenticator app, that they hold the secret.

A person whose role requires MFA but who has not enrolled gets no access token
at sign-in: the token endpoint answers ``mfa_enrollment_required`` with an
``mfa_token`` (a one-time token of purpose ``mfa_login``). Starting and
confirming enrolment accept that token instead of a bearer token; starting
leaves it valid, and only a successful confirmation uses it up, so a mistyped
code can be retried. After confirming, the person signs in again and completes
the sign-in with a code.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bastion.blueprint.identity import USERS
from bastion.core.context import RequestContext
from bastion.core.errors import (
    Conflict,
    FieldError,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    TooManyAttempts,
)
from bastion.core.identity.otp import (
    hash_recovery_code,
    new_recovery_codes,
    new_totp_secret,
    provisioning_uri,
    verify_totp,
)
from bastion.core.identity.store import IdentityRecords, normalize_email
from bastion.core.ids import parse_id
from bastion.core.ports import Row
from bastion.core.ports.signing import SecretBox, open_text, seal_text

if TYPE_CHECKING:
    # Only annotations use it: the sign-in grants (which accounts build on) import
    # this module's check_second_factor.
    from bastion.core.identity.accounts import AccountService

__all__ = [
    "MFA_LOGIN",
    "MfaService",
    "TotpEnrolment",
    "check_second_factor",
]

log = logging.getLogger(__name__)

MFA_LOGIN = "mfa_login"
"""The purpose of the one-time token that stands in for a bearer token during sign-in."""

_WRONG_CODE = "the code is wrong or was already used; use the current code of your app"


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    """What starting enrolment shows the caller, once."""

    secret: str
    """The TOTP secret (base32), for typing into an app by hand."""
    uri: str
    """The ``otpauth://`` provisioning URI (usually shown as a QR code)."""
    recovery_codes: list[str]
    """Single-use codes that stand in for the app when it is lost."""


def check_second_factor(
    secret_box: SecretBox, credentials: Mapping[str, Any], code: str, *, now: datetime
) -> dict[str, Any] | None:
    """Check a TOTP code or a recovery code against a ``bastion_credentials`` row.

    A TOTP code is accepted for the current time step and one step either side,
    but never for a step at or before ``totp_last_step`` (no replay). A recovery
    code works once.

    Returns:
        The changes to save on the credentials row when ``code`` is right (the new
        ``totp_last_step``, or the ``recovery_codes`` left), ``None`` when it is wrong.
    """
    sealed = credentials.get("totp_secret")
    secret = _open_secret(secret_box, sealed) if sealed else None
    if secret is not None:
        step = verify_totp(secret, code, at=now, last_used_step=credentials.get("totp_last_step"))
        if step is not None:
            return {"totp_last_step": step}
    digest = hash_recovery_code(code)
    matched = False
    remaining: list[str] = []
    for stored in credentials.get("recovery_codes") or []:
        # Every stored hash is compared, so the time taken does not say which one matched.
        if hmac.compare_digest(str(stored), digest) and not matched:
            matched = True
        else:
            remaining.append(stored)
    return {"recovery_codes": remaining} if matched else None


def _open_secret(secret_box: SecretBox, sealed: str) -> str | None:
    try:
        return open_text(secret_box, sealed)
    except ValueError:
        # Sealed under another BASTION_SECRET_KEY: only recovery codes can pass now.
        log.warning("a TOTP secret cannot be decrypted with the current secret key")
        return None


class MfaService:
    """Enrols, confirms and removes a person's TOTP authenticator and recovery codes.

    Args:
        accounts: the account service, whose record service, secret box (TOTP
            secrets are stored encrypted), hasher, throttle (wrong passwords and
            codes count against the sign-in's ``account:<email>`` key) and
            configuration this one shares.
        issuer: the name authenticator apps show; the blueprint's name by default.
        recovery_code_count: how many recovery codes a person gets.
    """

    def __init__(
        self,
        accounts: AccountService,
        *,
        issuer: str | None = None,
        recovery_code_count: int = 10,
    ) -> None:
        self.accounts = accounts
        self.service = accounts.service
        self.secret_box = accounts.secret_box
        self.issuer = issuer or self.service.blueprint.name
        self.recovery_code_count = recovery_code_count

    async def start_totp(
        self, ctx: RequestContext, *, mfa_token: str | None = None
    ) -> TotpEnrolment:
        """Store a new, not yet confirmed, secret and recovery codes; return them (once).

        Starting again before confirming replaces the pending secret and codes.

        Raises:
            NotAuthenticated: neither a bearer token nor a valid ``mfa_token``.
            Conflict: MFA is already on (turn it off first).
        """
        secret = new_totp_secret()
        codes = new_recovery_codes(self.recovery_code_count)
        async with self.service.store.unit_of_work() as uow:
            ids = IdentityRecords(self.service, uow, ctx)
            user = await self._caller(ids, mfa_token)
            if user["mfa_enabled"]:
                raise Conflict("MFA is already on; turn it off before enrolling another app")
            await ids.save_credentials(
                user["id"],
                totp_secret=seal_text(self.secret_box, secret),
                totp_last_step=None,
                recovery_codes=[hash_recovery_code(code) for code in codes],
            )
        account = user.get("email") or user.get("name") or str(user["id"])
        uri = provisioning_uri(secret, account=account, issuer=self.issuer)
        return TotpEnrolment(secret=secret, uri=uri, recovery_codes=codes)

    async def confirm_totp(
        self, ctx: RequestContext, otp: str, *, mfa_token: str | None = None
    ) -> None:
        """Turn MFA on if ``otp`` is a current code of the pending secret.

        An ``mfa_token`` is used up only here, and only when the code is right.

        Raises:
            NotAuthenticated: neither a bearer token nor a valid ``mfa_token``.
            Conflict: MFA is already on, or enrolment was not started.
            InvalidInput: the code is wrong (pointer ``/otp``).
        """
        async with self.service.store.unit_of_work() as uow:
            ids = IdentityRecords(self.service, uow, ctx)
            user = await self._caller(ids, mfa_token)
            if user["mfa_enabled"]:
                raise Conflict("MFA is already on")
            credentials = await ids.credentials(user["id"])
            if credentials is None or not credentials["totp_secret"]:
                raise Conflict("start enrolment first: POST /v1/auth/mfa/totp")
            secret = open_text(self.secret_box, credentials["totp_secret"])
            step = verify_totp(
                secret, otp, at=ids.now, last_used_step=credentials["totp_last_step"]
            )
            if step is None:
                # Recorded and committed: the failure is part of the audit trail.
                await ids.audit("mfa_failed", user=user["id"], detail={"during": "enrolment"})
            else:
                if mfa_token is not None and not await ids.redeem_one_time_token(
                    mfa_token, MFA_LOGIN
                ):
                    raise _bad_mfa_token()
                await ids.save_credentials(user["id"], totp_last_step=step)
                await ids.records.update(USERS, user["id"], {"mfa_enabled": True})
                await ids.audit("mfa_enabled", user=user["id"])
        if step is None:
            raise InvalidInput(_WRONG_CODE, errors=(FieldError("/otp", _WRONG_CODE),))

    async def disable_totp(
        self, ctx: RequestContext, *, password: str | None = None, otp: str | None = None
    ) -> None:
        """Turn MFA off (or drop a pending enrolment), given the password or a current code.

        ``otp`` may be a TOTP code or a recovery code.

        Raises:
            NotAuthenticated: no bearer token.
            Conflict: there is no authenticator to remove.
            InvalidInput: no proof, or a wrong one (pointer ``/password`` or ``/otp``).
            TooManyAttempts: too many wrong passwords or codes lately.
        """
        async with self.service.store.unit_of_work() as uow:
            ids = IdentityRecords(self.service, uow, ctx)
            user = await self._bearer_user(ids)
            credentials = await ids.credentials(user["id"])
            if not user["mfa_enabled"] and (credentials is None or not credentials["totp_secret"]):
                raise Conflict("MFA is not on")
            proven = await self._prove(ids, user, credentials, password=password, otp=otp)
            if proven is not None:
                await ids.save_credentials(
                    user["id"], totp_secret=None, totp_last_step=None, recovery_codes=[]
                )
                if user["mfa_enabled"]:
                    await ids.records.update(USERS, user["id"], {"mfa_enabled": False})
                await ids.audit("mfa_disabled", user=user["id"])
        _raise_unless_proven(proven, password)

    async def regenerate_recovery_codes(
        self, ctx: RequestContext, *, password: str | None = None, otp: str | None = None
    ) -> list[str]:
        """Replace every recovery code with new ones (shown once), given the password or a code.

        Raises:
            NotAuthenticated: no bearer token.
            Conflict: MFA is not on.
            InvalidInput: no proof, or a wrong one (pointer ``/password`` or ``/otp``).
            TooManyAttempts: too many wrong passwords or codes lately.
        """
        codes = new_recovery_codes(self.recovery_code_count)
        async with self.service.store.unit_of_work() as uow:
            ids = IdentityRecords(self.service, uow, ctx)
            user = await self._bearer_user(ids)
            credentials = await ids.credentials(user["id"])
            if not user["mfa_enabled"] or credentials is None:
                raise Conflict("MFA is not on")
            proven = await self._prove(ids, user, credentials, password=password, otp=otp)
            if proven is not None:
                hashes = [hash_recovery_code(code) for code in codes]
                await ids.save_credentials(user["id"], recovery_codes=hashes)
                await ids.audit("recovery_codes_regenerated", user=user["id"])
        _raise_unless_proven(proven, password)
        return codes

    # Internals -------------------------------------------------------------

    async def _caller(self, ids: IdentityRecords, mfa_token: str | None) -> Row:
        if mfa_token is None:
            return await self._bearer_user(ids)
        token = await ids.peek_one_time_token(mfa_token, MFA_LOGIN)
        if token is None:
            raise _bad_mfa_token()
        user = await ids.user(token["user"], for_update=True)
        if user is None or user["status"] != "active":
            raise _bad_mfa_token()
        return user

    async def _bearer_user(self, ids: IdentityRecords) -> Row:
        ctx = ids.ctx
        if ctx.actor is None:
            raise NotAuthenticated("sign in first (or send the mfa_token sign-in gave you)")
        user_id = parse_id(ctx.actor)
        if ctx.credential not in ("token", None) or user_id is None:
            raise Forbidden("MFA is managed with a Bastion sign-in token, not an API key")
        user = await ids.user(user_id, for_update=True)
        if user is None or user["status"] != "active":
            raise NotAuthenticated("the account is gone or disabled", reason="revoked")
        if user["kind"] != "person":
            raise Forbidden("only people enrol in MFA; service accounts use client credentials")
        return user

    async def _prove(
        self,
        ids: IdentityRecords,
        user: Row,
        credentials: Row | None,
        *,
        password: str | None,
        otp: str | None,
    ) -> dict[str, Any] | None:
        """The credential changes a right proof implies ({} for a password), ``None`` if wrong."""
        if password is None and otp is None:
            message = "send your password or a current code to confirm it is you"
            raise InvalidInput(message, errors=(FieldError("", message),))
        key = f"account:{normalize_email(user.get('email') or str(user['id']))}"
        throttle = self.accounts.throttle
        locked = await throttle.locked_for(key)
        if locked > 0:
            raise TooManyAttempts("too many wrong attempts; retry later", retry_after=locked)
        proven: dict[str, Any] | None = None
        hasher = self.accounts.hasher
        if credentials is not None and password is not None:
            stored = credentials["password_hash"]
            if stored and await hasher.verify(stored, password):
                proven = {}
        elif credentials is not None and otp is not None:
            proven = check_second_factor(self.secret_box, credentials, otp, now=ids.now)
        elif password is not None:
            await hasher.verify_dummy(password)
        if proven is None:
            await throttle.record_failure(key, self.accounts.config.account_policy)
            await ids.audit("mfa_failed", user=user["id"], detail={"during": "proof"})
        elif otp is not None and password is None:
            await ids.save_credentials(user["id"], **proven)
        return proven


def _raise_unless_proven(proven: dict[str, Any] | None, password: str | None) -> None:
    if proven is not None:
        return
    if password is not None:
        message = "the password is wrong"
        raise InvalidInput(message, errors=(FieldError("/password", message),))
    raise InvalidInput(_WRONG_CODE, errors=(FieldError("/otp", _WRONG_CODE),))


def _bad_mfa_token() -> NotAuthenticated:
    return NotAuthenticated(
        "the mfa_token is invalid, used or expired; sign in again", reason="invalid_mfa_token"
    )
