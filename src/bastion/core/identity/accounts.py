"""Accounts: registering, the caller's own account, changing the password, deleting it.

Sign-in (the token endpoint's grants) comes from :class:`~bastion.core.identity.grants.SignIn`,
which :class:`AccountService` extends. Every flow writes its auth event in the
unit of work of its change.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from bastion.blueprint.identity import INVITATIONS, USERS
from bastion.core.context import RequestContext
from bastion.core.errors import (
    FieldError,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
)
from bastion.core.identity.grants import SignIn
from bastion.core.identity.opaque import token_digest
from bastion.core.identity.store import IdentityRecords, normalize_email
from bastion.core.identity.tokens import TokenPair
from bastion.core.ports import Row

__all__ = ["VERIFY_EMAIL", "AccountService"]

VERIFY_EMAIL = "verify_email"
"""The purpose of email verification tokens."""

_WRONG_PASSWORD = "the password is wrong"


def _text(body: dict[str, Any], name: str, errors: list[FieldError], *, required: bool) -> str:
    value = body.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        errors.append(FieldError(f"/{name}", "must be a non-empty string"))
        return ""
    return value


def _fields(body: Any, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> list[str]:
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    errors: list[FieldError] = []
    values = [_text(body, name, errors, required=True) for name in required]
    values += [_text(body, name, errors, required=False) for name in optional]
    unknown = sorted(set(body) - set(required) - set(optional))
    errors += [FieldError(f"/{name}", "is not a known field") for name in unknown]
    if errors:
        raise InvalidInput("the body has invalid fields", errors=tuple(errors))
    return values


def _signed_in(ctx: RequestContext) -> UUID:
    if ctx.actor is None or ctx.credential != "token":
        raise NotAuthenticated("sign in first: this needs one of Bastion's access tokens")
    return UUID(ctx.actor)


class AccountService(SignIn):
    """Account flows and sign-in grants (see :class:`~bastion.core.identity.grants.SignIn`
    for the arguments)."""

    def _check_new_password(self, password: str, email: str | None, pointer: str) -> None:
        problems = self.config.password_policy.problems(password, email=email)
        if problems:
            raise InvalidInput(
                "the password does not meet the password rules",
                errors=tuple(FieldError(pointer, problem) for problem in problems),
            )

    async def register(self, body: Any, ctx: RequestContext) -> Row:
        """Create a person's account from ``{email, password, name?, invitation?}``.

        The registration mode (settings) decides who may: ``open`` anyone,
        ``invite_only`` holders of a valid invitation for that email, ``closed``
        no one. New users get the blueprint's default roles plus the
        invitation's roles and tenant; a verification email is sent once the
        account is committed.

        Raises:
            Forbidden: Registration is closed, or the invitation is missing or invalid.
            InvalidInput: A bad field, or a password that breaks the password policy.
            UniqueViolation: The email address already has an account (409).
        """
        email, password, name, invitation = _fields(
            body, ("email", "password"), ("name", "invitation")
        )
        mode = self.config.registration
        if mode == "closed":
            raise Forbidden("registration is closed: an administrator creates accounts")
        if mode == "invite_only" and not invitation:
            raise Forbidden("registration is by invitation: send the invitation token")
        address = normalize_email(email)
        self._check_new_password(password, address, "/password")
        password_hash = await self.hasher.hash(password)
        async with self.service.store.unit_of_work() as uow:
            records = IdentityRecords(self.service, uow, ctx)
            roles = list(self.service.blueprint.auth.default_roles)
            tenant = None
            if invitation:
                invited = await self._redeem_invitation(records, invitation, address)
                roles += [role for role in invited["roles"] or [] if role not in roles]
                tenant = invited["tenant"]
            values: dict[str, Any] = {"email": address, "roles": roles, "kind": "person"}
            if name:
                values["name"] = name
            if tenant is not None:
                values["tenant"] = tenant
            user = await records.records.create(USERS, values)
            await records.save_credentials(user["id"], password_hash=password_hash)
            await self.send_verification(records, user)
            await records.audit("register", user=user["id"])
        return self.service.validator(USERS).public(user)

    async def _redeem_invitation(self, records: IdentityRecords, token: str, email: str) -> Row:
        row = await records.find_one(INVITATIONS, token_hash=token_digest(token))
        if (
            row is None
            or row["used_at"] is not None
            or row["expires_at"] <= records.now
            or normalize_email(row["email"]) != email
        ):
            raise Forbidden("the invitation is invalid, used, expired or for another address")
        await records.records.update(INVITATIONS, row["id"], {"used_at": records.now})
        return row

    async def send_verification(self, records: IdentityRecords, user: Row) -> None:
        """Issue an email verification token in ``records``' transaction and mail it
        once that commits."""
        email = user["email"]
        expires_at = records.now + self.config.verify_email_ttl
        token = await records.issue_one_time_token(user["id"], VERIFY_EMAIL, expires_at=expires_at)
        body = (
            f"Confirm your email address with this code:\n\n{token}\n\n"
            "If you did not create an account, ignore this message."
        )

        async def deliver() -> None:
            await self.mailer.send(
                to=email, subject="Confirm your email address", body=body, purpose=VERIFY_EMAIL
            )

        records.uow.after_commit(deliver)

    async def me(self, ctx: RequestContext) -> Row:
        """The caller's own user record (for an external token: what the token says).

        Raises:
            NotAuthenticated: The caller is anonymous or their account is gone.
        """
        if ctx.actor is None:
            raise NotAuthenticated("sign in first")
        if ctx.credential == "external":
            return {
                "id": ctx.actor,
                "roles": sorted(ctx.roles),
                "tenant": ctx.tenant,
                "external": True,
            }
        async with self.service.store.unit_of_work(read_only=True) as uow:
            user = await IdentityRecords(self.service, uow, ctx).user(UUID(ctx.actor))
        if user is None:
            raise NotAuthenticated("the account no longer exists")
        return self.service.validator(USERS).public(user)

    async def _prove_password(self, user_id: UUID, password: str, ctx: RequestContext) -> Row:
        async with self.service.store.unit_of_work(read_only=True) as uow:
            records = IdentityRecords(self.service, uow, ctx)
            user = await records.user(user_id)
            creds = await records.credentials(user_id)
        if user is None:
            raise NotAuthenticated("the account no longer exists")
        keys = self._keys(user["email"] or "", ctx)
        await self._refuse_if_locked(keys)
        stored = None if creds is None else creds.get("password_hash")
        if not stored or not await self.hasher.verify(stored, password):
            await self._count_failure(keys)
            await self._audit_failure(ctx, "login_failed", user, {"reason": "wrong_password"})
            raise InvalidInput(_WRONG_PASSWORD, errors=(FieldError("/password", _WRONG_PASSWORD),))
        return user

    async def change_password(
        self, ctx: RequestContext, current_password: str, new_password: str
    ) -> TokenPair:
        """Replace the caller's password; every other session ends, and a fresh pair
        for this one is returned.

        Raises:
            NotAuthenticated: The caller has no access token.
            InvalidInput: The current password is wrong, or the new one breaks the policy.
            TooManyAttempts: Too many wrong current passwords.
        """
        user_id = _signed_in(ctx)
        try:
            user = await self._prove_password(user_id, current_password, ctx)
        except InvalidInput:
            pointer = "/current_password"
            raise InvalidInput(
                _WRONG_PASSWORD, errors=(FieldError(pointer, _WRONG_PASSWORD),)
            ) from None
        self._check_new_password(new_password, user["email"], "/new_password")
        password_hash = await self.hasher.hash(new_password)
        async with self.service.store.unit_of_work() as uow:
            records = IdentityRecords(self.service, uow, ctx)
            await records.save_credentials(user_id, password_hash=password_hash)
            await self.tokens.end_sessions(records, user_id)
            await records.audit("password_changed", user=user_id)
            amr = ["pwd", "otp"] if user["mfa_enabled"] else ["pwd"]
            pair = await self.tokens.issue(records, user, amr=amr)
        return pair

    async def delete_account(self, ctx: RequestContext, password: str) -> None:
        """Delete the caller's account (and, by cascade, their credentials, tokens
        and keys) after checking their password; their tokens stop working at once.

        Raises:
            NotAuthenticated: The caller has no access token.
            InvalidInput: The password is wrong.
            DeleteRestricted: Records of the blueprint still refer to the user (409).
        """
        user_id = _signed_in(ctx)
        await self._prove_password(user_id, password, ctx)
        async with self.service.store.unit_of_work() as uow:
            records = IdentityRecords(self.service, uow, ctx)
            await records.cut_off_sessions(user_id, until=records.now + self.config.access_ttl)
            await records.audit("account_deleted", user=user_id)
            await records.records.delete(USERS, user_id)
