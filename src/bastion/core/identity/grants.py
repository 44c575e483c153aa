"""Sign-in: the token endpoint's grants (password, second factor, client credentials).

Wrong credentials always get the same answer, whether the account exists or
not (an unknown email costs a dummy password hash, so timing does not tell
either); failures are throttled per account and per client address before
any password is checked.
"""

from __future__ import annotations

from typing import Any

from bastion.blueprint.identity import CREDENTIALS, ONE_TIME_TOKENS
from bastion.core.context import RequestContext
from bastion.core.errors import OAuthError, TooManyAttempts
from bastion.core.identity.config import IdentityConfig
from bastion.core.identity.mfa import check_second_factor
from bastion.core.identity.opaque import token_digest
from bastion.core.identity.store import AccountMailer, IdentityRecords, normalize_email
from bastion.core.identity.throttling import ThrottlePolicy
from bastion.core.identity.tokens import TokenPair, TokenService
from bastion.core.ids import parse_id
from bastion.core.ports import LoginThrottle, PasswordHasher, Row, SecretBox
from bastion.core.records import RecordService

__all__ = ["MFA_LOGIN", "SignIn", "wrong_credentials"]

MFA_LOGIN = "mfa_login"
"""The purpose of the one-time token that carries a sign-in to its second factor."""

_ThrottleKeys = list[tuple[str, ThrottlePolicy]]


def wrong_credentials() -> OAuthError:
    """The one answer to a wrong email, a wrong password or a disabled account."""
    return OAuthError("invalid_grant", "the email or password is wrong")


def _bad_mfa_token() -> OAuthError:
    return OAuthError("invalid_grant", "the MFA token is invalid or expired; sign in again")


def _bad_client() -> OAuthError:
    return OAuthError("invalid_client", "client authentication failed", status=401)


