"""API keys: long-lived bearer credentials for scripts and machines.

A key (``bst_...``) is shown once, when it is created; only its digest and
its lookup prefix are stored. A key acts as its user, narrowed to its
scopes: ``*`` (everything the user's roles allow) or ``<resource>:read`` /
``<resource>:write`` for the blueprint's served resources. A caller whose own
credential is narrowed cannot create a key wider than it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from bastion.blueprint.identity import API_KEYS
from bastion.core.context import RequestContext
from bastion.core.errors import FieldError, Forbidden, InvalidInput, NotAuthenticated, NotFound
from bastion.core.identity.opaque import new_api_key, token_digest
from bastion.core.identity.store import IdentityRecords
from bastion.core.ports import Row
from bastion.core.records import RecordService

__all__ = [
    "ALL_SCOPES",
    "ApiKeyService",
    "CreatedApiKey",
    "actor_id",
    "public_api_key",
    "scope_names",
]

ALL_SCOPES = "*"
"""The scope that allows everything the key's user may do."""

_PUBLIC_FIELDS = (
    "id",
    "user",
    "name",
    "prefix",
    "scopes",
    "expires_at",
    "last_used_at",
    "revoked_at",
    "created_at",
)
_NAME_MAX = 200
_Rows = list[Row]  # spelled here: inside ApiKeyService, ``list`` is the method
_Names = list[str]
_MAX_KEYS_LISTED = 1000


def scope_names(resources: Sequence[str]) -> list[str]:
    """Every scope a credential may carry for these resources, ``*`` first."""
    names = [ALL_SCOPES]
    for resource in resources:
        names += [f"{resource}:read", f"{resource}:write"]
    return names


def public_api_key(row: Row) -> Row:
    """What a client may see of a stored key: never its digest."""
    return {name: row.get(name) for name in _PUBLIC_FIELDS}


def actor_id(ctx: RequestContext) -> UUID:
    """The caller's user id; ``NotAuthenticated`` for anonymous callers."""
    if ctx.actor is None:
        raise NotAuthenticated("sign in first: this needs a bearer token", reason="missing")
    try:
        return UUID(ctx.actor)
    except ValueError:
        # External (OIDC) subjects are not Bastion users and own no keys.
        raise Forbidden("only Bastion users and service accounts have API keys") from None


@dataclass(frozen=True, slots=True)
class CreatedApiKey:
    """A key just created: its stored row (as clients see it) and the key, shown once."""

    record: Row
    key: str

    def as_json(self) -> Row:
        """The record with the key added, for the one response that shows it."""
        return {**self.record, "key": self.key}


