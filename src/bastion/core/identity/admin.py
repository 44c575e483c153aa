"""What admins do to accounts: create users and service accounts, change roles,
status and tenant, invite people, read the audit trail and rotate signing keys.

Every call needs the ``admin`` role (and a credential not narrowed by scopes);
every change writes its auth event in the same transaction. A change of roles,
status or tenant ends the user's sessions (earlier access tokens and refresh
tokens), so they cannot keep rights they no longer have, nor skip what a new
sign-in asks of their new roles.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID

from bastion.blueprint.access import ADMIN_ROLE
from bastion.blueprint.identity import INVITATIONS, TENANTS, USERS
from bastion.core.context import RequestContext
from bastion.core.errors import Conflict, FieldError, InvalidInput, NotFound
from bastion.core.identity.admin_parts import (
    KEEP,
    OPERATOR,
    STATUSES,
    CreatedInvitation,
    CreatedServiceAccount,
    Keep,
    KeyRotator,
    Status,
    invitation_public,
    require_admin,
    revoke_refresh_tokens,
    user_changes,
)
from bastion.core.identity.audit_log import AuditPage, read_auth_events
from bastion.core.identity.config import IdentityConfig
from bastion.core.identity.opaque import new_opaque_token, token_digest
from bastion.core.identity.password_policy import PasswordPolicy
from bastion.core.identity.store import AccountMailer, IdentityRecords, normalize_email
from bastion.core.ids import parse_id
from bastion.core.ports import PasswordHasher, Row
from bastion.core.records import RecordService

__all__ = [
    "KEEP",
    "OPERATOR",
    "AdminService",
    "CreatedInvitation",
    "CreatedServiceAccount",
    "KeyRotator",
    "require_admin",
]


class AdminService:
    """Admin operations on accounts.

    Args:
        service: the record service (identity resources included).
        hasher: hashes passwords and client secrets.
        mailer: delivers invitations.
        policy: the rules new passwords follow.
        signer: rotates the token signing keys (``None``: rotation is unavailable).
        access_ttl: how long access tokens live (how long a cut-off must be kept).
        invitation_ttl: how long an invitation can be used.
    """

    def __init__(
        self,
        service: RecordService,
        *,
        hasher: PasswordHasher,
        mailer: AccountMailer,
        policy: PasswordPolicy | None = None,
        signer: KeyRotator | None = None,
        access_ttl: timedelta = timedelta(seconds=900),
        invitation_ttl: timedelta = timedelta(days=7),
    ) -> None:
        self.service = service
        self.hasher = hasher
        self.mailer = mailer
        self.policy = policy or PasswordPolicy()
        self.signer = signer
        self.access_ttl = access_ttl
        self.invitation_ttl = invitation_ttl

    @classmethod
    def configured(
        cls,
        service: RecordService,
        config: IdentityConfig,
        *,
        hasher: PasswordHasher,
        mailer: AccountMailer,
        signer: KeyRotator | None = None,
    ) -> AdminService:
        """An admin service with the lifetimes and password policy of ``config``."""
        return cls(
            service,
            hasher=hasher,
            mailer=mailer,
            policy=config.password_policy,
            signer=signer,
            access_ttl=config.access_ttl,
            invitation_ttl=config.invitation_ttl,
        )

    def _public_user(self, row: Row) -> Row:
        public: Row = self.service.validator(USERS).public(row)
        return public

    def check_roles(self, roles: Sequence[str], *, pointer: str = "/roles") -> list[str]:
        """``roles`` without duplicates, or ``InvalidInput`` pointing at each undeclared one."""
        declared = {ADMIN_ROLE, *self.service.blueprint.auth.roles}
        errors = [
            FieldError(
                f"{pointer}/{i}",
                f"unknown role {role!r}: use admin or one of auth.roles "
                f"({', '.join(sorted(declared))})",
            )
            for i, role in enumerate(roles)
            if role not in declared
        ]
        if errors:
            raise InvalidInput("the roles are not declared in the blueprint", errors=tuple(errors))
        return list(dict.fromkeys(roles))

    async def create_user(
        self,
        ctx: RequestContext,
        *,
        email: str,
        password: str | None = None,
        name: str | None = None,
        roles: Sequence[str] = (),
        tenant: UUID | None = None,
        email_verified: bool = False,
    ) -> Row:
        """Create a person's account; without a password they sign in after a reset.

        Raises:
            InvalidInput: a bad email, a password the policy refuses, an undeclared
                role or an unknown tenant (each with its pointer).
            Conflict: the email is taken.
        """
        require_admin(ctx)
        email = normalize_email(email)
        problems = [] if password is None else self.policy.problems(password, email=email)
        errors = tuple(FieldError("/password", problem) for problem in problems)
        try:
            chosen = self.check_roles(roles)
        except InvalidInput as exc:
            errors = exc.errors + errors
        if errors:
            raise InvalidInput("the user cannot be created as given", errors=errors)
        password_hash = await self.hasher.hash(password) if password is not None else None
        async with self.service.store.unit_of_work() as uow:
            records = IdentityRecords(self.service, uow, ctx)
            if await records.user_by_email(email) is not None:
                raise Conflict(f"a user with the email {email} already exists")
            values = {"email": email, "name": name, "roles": chosen, "tenant": tenant}
            row = await records.records.create(
                USERS, {**values, "kind": "person", "email_verified": email_verified}
            )
            if password_hash is not None:
                await records.save_credentials(row["id"], password_hash=password_hash)
            detail = {"roles": chosen, "tenant": str(tenant) if tenant else None}
            await records.audit("user_created", user=row["id"], detail=detail)
        return self._public_user(row)

    async def update_user(
        self,
        ctx: RequestContext,
        user_id: UUID,
        *,
        roles: Sequence[str] | None = None,
        status: Status | None = None,
        tenant: UUID | Keep | None = KEEP,
    ) -> Row:
        """Change a user's roles, status or tenant (``None``/:data:`KEEP`: unchanged).

        Any change ends the user's sessions: earlier access tokens and refresh tokens.

        Raises:
            NotFound: no such user.
            InvalidInput: an undeclared role, an unknown status or tenant.
        """
        require_admin(ctx)
        if status is not None and status not in STATUSES:
            raise InvalidInput(
                "unknown status",
                errors=(FieldError("/status", "must be 'active' or 'disabled'"),),
            )
        chosen = self.check_roles(roles) if roles is not None else None
        async with self.service.store.unit_of_work() as uow:
            records = IdentityRecords(self.service, uow, ctx)
            current = await records.user(user_id, for_update=True)
            if current is None:
                raise NotFound(f"there is no user with id {user_id}")
            patch, events = user_changes(current, chosen, status, tenant)
            if not patch:
                return self._public_user(current)
            row = await records.records.update(USERS, user_id, patch)
            for kind, detail in events:
                await records.audit(kind, user=user_id, detail=detail)
            await records.cut_off_sessions(user_id, until=records.now + self.access_ttl)
            await revoke_refresh_tokens(records, user_id)
        return self._public_user(row)

    async def create_service_account(
        self,
        ctx: RequestContext,
        *,
        name: str,
        roles: Sequence[str] = (),
        tenant: UUID | None = None,
    ) -> CreatedServiceAccount:
        """Create a service account (client credentials grant); the secret is shown once."""
        require_admin(ctx)
        chosen = self.check_roles(roles)
        if not name.strip():
            raise InvalidInput(
                "a service account needs a name", errors=(FieldError("/name", "must not be empty"),)
            )
        secret = new_opaque_token()
        secret_hash = await self.hasher.hash(secret)
        async with self.service.store.unit_of_work() as uow:
            records = IdentityRecords(self.service, uow, ctx)
            row = await records.records.create(
                USERS,
                {"kind": "service", "name": name.strip(), "roles": chosen, "tenant": tenant},
            )
            await records.save_credentials(row["id"], client_secret_hash=secret_hash)
            detail = {
                "name": name.strip(),
                "roles": chosen,
                "tenant": str(tenant) if tenant else None,
            }
            await records.audit("service_account_created", user=row["id"], detail=detail)
        return CreatedServiceAccount(self._public_user(row), secret)

    async def create_invitation(
        self,
        ctx: RequestContext,
        *,
        email: str,
        roles: Sequence[str] = (),
        tenant: UUID | None = None,
    ) -> CreatedInvitation:
        """Invite ``email`` to register with ``roles`` in ``tenant``; the token goes by mail.

        Raises:
            InvalidInput: an undeclared role or an unknown tenant.
            Conflict: a user with that email exists already.
        """
        require_admin(ctx)
        email = normalize_email(email)
        chosen = self.check_roles(roles)
        token = new_opaque_token()
        async with self.service.store.unit_of_work() as uow:
            records = IdentityRecords(self.service, uow, ctx)
            if tenant is not None and not await uow.exists(TENANTS, tenant):
                raise InvalidInput(
                    "the tenant does not exist",
                    errors=(FieldError("/tenant", f"there is no tenants record with id {tenant}"),),
                )
            if await records.user_by_email(email) is not None:
                raise Conflict(f"a user with the email {email} already exists")
            row = await records.records.create(
                INVITATIONS,
                {
                    "email": email,
                    "roles": chosen,
                    "tenant": tenant,
                    "token_hash": token_digest(token),
                    "invited_by": parse_id(ctx.actor) if ctx.actor else None,
                    "expires_at": records.now + self.invitation_ttl,
                },
            )
            detail = {"invitation": str(row["id"]), "email": email, "roles": chosen}
            await records.audit("invitation_created", detail=detail)
        name = self.service.blueprint.name
        await self.mailer.send(
            to=email,
            subject=f"You are invited to {name}",
            body=f"You are invited to join {name}. Register with this invitation code: {token}",
            purpose="invitation",
        )
        return CreatedInvitation(invitation_public(row), token)

    async def auth_events(
        self,
        ctx: RequestContext,
        *,
        user: UUID | None = None,
        kind: str | None = None,
        limit: int = 50,
        before: UUID | None = None,
    ) -> AuditPage:
        """A page of auth events, newest first; pass ``next_before`` back as ``before``."""
        require_admin(ctx)
        async with self.service.store.unit_of_work() as uow:
            return await read_auth_events(uow, user=user, kind=kind, limit=limit, before=before)

    async def rotate_signing_keys(self, ctx: RequestContext) -> str:
        """Sign new tokens with a new key (earlier tokens stay valid); its ``kid``."""
        require_admin(ctx)
        if self.signer is None:
            raise Conflict("this server has no key ring to rotate")
        kid = await self.signer.rotate()
        async with self.service.store.unit_of_work() as uow:
            records = IdentityRecords(self.service, uow, ctx)
            await records.audit("signing_key_rotated", detail={"kid": kid})
        return kid
