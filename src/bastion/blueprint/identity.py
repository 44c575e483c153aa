"""The built-in identity resources every blueprint gets.

``users`` and ``tenants`` are served like any resource (admins manage them;
a user reads and edits their own record), and the blueprint may extend
``users`` with fields of its own by declaring ``resources.users``. Bastion's
bookkeeping (credentials, refresh tokens, API keys, one-time tokens, signing
keys, revocations, the auth audit trail, feature flag overrides) lives in
``bastion_*`` resources marked ``internal``: stored and migrated like the
others, never served.

A resource declared ``tenant_scoped`` gets a read-only ``tenant`` field
referring to ``tenants``.

:func:`with_identity` adds all of this; it is idempotent, so a blueprint that
already has them (a migration snapshot) passes through unchanged.
"""

from __future__ import annotations

from typing import Any

from bastion.blueprint.access import ANYONE, AUTHENTICATED, RoleGrant
from bastion.blueprint.events import event_resources
from bastion.blueprint.model import (
    BelongsTo,
    Blueprint,
    BooleanField,
    CacheSpec,
    DateTimeField,
    EmailField,
    EnumField,
    IntegerField,
    JsonField,
    OnDelete,
    Resource,
    StringField,
    TextField,
    UuidField,
)

__all__ = [
    "API_KEYS",
    "AUTH_EVENTS",
    "BUILTIN_USER_FIELDS",
    "CREDENTIALS",
    "FLAGS",
    "IDENTITY_RESOURCES",
    "INVITATIONS",
    "ONE_TIME_TOKENS",
    "REFRESH_TOKENS",
    "REVOCATIONS",
    "SIGNING_KEYS",
    "TENANTS",
    "TENANT_FIELD",
    "USERS",
    "has_identity",
    "with_identity",
]

USERS = "users"
TENANTS = "tenants"
TENANT_FIELD = "tenant"
CREDENTIALS = "bastion_credentials"
REFRESH_TOKENS = "bastion_refresh_tokens"
API_KEYS = "bastion_api_keys"
ONE_TIME_TOKENS = "bastion_one_time_tokens"
INVITATIONS = "bastion_invitations"
SIGNING_KEYS = "bastion_signing_keys"
REVOCATIONS = "bastion_revocations"
AUTH_EVENTS = "bastion_auth_events"
FLAGS = "bastion_flags"

_EVERYONE_ELSE = [ANYONE]  # admins bypass field rules, so this means "only admins write it"


def _user_fields() -> dict[str, Any]:
    return {
        "email": EmailField(
            unique=True,
            filterable=True,
            sortable=True,
            read_only_for=_EVERYONE_ELSE,
            personal=True,
            description="Sign-in address (none for service accounts).",
        ),
        "name": StringField(
            max_length=200, filterable=True, personal=True, description="Display name."
        ),
        "kind": EnumField(
            values=["person", "service"],
            default="person",
            read_only=True,
            filterable=True,
            description="person (password) or service (client credentials).",
        ),
        "roles": JsonField(
            default=[],
            read_only_for=_EVERYONE_ELSE,
            description="Role names; only admins assign them.",
        ),
        TENANT_FIELD: BelongsTo(
            resource=TENANTS,
            filterable=True,
            read_only_for=_EVERYONE_ELSE,
            on_delete=OnDelete.RESTRICT,
            description="The user's tenant (the token's tenant claim).",
        ),
        "status": EnumField(
            values=["active", "disabled"],
            default="active",
            filterable=True,
            read_only_for=_EVERYONE_ELSE,
            description="Disabled users cannot sign in; tokens stop.",
        ),
        "email_verified": BooleanField(
            default=False, read_only=True, description="Set by the email verification flow."
        ),
        "mfa_enabled": BooleanField(
            default=False, read_only=True, description="Set by MFA enrolment."
        ),
    }


BUILTIN_USER_FIELDS: tuple[str, ...] = tuple(_user_fields())
"""Fields of ``users`` that Bastion defines; an extension may not redeclare them."""


def _owned_by_user(**fields: Any) -> dict[str, Any]:
    user = BelongsTo(resource=USERS, required=True, on_delete=OnDelete.CASCADE, filterable=True)
    return {"user": user, **fields}