class ApiKeyService:
    """Creates, lists and revokes API keys; every change is audited.

    Args:
        service: the record service of the blueprint (identity resources included).
    """

    def __init__(self, service: RecordService) -> None:
        self.service = service
        self.scopes = frozenset(scope_names(sorted(service.blueprint.served_resources())))

    def check_scopes(self, scopes: Sequence[str], *, pointer: str = "/scopes") -> _Names:
        """``scopes`` without duplicates, or ``InvalidInput`` pointing at each unknown one."""
        errors = [
            FieldError(
                f"{pointer}/{i}",
                f"unknown scope {scope!r}: use '*' or '<resource>:read' / '<resource>:write' "
                "for a served resource",
            )
            for i, scope in enumerate(scopes)
            if scope not in self.scopes
        ]
        if errors:
            raise InvalidInput("the API key names scopes that do not exist", errors=tuple(errors))
        return list(dict.fromkeys(scopes))

    async def create(
        self,
        ctx: RequestContext,
        *,
        name: str,
        scopes: Sequence[str] | None = None,
        expires_at: datetime | None = None,
        expires_in: int | None = None,
        user: UUID | None = None,
    ) -> CreatedApiKey:
        """Create a key for the caller, or (admins only) for ``user``.

        Args:
            ctx: who asks.
            name: what the key is for (shown in listings).
            scopes: what the key may do; omitted: what the caller's credential may do.
            expires_at: when the key stops working (aware datetime); or
            expires_in: seconds from now. Neither: the key does not expire.
            user: the key's user (another user than the caller needs the admin role).

        Raises:
            NotAuthenticated: anonymous caller.
            Forbidden: a key for another user without the admin role, or wider
                scopes than the caller's own credential has.
            InvalidInput: bad name, scopes, expiry, or an unknown user.
        """
        caller = actor_id(ctx)
        owner = user or caller
        if owner != caller and not ctx.is_admin:
            raise Forbidden("only admins create API keys for other users")
        chosen = self._narrowed(ctx, scopes)
        expiry = self._expiry(expires_at, expires_in)
        name = _checked_name(name)
        key, prefix = new_api_key()
        async with self.service.store.unit_of_work() as uow:
            records = IdentityRecords(self.service, uow, ctx)
            if await records.user(owner) is None:
                raise InvalidInput(
                    "the API key's user does not exist",
                    errors=(FieldError("/user", f"there is no user with id {owner}"),),
                )
            row = await records.records.create(
                API_KEYS,
                {
                    "user": owner,
                    "name": name,
                    "prefix": prefix,
                    "key_hash": token_digest(key),
                    "scopes": chosen,
                    "expires_at": expiry,
                },
            )
            await records.audit(
                "api_key_created",
                user=owner,
                detail={"api_key": str(row["id"]), "prefix": prefix, "name": name},
            )
        return CreatedApiKey(public_api_key(row), key)

    async def list(
        self, ctx: RequestContext, *, user: UUID | None = None, everyone: bool = False
    ) -> _Rows:
        """The caller's keys; admins may ask for ``user``'s or (``everyone``) all keys.

        Newest first; revoked and expired keys included (they show why a key stopped).
        """
        caller = actor_id(ctx)
        if (everyone or (user is not None and user != caller)) and not ctx.is_admin:
            raise Forbidden("only admins list other users' API keys")
        async with self.service.store.unit_of_work() as uow:
            records = IdentityRecords(self.service, uow, ctx)
            equal: dict[str, Any] = {} if everyone else {"user": user or caller}
            rows = await records.find_all(
                API_KEYS, limit=_MAX_KEYS_LISTED, newest_first=True, **equal
            )
        return [public_api_key(row) for row in rows]

    async def revoke(self, ctx: RequestContext, key_id: UUID) -> Row:
        """Revoke a key of the caller's (any key, for admins); revoking twice is harmless.

        Raises:
            NotAuthenticated: anonymous caller.
            NotFound: no such key, or it belongs to someone else and the caller is no admin.
        """
        caller = actor_id(ctx)
        async with self.service.store.unit_of_work() as uow:
            records = IdentityRecords(self.service, uow, ctx)
            row = await uow.fetch(API_KEYS, key_id, for_update=True)
            if row is None or (row["user"] != caller and not ctx.is_admin):
                raise NotFound(f"there is no API key with id {key_id}")
            if row["revoked_at"] is None:
                row = await records.records.update(API_KEYS, key_id, {"revoked_at": records.now})
                await records.audit(
                    "api_key_revoked",
                    user=row["user"],
                    detail={"api_key": str(key_id), "prefix": row["prefix"], "name": row["name"]},
                )
        return public_api_key(row)

    def _narrowed(self, ctx: RequestContext, scopes: Sequence[str] | None) -> _Names:
        held = ctx.scopes
        if scopes is None:
            return sorted(held) if held is not None and ALL_SCOPES not in held else []
        chosen = self.check_scopes(scopes)
        if held is not None and ALL_SCOPES not in held:
            wider = [s for s in chosen if s not in held]
            if wider:
                raise Forbidden(
                    "an API key cannot do more than the credential creating it: "
                    f"{', '.join(wider)} not granted"
                )
        return chosen

    def _expiry(self, expires_at: datetime | None, expires_in: int | None) -> datetime | None:
        now = self.service.clock()
        if expires_at is not None and expires_in is not None:
            raise InvalidInput(
                "give expires_at or expires_in, not both",
                errors=(FieldError("/expires_in", "leave out when expires_at is given"),),
            )
        if expires_in is not None:
            if expires_in <= 0:
                raise InvalidInput(
                    "expires_in must be positive",
                    errors=(FieldError("/expires_in", "must be a positive number of seconds"),),
                )
            return now + timedelta(seconds=expires_in)
        if expires_at is not None and (expires_at.tzinfo is None or expires_at <= now):
            raise InvalidInput(
                "expires_at must be a future date-time with a time zone",
                errors=(FieldError("/expires_at", "must be in the future, with an offset"),),
            )
        return expires_at


def _checked_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > _NAME_MAX:
        raise InvalidInput(
            "the API key needs a name",
            errors=(FieldError("/name", f"must be 1 to {_NAME_MAX} characters"),),
        )
    return name
