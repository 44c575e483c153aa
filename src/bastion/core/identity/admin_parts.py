"""The pieces the admin service is made of: who may act as an admin, what it
answers, and how a change to a user is worked out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol
from uuid import UUID

from bastion.blueprint.access import ADMIN_ROLE
from bastion.blueprint.identity import REFRESH_TOKENS
from bastion.core.context import RequestContext
from bastion.core.errors import Forbidden, NotAuthenticated
from bastion.core.identity.api_keys import ALL_SCOPES
from bastion.core.identity.store import IdentityRecords
from bastion.core.ports import Row

__all__ = [
    "KEEP",
    "OPERATOR",
    "OPERATOR_CREDENTIAL",
    "STATUSES",
    "CreatedInvitation",
    "CreatedServiceAccount",
    "Keep",
    "KeyRotator",
    "Status",
    "invitation_public",
    "require_admin",
    "revoke_refresh_tokens",
    "user_changes",
]


class Keep:
    """The type of :data:`KEEP`."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Final = Keep()
"""Leave the field as it is (``tenant=None`` removes the tenant)."""

OPERATOR_CREDENTIAL = "operator"
OPERATOR = RequestContext(
    roles=frozenset({ADMIN_ROLE}), credential=OPERATOR_CREDENTIAL, request_id="bastion-cli"
)
"""Whoever runs ``bastion users`` on the server: an admin with no account of their own.

No request ever carries this credential (the REST layer sets ``token``,
``api_key`` or ``external``), so only code running on the server can act as it."""

Status = Literal["active", "disabled"]
STATUSES = ("active", "disabled")


class KeyRotator(Protocol):
    """Whatever signs access tokens and can switch to a new key (the key ring)."""

    async def rotate(self) -> str:
        """Sign with a new key from now on; the new key's ``kid``."""
        ...


@dataclass(frozen=True, slots=True)
class CreatedServiceAccount:
    """A new service account: its user record and its client secret, shown once."""

    record: Row
    client_secret: str

    @property
    def client_id(self) -> str:
        """What the account sends as ``client_id`` (its user id)."""
        return str(self.record["id"])

    def as_json(self) -> Row:
        """The response body of the one answer that shows the secret."""
        return {"client_id": self.client_id, "client_secret": self.client_secret, **self.record}


@dataclass(frozen=True, slots=True)
class CreatedInvitation:
    """A new invitation: what clients may see of it, and the token the mail carries."""

    record: Row
    token: str


def require_admin(ctx: RequestContext) -> None:
    """Refuse callers without the admin role, or whose credential is narrowed by scopes.

    Raises:
        NotAuthenticated: anonymous caller.
        Forbidden: any other caller but an admin with full rights.
    """
    if ctx.credential == OPERATOR_CREDENTIAL and ctx.is_admin:
        return
    if ctx.is_anonymous:
        raise NotAuthenticated("sign in as an admin first", reason="missing")
    if not ctx.is_admin:
        raise Forbidden("this needs the admin role")
    if ctx.scopes is not None and ALL_SCOPES not in ctx.scopes:
        raise Forbidden("admin work needs a credential that is not narrowed by scopes")


def invitation_public(row: Row) -> Row:
    """What clients may see of an invitation: never its token digest."""
    keys = ("id", "email", "roles", "tenant", "invited_by", "expires_at", "created_at")
    return {key: row.get(key) for key in keys}


def user_changes(
    current: Row, roles: list[str] | None, status: str | None, tenant: UUID | Keep | None
) -> tuple[Row, list[tuple[str, dict[str, Any]]]]:
    """The patch to apply to ``current`` and the auth events (kind, detail) it makes."""
    patch: Row = {}
    events: list[tuple[str, dict[str, Any]]] = []
    if roles is not None and sorted(roles) != sorted(current["roles"] or []):
        patch["roles"] = roles
        events.append(("roles_changed", {"from": current["roles"] or [], "to": roles}))
    if status is not None and status != current["status"]:
        patch["status"] = status
        events.append(("status_changed", {"from": current["status"], "to": status}))
    if not isinstance(tenant, Keep) and tenant != current["tenant"]:
        patch["tenant"] = tenant
        before = str(current["tenant"]) if current["tenant"] else None
        events.append(("tenant_changed", {"from": before, "to": str(tenant) if tenant else None}))
    return patch, events


async def revoke_refresh_tokens(records: IdentityRecords, user_id: UUID) -> None:
    """Revoke every refresh token of the user that is not revoked yet."""
    for row in await records.find_all(REFRESH_TOKENS, limit=100_000, user=user_id):
        if row["revoked_at"] is None:
            await records.records.update(REFRESH_TOKENS, row["id"], {"revoked_at": records.now})
