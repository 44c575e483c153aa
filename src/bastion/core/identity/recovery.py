"""Proving an email address, and getting back into an account whose password is lost.

Both work with single-use, time-limited tokens sent by email (stored hashed in
``bastion_one_time_tokens``); a token of one purpose never works for another.
Asking for a password reset answers the same whether or not the address
belongs to an account, so the endpoint does not tell who is registered.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from bastion.blueprint.identity import ONE_TIME_TOKENS, USERS
from bastion.core.context import RequestContext
from bastion.core.errors import (
    Conflict,
    FieldError,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
)
from bastion.core.identity.accounts import VERIFY_EMAIL, AccountService
from bastion.core.identity.mail import send_in_background
from bastion.core.identity.store import IdentityRecords, normalize_email
from bastion.core.identity.throttling import ThrottlePolicy
from bastion.core.ids import parse_id

__all__ = ["MAIL_POLICY", "RESET_PASSWORD", "RecoveryService"]

RESET_PASSWORD = "reset_password"
"""The purpose of password reset tokens."""


MAIL_POLICY = ThrottlePolicy(
    free_attempts=2,  # the third message locks: the fourth waits
    window=timedelta(hours=1),
    base_delay=timedelta(minutes=5),
    max_delay=timedelta(hours=1),
)
"""Reset emails to one address: three an hour, then five minutes apart and slower."""


class RecoveryService:
    """Email verification, forgotten passwords and password resets.

    Args:
        accounts: the account service, whose record service, hasher, mailer,
            throttle, token service (ending sessions) and configuration (token
            lifetimes, password policy) this one shares.
    """

    def __init__(self, accounts: AccountService) -> None:
        self.accounts = accounts
        self.service = accounts.service
        self.config = accounts.config

    # Email verification ------------------------------------------------------

    async def request_verification(self, ctx: RequestContext) -> None:
        """Send the caller a new verification email.

        Raises:
            NotAuthenticated: no bearer token.
            Conflict: the address is already verified, or the account has none.
        """
        async with self.service.store.unit_of_work() as uow:
            ids = IdentityRecords(self.service, uow, ctx)
            if ctx.actor is None:
                raise NotAuthenticated("sign in to ask for a verification email")
            user_id = parse_id(ctx.actor)
            if user_id is None:
                raise Forbidden("only accounts of this service verify their email here")
            user = await ids.user(user_id)
            if user is None or user["status"] != "active":
                raise NotAuthenticated("the account is gone or disabled", reason="revoked")
            if not user["email"]:
                raise Conflict("this account has no email address")
            if user["email_verified"]:
                raise Conflict("your email address is already verified")
            await self.accounts.send_verification(ids, user)

    async def verify_email(self, token: str, ctx: RequestContext) -> None:
        """Mark the token's user's email address verified (the token works once).

        Raises:
            InvalidInput: the token is unknown, used, expired or of another purpose.
        """
        async with self.service.store.unit_of_work() as uow:
            ids = IdentityRecords(self.service, uow, ctx)
            row = await ids.redeem_one_time_token(token, VERIFY_EMAIL)
            user = None if row is None else await ids.user(row["user"], for_update=True)
            if row is None or user is None:
                raise _bad_token()
            if not user["email_verified"]:
                await ids.records.update(USERS, user["id"], {"email_verified": True})
            await ids.audit("email_verified", user=user["id"])

    # Password reset ----------------------------------------------------------

    async def forgot_password(self, email: str, ctx: RequestContext) -> None:
        """Mail a reset token if ``email`` belongs to an active person; else do nothing.

        The caller answers the same either way. At most a few messages go to one
        address per hour (:data:`MAIL_POLICY`): more requests are answered alike but
        send nothing, so the endpoint cannot be used to flood an inbox.
        """
        key = f"mail:{normalize_email(email)}"
        throttle = self.accounts.throttle
        if await throttle.locked_for(key) > 0:
            return
        await throttle.record_failure(key, MAIL_POLICY)
        async with self.service.store.unit_of_work() as uow:
            ids = IdentityRecords(self.service, uow, ctx)
            user = await ids.user_by_email(email)
            if user is None or user["kind"] != "person" or user["status"] != "active":
                return
            ttl = self.config.reset_password_ttl
            token = await ids.issue_one_time_token(
                user["id"], RESET_PASSWORD, expires_at=ids.now + ttl
            )
            address = user["email"]
            body = (
                f"Reset your password with this code (valid for {_duration(ttl)}):\n\n"
                f"{token}\n\nIf you did not ask for it, ignore this message: "
                "your password stays as it is."
            )

            async def deliver() -> None:
                await self.accounts.mailer.send(
                    to=address, subject="Reset your password", body=body, purpose=RESET_PASSWORD
                )

            async def deliver_later() -> None:
                # Not awaited: a slow sender would tell which addresses have an account.
                await send_in_background(deliver)

            uow.after_commit(deliver_later)

    async def reset_password(self, token: str, new_password: str, ctx: RequestContext) -> None:
        """Set a new password with a reset token, and sign the user out everywhere.

        A rejected password leaves the token usable, so the person can try another.

        Raises:
            InvalidInput: the token is not valid (``/token``), or the password
                breaks the policy (``/new_password``, one error per problem).
        """
        async with self.service.store.unit_of_work(read_only=True) as uow:
            ids = IdentityRecords(self.service, uow, ctx)
            row = await ids.peek_one_time_token(token, RESET_PASSWORD)
            user = None if row is None else await ids.user(row["user"])
        if row is None or user is None or user["status"] != "active":
            raise _bad_token()
        problems = self.config.password_policy.problems(new_password, email=user["email"])
        if problems:
            raise InvalidInput(
                "the new password does not follow the password rules",
                errors=tuple(FieldError("/new_password", problem) for problem in problems),
            )
        password_hash = await self.accounts.hasher.hash(new_password)
        async with self.service.store.unit_of_work() as uow:
            ids = IdentityRecords(self.service, uow, ctx)
            redeemed = await ids.redeem_one_time_token(token, RESET_PASSWORD)
            user = None if redeemed is None else await ids.user(redeemed["user"], for_update=True)
            if redeemed is None or user is None or user["status"] != "active":
                raise _bad_token()
            if user["kind"] != "person":
                raise Forbidden("service accounts have no password to reset")
            now = ids.now
            await ids.save_credentials(
                user["id"], password_hash=password_hash, sessions_valid_after=now
            )
            await self._use_up_other_resets(ids, user["id"])
            await self.accounts.tokens.end_sessions(ids, user["id"])
            await ids.audit("password_reset", user=user["id"])
        if user["email"]:
            # The person proved they own the address: lift a lock from wrong guesses.
            await self.accounts.throttle.reset(f"account:{normalize_email(user['email'])}")

    async def _use_up_other_resets(self, ids: IdentityRecords, user_id: UUID) -> None:
        # A reset link that leaked earlier must not undo this reset.
        pending = await ids.find_all(ONE_TIME_TOKENS, user=user_id, purpose=RESET_PASSWORD)
        for other in pending:
            if other["used_at"] is None:
                await ids.records.update(ONE_TIME_TOKENS, other["id"], {"used_at": ids.now})


def _bad_token() -> InvalidInput:
    message = "the token is invalid, already used or expired; ask for a new one"
    return InvalidInput(message, errors=(FieldError("/token", message),))


def _duration(ttl: timedelta) -> str:
    seconds = int(ttl.total_seconds())
    if seconds % 86_400 == 0:
        days = seconds // 86_400
        return f"{days} day{'s' if days != 1 else ''}"
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = max(1, seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
