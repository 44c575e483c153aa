"""Access rules in the blueprint: roles, what each may do, and the ``auth`` section.

A resource's ``access`` maps a role to the actions it may take and the rows
it may touch::

    resources:
      notes:
        fields:
          author: {type: belongs_to, resource: users, owner: true}
        access:
          anyone: [list, read]                 # everyone, signed in or not
          member: {actions: all, rows: own}    # members change only their own notes
          staff: all

Two pseudo-roles exist besides the declared ones: ``anyone`` (every caller,
anonymous included) and ``authenticated`` (every signed-in user or service).
The built-in ``admin`` role may do everything everywhere and is never named
in rules. A resource without ``access`` is open in development and
admin-only in production.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "ACTIONS",
    "ADMIN_ROLE",
    "ANYONE",
    "AUTHENTICATED",
    "PSEUDO_ROLES",
    "Action",
    "AuthSpec",
    "Registration",
    "RoleGrant",
    "RoleSpec",
]

Action = Literal["list", "read", "create", "update", "delete"]
ACTIONS: tuple[Action, ...] = ("list", "read", "create", "update", "delete")
"""Every action a rule can grant, in the order the documentation lists them."""

ADMIN_ROLE = "admin"
"""The built-in role that may do everything; it needs no rules."""
ANYONE = "anyone"
"""Pseudo-role: every caller, signed in or not."""
AUTHENTICATED = "authenticated"
"""Pseudo-role: every signed-in user or service account."""
PSEUDO_ROLES: tuple[str, ...] = (ANYONE, AUTHENTICATED)

Registration = Literal["open", "invite_only", "closed"]


class _Spec(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, use_attribute_docstrings=True
    )


class RoleGrant(_Spec):
    """What one role may do on a resource.

    Written in full (``{actions: [list, read], rows: own}``), as a list of
    actions (``[list, read]``) or as ``all``.
    """

    actions: list[Action] | Literal["all"] = "all"
    """The actions granted: a list, or ``all``."""
    rows: Literal["all", "own"] = "all"
    """``own``: only records whose owner field is the caller (on ``users``, the
    caller's own record; on ``tenants``, the caller's tenant)."""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, list | str):
            return {"actions": value}
        return value

    def allows(self, action: Action) -> bool:
        """Whether the grant includes ``action``."""
        return self.actions == "all" or action in self.actions


class RoleSpec(_Spec):
    """A role the blueprint's rules may name."""

    description: str | None = None


class AuthSpec(_Spec):
    """How people and machines sign in, and the roles the rules use."""

    roles: dict[str, RoleSpec] = Field(default_factory=dict)
    """Roles besides ``admin``; every role an ``access`` rule names must be declared here."""
    registration: Registration = "open"
    """``open`` (anyone may register), ``invite_only`` (with an invitation from an
    admin) or ``closed`` (admins create accounts)."""
    default_roles: list[str] = Field(default_factory=list)
    """Roles a newly registered user gets."""
    mfa_required_roles: list[str] = Field(default_factory=list)
    """Users holding one of these roles must enrol in MFA before they get a token."""

    @model_validator(mode="before")
    @classmethod
    def _role_list(cls, value: Any) -> Any:
        # ``roles: [member, staff]`` is the short form of a mapping without descriptions.
        if isinstance(value, dict) and isinstance(value.get("roles"), list):
            return {**value, "roles": {name: {} for name in value["roles"]}}
        return value