class SignIn:
    """The grants of the token endpoint; :class:`~bastion.core.identity.accounts.AccountService`
    is one.

    Args:
        service: the record service of a blueprint served with identity.
        tokens: issues the token pairs.
        hasher: hashes and checks passwords and client secrets.
        throttle: counts sign-in failures.
        mailer: sends account emails.
        secret_box: decrypts the stored TOTP secrets.
        config: lifetimes and policies.
    """

    def __init__(
        self,
        service: RecordService,
        *,
        tokens: TokenService,
        hasher: PasswordHasher,
        throttle: LoginThrottle,
        mailer: AccountMailer,
        secret_box: SecretBox,
        config: IdentityConfig,
    ) -> None:
        self.service = service
        self.tokens = tokens
        self.hasher = hasher
        self.throttle = throttle
        self.mailer = mailer
        self.secret_box = secret_box
        self.config = config

    # Throttling -------------------------------------------------------------

    def _keys(self, email: str, ctx: RequestContext) -> _ThrottleKeys:
        """The throttle keys of a password sign-in: the account and the client's address."""
        return self._throttle_keys(f"account:{normalize_email(email)}", ctx)

    def _throttle_keys(self, account: str, ctx: RequestContext) -> _ThrottleKeys:
        return [
            (account, self.config.account_policy),
            (f"ip:{ctx.client_ip or 'unknown'}", self.config.ip_policy),
        ]

    async def _refuse_if_locked(self, keys: _ThrottleKeys) -> None:
        wait = max([await self.throttle.locked_for(key) for key, _ in keys])
        if wait > 0:
            raise TooManyAttempts(
                "too many failed sign-ins; wait before trying again", retry_after=wait
            )

    async def _count_failure(self, keys: _ThrottleKeys) -> None:
        for key, policy in keys:
            await self.throttle.record_failure(key, policy)

    async def _audit_failure(
        self, ctx: RequestContext, kind: str, user: Row | None, detail: dict[str, Any]
    ) -> None:
        async with self.service.store.unit_of_work() as uow:
            records = IdentityRecords(self.service, uow, ctx)
            await records.audit(kind, user=None if user is None else user["id"], detail=detail)

    async def check_password(
        self, email: str, password: str, ctx: RequestContext
    ) -> tuple[Row, Row]:
        """The person and credentials row ``email`` and ``password`` prove, throttled.

        Raises:
            TooManyAttempts: The account or the client address is locked.
            OAuthError: ``invalid_grant`` (the same for every cause) on a wrong
                password, an unknown email, a disabled account.
        """
        keys = self._keys(email, ctx)
        await self._refuse_if_locked(keys)
        async with self.service.store.unit_of_work(read_only=True) as uow:
            records = IdentityRecords(self.service, uow, ctx)
            user = await records.user_by_email(email)
            creds = None if user is None else await records.credentials(user["id"])
        stored = None if creds is None else creds.get("password_hash")
        if user is None or creds is None or not stored or user["kind"] != "person":
            await self.hasher.verify_dummy(password)
            valid = False
        else:
            valid = await self.hasher.verify(stored, password)
        if not valid or user is None or creds is None or not stored:
            await self._count_failure(keys)
            reason = "unknown_email" if user is None else "wrong_password"
            await self._audit_failure(ctx, "login_failed", user, {"reason": reason})
            raise wrong_credentials()
        await self.throttle.reset(keys[0][0])
        if user["status"] != "active":
            await self._audit_failure(ctx, "login_failed", user, {"reason": "disabled"})
            raise wrong_credentials()
        if self.hasher.needs_rehash(stored):
            fresh = await self.hasher.hash(password)
            async with self.service.store.unit_of_work() as uow:
                records = IdentityRecords(self.service, uow, ctx)
                creds = await records.save_credentials(user["id"], password_hash=fresh)
        return user, creds

    # Grants -------------------------------------------------------------------

    async def password_grant(
        self, email: str, password: str, *, scope: str | None, ctx: RequestContext
    ) -> TokenPair:
        """Sign in with an email and a password (``grant_type=password``).

        Raises:
            TooManyAttempts: Too many failures for the account or the address.
            OAuthError: ``invalid_grant`` for wrong credentials or an unverified
                email (when verification is required); ``mfa_required`` (with an
                ``mfa_token`` for the ``mfa-otp`` grant) when the user has MFA;
                ``mfa_enrollment_required`` (with an ``mfa_token`` the MFA
                enrolment endpoints accept) when the user's roles demand MFA.
        """
        user, creds = await self.check_password(email, password, ctx)
        if self.config.require_verified_email and not user["email_verified"]:
            raise OAuthError("invalid_grant", "confirm your email address before signing in")
        required = set(self.service.blueprint.auth.mfa_required_roles)
        pending: OAuthError | None = None
        async with self.service.store.unit_of_work() as uow:
            records = IdentityRecords(self.service, uow, ctx)
            if user["mfa_enabled"] and creds.get("totp_secret"):
                token = await self._mfa_token(records, user)
                pending = OAuthError(
                    "mfa_required",
                    "enter the code of your authenticator app, or a recovery code",
                    mfa_token=token,
                )
            elif required & set(user["roles"] or []):
                token = await self._mfa_token(records, user)
                pending = OAuthError(
                    "mfa_enrollment_required",
                    "your role requires two-factor authentication: enrol with the mfa_token "
                    "at /v1/auth/mfa/totp, then sign in again",
                    mfa_token=token,
                )
            else:
                pair = await self.tokens.issue(
                    records, user, amr=["pwd"], scopes=self.tokens.requested_scopes(scope)
                )
                await records.audit("login", user=user["id"], detail={"method": "password"})
        if pending is not None:
            raise pending
        return pair

    async def _mfa_token(self, records: IdentityRecords, user: Row) -> str:
        expires_at = records.now + self.config.mfa_token_ttl
        return await records.issue_one_time_token(user["id"], MFA_LOGIN, expires_at=expires_at)

    async def mfa_grant(
        self, mfa_token: str, otp: str, *, scope: str | None, ctx: RequestContext
    ) -> TokenPair:
        """Complete a sign-in with its second factor: a TOTP code or a recovery code.

        A TOTP code's step is remembered so the code cannot be replayed; a
        recovery code is used up.

        Raises:
            TooManyAttempts: The account is locked after too many failures.
            OAuthError: ``invalid_grant`` for an unknown, used or expired
                ``mfa_token`` or a wrong code.
        """
        failed_keys: _ThrottleKeys | None = None
        async with self.service.store.unit_of_work() as uow:
            records = IdentityRecords(self.service, uow, ctx)
            row = await records.find_one(ONE_TIME_TOKENS, token_hash=token_digest(mfa_token))
            if (
                row is None
                or row["purpose"] != MFA_LOGIN
                or row["used_at"] is not None
                or row["expires_at"] <= records.now
            ):
                raise _bad_mfa_token()
            user = await records.user(row["user"])
            found = await records.credentials(row["user"])
            creds = (
                None
                if found is None
                else await uow.fetch(CREDENTIALS, found["id"], for_update=True)
            )
            if (
                user is None
                or creds is None
                or user["status"] != "active"
                or not user["mfa_enabled"]
                or not creds.get("totp_secret")
            ):
                raise _bad_mfa_token()
            keys = self._keys(user["email"] or "", ctx)
            await self._refuse_if_locked(keys)
            changes = check_second_factor(self.secret_box, creds, otp, now=records.now)
            if changes is None:
                await records.audit("mfa_failed", user=user["id"])
                failed_keys = keys
            else:
                if await records.redeem_one_time_token(mfa_token, MFA_LOGIN) is None:
                    raise _bad_mfa_token()
                await records.save_credentials(user["id"], **changes)
                pair = await self.tokens.issue(
                    records, user, amr=["pwd", "otp"], scopes=self.tokens.requested_scopes(scope)
                )
                method = "otp" if "totp_last_step" in changes else "recovery_code"
                await records.audit("login", user=user["id"], detail={"method": method})
        if failed_keys is not None:
            await self._count_failure(failed_keys)
            raise OAuthError("invalid_grant", "the code is wrong or was already used")
        return pair

    async def client_credentials_grant(
        self, client_id: str, client_secret: str, *, scope: str | None, ctx: RequestContext
    ) -> TokenPair:
        """A token for a service account (``grant_type=client_credentials``); no refresh token.

        Raises:
            OAuthError: ``invalid_client`` (401) for an unknown client, a wrong
                secret, or a disabled service account.
            TooManyAttempts: too many wrong secrets for the client or from the address.
        """
        keys = self._throttle_keys(f"client:{client_id.strip().lower()}", ctx)
        await self._refuse_if_locked(keys)
        user_id = parse_id(client_id)
        user: Row | None = None
        creds: Row | None = None
        if user_id is not None:
            async with self.service.store.unit_of_work(read_only=True) as uow:
                records = IdentityRecords(self.service, uow, ctx)
                user = await records.user(user_id)
                creds = None if user is None else await records.credentials(user_id)
        stored = None if creds is None else creds.get("client_secret_hash")
        if user is None or not stored or user["kind"] != "service":
            await self.hasher.verify_dummy(client_secret)
            await self._count_failure(keys)
            raise _bad_client()
        if not await self.hasher.verify(stored, client_secret) or user["status"] != "active":
            await self._count_failure(keys)
            await self._audit_failure(ctx, "login_failed", user, {"reason": "client_secret"})
            raise _bad_client()
        await self.throttle.reset(keys[0][0])
        async with self.service.store.unit_of_work() as uow:
            records = IdentityRecords(self.service, uow, ctx)
            pair = await self.tokens.issue(
                records, user, amr=None, scopes=self.tokens.requested_scopes(scope), refresh=False
            )
            await records.audit("login", user=user["id"], detail={"method": "client_credentials"})
        return pair
