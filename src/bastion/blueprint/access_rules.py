"""Checks of the blueprint's access rules and of the identity resources it extends.

Each problem is ``(path, message, hint)``, like the other rule modules.
:func:`access_problems` runs on the blueprint as written (before the
identity resources are added); :func:`access_warnings` on the blueprint served.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator

from bastion.blueprint.access import ADMIN_ROLE, PSEUDO_ROLES
from bastion.blueprint.identity import (
    BUILTIN_USER_FIELDS,
    IDENTITY_RESOURCES,
    TENANT_FIELD,
    TENANTS,
    USERS,
)
from bastion.blueprint.model import BelongsTo, Blueprint, Resource

__all__ = ["access_problems", "access_warnings", "owner_field"]

Problem = tuple[str, str, str]
_ROLE_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


def owner_field(resource: Resource) -> str | None:
    """The resource's ``belongs_to users`` field marked ``owner: true``, if any."""
    for name, field in resource.fields.items():
        if isinstance(field, BelongsTo) and field.owner:
            return name
    return None


def access_problems(blueprint: Blueprint) -> Iterator[Problem]:
    """Every fatal problem of the access rules in ``blueprint`` as written."""
    declared = set(blueprint.auth.roles)
    yield from _role_declarations(blueprint)
    for key in ("default_roles", "mfa_required_roles"):
        for i, role in enumerate(getattr(blueprint.auth, key)):
            if role != ADMIN_ROLE:
                yield from _unknown_role(role, declared, f"auth.{key}.{i}", pseudo=False)
    for name, resource in blueprint.resources.items():
        path = f"resources.{name}"
        yield from _resource_problems(name, resource, declared, path)


def _role_declarations(blueprint: Blueprint) -> Iterator[Problem]:
    for role in blueprint.auth.roles:
        path = f"auth.roles.{role}"
        if role == ADMIN_ROLE or role in PSEUDO_ROLES:
            yield (
                path,
                f"'{role}' is built in and cannot be declared",
                f"remove it; {ADMIN_ROLE} may do everything, {' and '.join(PSEUDO_ROLES)} "
                "are pseudo-roles rules may name without declaring",
            )
        elif not _ROLE_NAME.fullmatch(role):
            yield (
                path,
                f"role name {role!r} is not a lowercase identifier",
                "write a-z, 0-9, _ and -, starting with a letter",
            )


def _unknown_role(role: str, declared: set[str], path: str, *, pseudo: bool) -> Iterator[Problem]:
    known = declared | set(PSEUDO_ROLES) if pseudo else declared
    if role == ADMIN_ROLE:
        yield (
            path,
            f"'{ADMIN_ROLE}' may do everything already and is never named in rules",
            f"remove '{ADMIN_ROLE}'",
        )
    elif role not in known:
        close = difflib.get_close_matches(role, sorted(known), n=1)
        yield (
            path,
            f"role '{role}' is not declared. Roles: {', '.join(sorted(known)) or 'none'}",
            f"write {close[0]}" if close else f"declare it under auth.roles: {{{role}: {{}}}}",
        )


def _resource_problems(
    name: str, resource: Resource, declared: set[str], path: str
) -> Iterator[Problem]:
    if resource.internal:
        yield (
            f"{path}.internal",
            "internal is kept for Bastion's own resources",
            "remove it (a resource nobody may call has access: {} and no routes)",
        )
    owner = owner_field(resource)
    owners = [n for n, f in resource.fields.items() if isinstance(f, BelongsTo) and f.owner]
    for field_name in owners[1:]:
        yield (
            f"{path}.fields.{field_name}.owner",
            f"'{name}' already has an owner field, '{owners[0]}'",
            "mark one belongs_to field as owner",
        )
    for field_name, field in resource.fields.items():
        field_path = f"{path}.fields.{field_name}"
        if isinstance(field, BelongsTo) and field.owner and field.resource != USERS:
            yield (
                f"{field_path}.owner",
                f"an owner field must refer to {USERS}, not {field.resource}",
                f"write resource: {USERS}, or remove owner",
            )
        for key in ("hidden_from", "read_only_for"):
            for i, role in enumerate(getattr(field, key)):
                yield from _unknown_role(role, declared, f"{field_path}.{key}.{i}", pseudo=True)
    for role, grant in (resource.access or {}).items():
        grant_path = f"{path}.access.{role}"
        yield from _unknown_role(role, declared, grant_path, pseudo=True)
        if grant.rows == "own" and owner is None and name not in (USERS, TENANTS):
            yield (
                f"{grant_path}.rows",
                f"rows: own needs an owner field on '{name}'",
                f"add e.g. author: {{type: belongs_to, resource: {USERS}, owner: true}}",
            )
    if resource.tenant_scoped:
        if name in (USERS, TENANTS):
            yield (
                f"{path}.tenant_scoped",
                f"{name} cannot be tenant_scoped: users carry their tenant, tenants are them",
                "remove tenant_scoped",
            )
        elif TENANT_FIELD in resource.fields:
            yield (
                f"{path}.fields.{TENANT_FIELD}",
                f"a tenant_scoped resource gets a '{TENANT_FIELD}' field of its own",
                f"remove the field, or rename it (e.g. {TENANT_FIELD}_name)",
            )
    if name == USERS:
        for field_name in resource.fields:
            if field_name in BUILTIN_USER_FIELDS:
                yield (
                    f"{path}.fields.{field_name}",
                    f"'{field_name}' is a built-in field of {USERS}",
                    f"remove it, or give yours another name (e.g. profile_{field_name})",
                )


def access_warnings(blueprint: Blueprint) -> Iterator[Problem]:
    """Doubtful but servable: resources with no access rules."""
    for name, resource in blueprint.served_resources().items():
        if resource.access is None and name not in IDENTITY_RESOURCES:
            yield (
                f"resources.{name}",
                "no access rules: the resource is open to anyone in development "
                "and admin-only in production",
                "add access: (e.g. access: {anyone: [list, read], member: all})",
            )
