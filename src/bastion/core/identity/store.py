"""Reading and writing identity records inside one unit of work.

Identity data lives in ordinary blueprint resources (``users``, ``tenants``
and Bastion's internal ``bastion_*`` ones, see
:mod:`bastion.blueprint.identity`), so it is stored, migrated and cascaded
like any record. :class:`IdentityRecords` gives the flows the few typed
operations they need, all within the caller's transaction, so a change and
its audit event commit together.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from bastion.blueprint.identity import (
    AUTH_EVENTS,
    CREDENTIALS,
    ONE_TIME_TOKENS,
    REVOCATIONS,
    USERS,
)
from bastion.core.context import RequestContext
from bastion.core.identity.opaque import new_opaque_token, token_digest
from bastion.core.ids import parse_id
from bastion.core.ports import Row, UnitOfWork
from bastion.core.query import Filter, QuerySpec, SortKey
from bastion.core.records import RecordService, TransactionRecords

__all__ = ["AccountMailer", "IdentityRecords", "MailMessage", "normalize_email"]


def normalize_email(email: str) -> str:
    """The form emails are stored and looked up in: trimmed and lower-cased."""
    return email.strip().lower()


class MailMessage(Protocol):
    """What an :class:`AccountMailer` is given (see :class:`bastion.core.identity.mail`)."""


class AccountMailer(Protocol):
    """Delivers account emails (verification, password reset, invitation)."""

    async def send(self, *, to: str, subject: str, body: str, purpose: str) -> None:
        """Send one message; ``body`` already holds the link or token."""
        ...


class IdentityRecords:
    """Identity operations on one open unit of work.

    Args:
        service: the record service (its validators and cascades are reused).
        uow: the open transaction.
        ctx: who acts (recorded in audit events).
    """

    def __init__(self, service: RecordService, uow: UnitOfWork, ctx: RequestContext) -> None:
        self.service = service
        self.uow = uow
        self.ctx = ctx
        self.records = TransactionRecords(service, uow, ctx)

    @property
    def now(self) -> datetime:
        """The service clock's current time (UTC)."""
        return self.service.clock()

    async def find_one(self, resource: str, **equal: Any) -> Row | None:
        """The first record whose fields equal ``equal`` (use unique fields), or ``None``."""
        filters = tuple(Filter(name, "eq", value) for name, value in equal.items())
        rows = await self.uow.fetch_page(resource, QuerySpec(limit=1, filters=filters))
        return rows[0] if rows else None

    async def find_all(
        self, resource: str, *, limit: int = 1000, newest_first: bool = False, **equal: Any
    ) -> list[Row]:
        """Up to ``limit`` records whose fields equal ``equal``, in id (creation) order."""
        filters = tuple(Filter(name, "eq", value) for name, value in equal.items())
        spec = QuerySpec(
            limit=limit, filters=filters, sort=(SortKey("id", descending=newest_first),)
        )
        return (await self.uow.fetch_page(resource, spec))[:limit]

    async def user_by_email(self, email: str) -> Row | None:
        """The user with this email (case-insensitive), or ``None``."""
        return await self.find_one(USERS, email=normalize_email(email))

    async def user(self, user_id: UUID, *, for_update: bool = False) -> Row | None:
        """The user, or ``None``."""
        return await self.uow.fetch(USERS, user_id, for_update=for_update)

    async def credentials(self, user_id: UUID) -> Row | None:
        """The user's credentials row (password hash, MFA secret...), or ``None``."""
        return await self.find_one(CREDENTIALS, user=user_id)

    async def save_credentials(self, user_id: UUID, **values: Any) -> Row:
        """Create or update the user's credentials row with ``values``."""
        current = await self.credentials(user_id)
        if current is None:
            return await self.records.create(CREDENTIALS, {"user": user_id, **values})
        return await self.records.update(CREDENTIALS, current["id"], values)

    async def audit(
        self,
        kind: str,
        *,
        user: UUID | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append an auth event; ``detail`` must never hold secrets (passwords, tokens)."""
        actor = self.ctx.actor
        await self.records.create(
            AUTH_EVENTS,
            {
                "kind": kind,
                "user": user,
                # An external (OIDC) subject is no user id: the event keeps no actor then.
                "actor": parse_id(actor) if actor else None,
                "ip": self.ctx.client_ip,
                "request_id": self.ctx.request_id,
                "detail": detail or {},
            },
        )

    async def issue_one_time_token(
        self, user_id: UUID, purpose: str, *, expires_at: datetime
    ) -> str:
        """Create a single-use token for ``purpose``; returns the token (stored hashed)."""
        token = new_opaque_token()
        await self.records.create(
            ONE_TIME_TOKENS,
            {
                "user": user_id,
                "purpose": purpose,
                "token_hash": token_digest(token),
                "expires_at": expires_at,
            },
        )
        return token

    async def peek_one_time_token(self, token: str, purpose: str) -> Row | None:
        """The token's row if it is valid for ``purpose`` (unused, unexpired), without
        using it up; ``None`` otherwise."""
        row = await self.find_one(ONE_TIME_TOKENS, token_hash=token_digest(token))
        if row is None or row["purpose"] != purpose or row["used_at"] is not None:
            return None
        if row["expires_at"] <= self.now:
            return None
        return row

    async def redeem_one_time_token(self, token: str, purpose: str) -> Row | None:
        """Mark the token used and return its row, or ``None`` if it is unknown, of
        another purpose, used or expired (a token works once)."""
        row = await self.peek_one_time_token(token, purpose)
        if row is None:
            return None
        await self.records.update(ONE_TIME_TOKENS, row["id"], {"used_at": self.now})
        return row

    async def cut_off_sessions(self, user_id: UUID, *, until: datetime) -> None:
        """Make every access token of the user issued before now invalid.

        ``until`` is when the last such token expires (the row can go after it).
        """
        jti = f"user:{user_id}"
        current = await self.find_one(REVOCATIONS, jti=jti)
        values = {"jti": jti, "issued_before": self.now, "expires_at": until}
        if current is None:
            await self.records.create(REVOCATIONS, values)
        else:
            await self.records.update(REVOCATIONS, current["id"], values)

    async def revocations(self, jtis: Sequence[str]) -> list[Row]:
        """The revocation rows of these token ids (``user:<id>`` rows included)."""
        spec = QuerySpec(limit=len(jtis), filters=(Filter("jti", "in", tuple(jtis)),))
        return (await self.uow.fetch_page(REVOCATIONS, spec))[: len(jtis)]
