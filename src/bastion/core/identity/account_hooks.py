"""Built-in hooks on ``users`` and ``tenants``: every change is audited, whatever route made it.

An admin may change users and tenants through the generic resource routes
(``PATCH /v1/users/{id}``, ``DELETE /v1/tenants/{id}``) as well as through the
admin API. These hooks run in the write's own transaction, so the audit event
commits with the change, and a change of a user's roles, status or tenant
also ends their sessions: access tokens issued before it (they carry the old claims)
stop, and so do their refresh tokens.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bastion.blueprint.identity import TENANTS, USERS
from bastion.core.hooks import HookEvent, HookFunction, HookMoment, Hooks
from bastion.core.identity.admin_parts import revoke_refresh_tokens
from bastion.core.identity.store import IdentityRecords

__all__ = ["CLAIM_FIELDS", "register_account_hooks"]

CLAIM_FIELDS = frozenset({"roles", "status", "tenant"})
"""User fields that access tokens carry: changing one ends the user's sessions."""

_UNTRACKED = frozenset({"version", "updated_at"})


def _records(event: HookEvent) -> IdentityRecords:
    return IdentityRecords(event.records.service, event.records.unit_of_work, event.context)


def _changed(event: HookEvent) -> list[str]:
    previous = event.previous or {}
    return sorted(
        name
        for name, value in event.record.items()
        if name not in _UNTRACKED and previous.get(name) != value
    )


def register_account_hooks(hooks: Hooks, *, access_ttl: timedelta) -> None:
    """Add the audit and session hooks to ``hooks`` (the application's registry).

    Args:
        hooks: the registry the record service runs.
        access_ttl: the access token lifetime (how long a cut-off must be kept).
    """

    @hooks.after_update(USERS)
    async def user_updated(event: HookEvent) -> None:
        changed = _changed(event)
        if not changed:
            return
        records = _records(event)
        user_id = event.record["id"]
        if CLAIM_FIELDS.intersection(changed):
            # Sessions end: a refresh token kept from before would skip what a new
            # sign-in checks for the new roles (MFA enrolment).
            await records.cut_off_sessions(user_id, until=records.now + access_ttl)
            await revoke_refresh_tokens(records, user_id)
        await records.audit("user_updated", user=user_id, detail={"fields": changed})

    @hooks.before_delete(USERS)
    async def user_deleted(event: HookEvent) -> None:
        records = _records(event)
        user_id = event.record["id"]
        await records.cut_off_sessions(user_id, until=records.now + access_ttl)
        await records.audit("user_deleted", user=user_id, detail=_who(event.record))

    tenant_events: tuple[tuple[HookMoment, str], ...] = (
        ("after_create", "tenant_created"),
        ("after_update", "tenant_updated"),
        ("after_delete", "tenant_deleted"),
    )
    for moment, kind in tenant_events:
        hooks.on(moment, TENANTS)(_tenant_audit(kind))


def _tenant_audit(kind: str) -> HookFunction:
    async def audit(event: HookEvent) -> None:
        detail: dict[str, Any] = {"tenant": str(event.record["id"]), "name": event.record["name"]}
        if kind == "tenant_updated":
            detail["fields"] = _changed(event)
        await _records(event).audit(kind, detail=detail)

    return audit


def _who(user: dict[str, Any]) -> dict[str, Any]:
    return {"kind": user.get("kind")}