def _internal_resources() -> dict[str, Resource]:
    def internal(fields: dict[str, Any], description: str, *, cached: bool = False) -> Resource:
        # Secrets (password hashes, private keys) never go to a shared cache.
        return Resource(
            fields=fields,
            internal=True,
            description=description,
            cache=CacheSpec(enabled=cached),
        )

    secret = StringField(max_length=512)
    digest = StringField(max_length=64, unique=True, filterable=True, required=True)
    return {
        CREDENTIALS: internal(
            _owned_by_user(
                password_hash=secret,
                client_secret_hash=secret,
                totp_secret=secret,
                totp_last_step=IntegerField(),
                recovery_codes=JsonField(default=[]),
                sessions_valid_after=DateTimeField(),
            ),
            "Password and MFA secrets (hashed or encrypted).",
        ),
        REFRESH_TOKENS: internal(
            _owned_by_user(
                family=UuidField(required=True, filterable=True),
                token_hash=digest,
                scopes=JsonField(default=[]),
                expires_at=DateTimeField(required=True),
                used_at=DateTimeField(),
                revoked_at=DateTimeField(),
            ),
            "Refresh tokens (hashed), one family per sign-in.",
        ),
        API_KEYS: internal(
            _owned_by_user(
                name=StringField(max_length=200, required=True),
                prefix=StringField(max_length=16, required=True, filterable=True),
                key_hash=digest,
                scopes=JsonField(default=[]),
                expires_at=DateTimeField(),
                last_used_at=DateTimeField(),
                revoked_at=DateTimeField(),
            ),
            "API keys for machines (hashed).",
        ),
        ONE_TIME_TOKENS: internal(
            _owned_by_user(
                purpose=EnumField(
                    values=["verify_email", "reset_password", "mfa_login"],
                    required=True,
                    filterable=True,
                ),
                token_hash=digest,
                expires_at=DateTimeField(required=True),
                used_at=DateTimeField(),
            ),
            "Single-use, time-limited tokens.",
        ),
        INVITATIONS: internal(
            {
                "email": EmailField(required=True, filterable=True),
                "roles": JsonField(default=[]),
                TENANT_FIELD: UuidField(),
                "token_hash": digest,
                "invited_by": UuidField(),
                "expires_at": DateTimeField(required=True),
                "used_at": DateTimeField(),
            },
            "Invitations to register.",
        ),
        SIGNING_KEYS: internal(
            {
                "kid": StringField(max_length=64, required=True, unique=True, filterable=True),
                "algorithm": StringField(max_length=16, required=True),
                "private_key": TextField(required=True),
                "public_jwk": JsonField(required=True),
                "retired_at": DateTimeField(),
            },
            "Token signing keys (private keys encrypted).",
        ),
        REVOCATIONS: internal(
            {
                "jti": StringField(max_length=128, required=True, unique=True, filterable=True),
                "issued_before": DateTimeField(),
                "expires_at": DateTimeField(required=True, filterable=True),
            },
            "Revoked access tokens and per-user cut-offs.",
            # Read on every authenticated request; a revocation invalidates it at once.
            cached=True,
        ),
        AUTH_EVENTS: internal(
            {
                "kind": StringField(max_length=64, required=True, filterable=True),
                "user": UuidField(filterable=True),
                "actor": UuidField(filterable=True),
                "ip": StringField(max_length=64),
                "request_id": StringField(max_length=128),
                "detail": JsonField(default={}),
            },
            "Audit trail of sign-ins and account changes.",
        ),
        FLAGS: internal(
            {
                "flag": StringField(max_length=63, required=True, unique=True, filterable=True),
                "default_value": JsonField(),
                "rules": JsonField(),
                "enabled": BooleanField(default=True),
                "updated_by": UuidField(),
            },
            "Feature flag overrides set by admins (null: as the blueprint says).",
            # Read before every request of a blueprint with flags; a change invalidates it.
            cached=True,
        ),
    }


IDENTITY_RESOURCES: tuple[str, ...] = (USERS, TENANTS, *_internal_resources(), *event_resources())
"""Every resource :func:`with_identity` adds."""


def _users(extension: Resource | None) -> Resource:
    own = {"authenticated": RoleGrant(actions=["read", "update"], rows="own")}
    fields = _user_fields()
    if extension is None:
        return Resource(fields=fields, access=own, description="People and services that sign in.")
    extra = {k: v for k, v in extension.fields.items() if k not in fields}
    return extension.model_copy(
        update={
            "fields": {**fields, **extra},
            "access": extension.access if extension.access is not None else own,
            "description": extension.description or "People and services that sign in.",
        }
    )


def _tenants(declared: Resource | None) -> Resource:
    fields = {"name": StringField(max_length=200, required=True, unique=True, filterable=True)}
    if declared is not None:
        extra = {k: v for k, v in declared.fields.items() if k not in fields}
        return declared.model_copy(
            update={
                "fields": {**fields, **extra},
                "access": declared.access
                if declared.access is not None
                else {AUTHENTICATED: RoleGrant(actions=["read"], rows="own")},
            }
        )
    return Resource(
        fields=fields,
        access={AUTHENTICATED: RoleGrant(actions=["read"], rows="own")},
        description="Organisations whose data is kept apart.",
    )


def _scoped(resource: Resource) -> Resource:
    if not resource.tenant_scoped or TENANT_FIELD in resource.fields:
        return resource
    field = BelongsTo(
        resource=TENANTS,
        read_only=True,
        filterable=True,
        on_delete=OnDelete.RESTRICT,
        description="The record's tenant (the creator's).",
    )
    return resource.model_copy(update={"fields": {**resource.fields, TENANT_FIELD: field}})


def has_identity(blueprint: Blueprint) -> bool:
    """Whether :func:`with_identity` already added the identity resources."""
    credentials = blueprint.resources.get(CREDENTIALS)
    return credentials is not None and credentials.internal


def with_identity(blueprint: Blueprint) -> Blueprint:
    """``blueprint`` with the identity resources added (unchanged if it has them)."""
    if has_identity(blueprint):
        return blueprint
    resources = {name: _scoped(r) for name, r in blueprint.resources.items()}
    resources[USERS] = _users(blueprint.resources.get(USERS))
    resources[TENANTS] = _tenants(blueprint.resources.get(TENANTS))
    resources.update(_internal_resources())
    resources.update(event_resources())
    copy = blueprint.model_copy(update={"resources": resources})
    return copy if blueprint.source is None else copy.with_source(blueprint.source)
