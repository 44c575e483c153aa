"""Feature flags in the blueprint: the ``flags`` section, and the checks of its rules.

A flag has a type, a default and rules; a resource or a field may be put
behind a boolean flag with ``flag:``::

    flags:
      new_checkout:
        type: boolean
        default: false
        description: The new checkout flow.
        rules:
          - roles: [staff]          # every staff member
            value: true
          - percentage: 25          # and a stable quarter of the other signed-in users
            value: true
      checkout_theme:
        type: string
        default: classic
        variants: [classic, dark]
        rules:
          - tenants: [0190b4f2-8c3a-7c4e-9f1a-2b3c4d5e6f70]
            value: dark

    resources:
      coupons:
        flag: new_checkout        # 404 for callers the flag is off for
        fields:
          code: {type: string}
          express: {type: boolean, flag: new_checkout}   # hidden while it is off

Rules are tried in order and the first that matches gives the value; a rule
matches when every condition it names holds (the caller has one of
``roles``, belongs to one of ``tenants``, is one of ``users``, falls in the
first ``percentage`` of the flag's buckets). No rule matching: ``default``.

Each check yields ``(path, message, hint)`` like the other rule modules;
:func:`value_problem` and :func:`rule_problems` are shared with the admin
API, which checks the overrides it is sent by the same rules.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Collection, Iterator
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bastion.blueprint.access import ADMIN_ROLE, ANYONE, AUTHENTICATED

if TYPE_CHECKING:
    from bastion.blueprint.model import Blueprint

__all__ = [
    "FLAG_TYPES",
    "FlagRule",
    "FlagSpec",
    "FlagType",
    "flag_problems",
    "flag_roles",
    "rule_problems",
    "value_problem",
]

FlagType = Literal["boolean", "string", "number"]
FLAG_TYPES: tuple[FlagType, ...] = ("boolean", "string", "number")
"""Every type a flag may have."""

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_MAX_NAME_LENGTH = 63

Problem = tuple[str, str, str]
"""(path, message, hint)"""
Finding = tuple[str, str]
"""(message, hint)"""


class _Spec(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, use_attribute_docstrings=True
    )


class FlagRule(_Spec):
    """One targeting rule: when every condition it names holds, the flag takes ``value``."""

    roles: list[str] | None = None
    """The caller holds one of these roles (declared roles, ``admin`` or ``authenticated``)."""
    tenants: list[str] | None = None
    """The caller belongs to one of these tenants (their ids)."""
    users: list[str] | None = None
    """The caller is one of these users (their ids)."""
    percentage: float | None = Field(default=None, strict=True)
    """The caller is in this share (0 to 100) of the flag's stable buckets; anonymous
    callers, who have no id to bucket, never are."""
    value: Any
    """The flag's value for callers this rule matches."""

    @property
    def conditions(self) -> tuple[str, ...]:
        """The conditions this rule names."""
        return tuple(
            key
            for key in ("roles", "tenants", "users", "percentage")
            if getattr(self, key) is not None
        )


class FlagSpec(_Spec):
    """A feature flag: its type, its value when no rule matches, and its rules."""

    type: FlagType
    """``boolean``, ``string`` or ``number``; resources and fields take boolean flags."""
    default: Any
    """The value when no rule matches (and while the flag is switched off)."""
    description: str | None = None
    """What the flag turns on, for operators."""
    variants: list[str] | None = None
    """For string flags: the values allowed (the default and every rule's value)."""
    rules: list[FlagRule] = Field(default_factory=list)
    """Tried in order; the first that matches gives the value."""


def flag_roles(blueprint: Blueprint) -> set[str]:
    """The roles flag rules may name: the declared ones, ``admin`` and ``authenticated``."""
    return {*blueprint.auth.roles, ADMIN_ROLE, AUTHENTICATED}


def value_problem(spec: FlagSpec, value: Any) -> Finding | None:
    """What is wrong with ``value`` as a value of the flag ``spec``, if anything."""
    match spec.type:
        case "boolean":
            if not isinstance(value, bool):
                return (f"{_show(value)} is not true or false", "write true or false")
        case "string":
            if not isinstance(value, str):
                return (f"{_show(value)} is not text", f'quote it: "{_unquoted(value)}"')
            if spec.variants is not None and value not in spec.variants:
                return (
                    f"'{value}' is not one of the variants: {', '.join(spec.variants)}",
                    f"write one of them, or add '{value}' to variants",
                )
        case "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                return (f"{_show(value)} is not a number", "write a number, e.g. 10 or 0.5")
            if not math.isfinite(value):
                return ("the value is not a finite number", "write a number, e.g. 10 or 0.5")
    return None


def rule_problems(spec: FlagSpec, rule: FlagRule, roles: Collection[str]) -> Iterator[Problem]:
    """What is wrong with one rule of ``spec``, as (key inside the rule, message, hint)."""
    if not rule.conditions:
        yield (
            "",
            "the rule names no condition, so it matches every caller",
            "add roles, tenants, users or percentage; or write its value as the flag's default",
        )
    for key in ("roles", "tenants", "users"):
        items: list[str] | None = getattr(rule, key)
        if items is not None and not items:
            yield (key, f"an empty {key} list matches nobody", f"list some {key}, or remove {key}")
    for i, role in enumerate(rule.roles or ()):
        if role == ANYONE:
            yield (
                f"roles.{i}",
                f"'{ANYONE}' matches every caller",
                "remove the rule and write its value as the flag's default",
            )
        elif role not in roles:
            close = difflib.get_close_matches(role, sorted(roles), n=1)
            yield (
                f"roles.{i}",
                f"role '{role}' is not declared. Roles: {', '.join(sorted(roles))}",
                f"write {close[0]}" if close else f"declare it under auth.roles: {{{role}: {{}}}}",
            )
    for key in ("tenants", "users"):
        for i, item in enumerate(getattr(rule, key) or ()):
            if not item.strip():
                yield (f"{key}.{i}", "an empty id matches nobody", "write an id, or remove it")
    percentage = rule.percentage
    if percentage is not None and not (math.isfinite(percentage) and 0 <= percentage <= 100):
        yield (
            "percentage",
            f"percentage {percentage:g} is out of range: it is a share of callers, 0 to 100",
            f"write percentage: {min(max(percentage, 0), 100):g}"
            if math.isfinite(percentage)
            else "write e.g. percentage: 10",
        )
    problem = value_problem(spec, rule.value)
    if problem is not None:
        yield ("value", f"the value {problem[0]}", problem[1])


def flag_problems(blueprint: Blueprint) -> Iterator[Problem]:
    """Every fatal problem of the flags in ``blueprint`` and of the ``flag`` keys naming them."""
    roles = flag_roles(blueprint)
    for name, spec in blueprint.flags.items():
        yield from _spec_problems(name, spec, roles)
    for resource_name, resource in blueprint.resources.items():
        path = f"resources.{resource_name}"
        if resource.flag is not None:
            yield from _reference_problems(blueprint, resource.flag, f"{path}.flag", "resource")
        for field_name, field in resource.fields.items():
            if field.flag is not None:
                field_path = f"{path}.fields.{field_name}.flag"
                yield from _reference_problems(blueprint, field.flag, field_path, "field")


def _spec_problems(name: str, spec: FlagSpec, roles: Collection[str]) -> Iterator[Problem]:
    path = f"flags.{name}"
    if not _NAME.fullmatch(name) or len(name) > _MAX_NAME_LENGTH:
        yield (
            path,
            f"flag name {name!r} is not a lowercase snake_case identifier of at most "
            f"{_MAX_NAME_LENGTH} characters",
            "write a-z, 0-9 and _, starting with a letter, e.g. new_checkout",
        )
    if spec.variants is not None:
        if spec.type != "string":
            yield (
                f"{path}.variants",
                f"variants list the values of string flags; this flag is a {spec.type}",
                "remove variants, or write type: string",
            )
        elif not spec.variants:
            yield (f"{path}.variants", "variants is empty", "list the values, or remove it")
        seen: set[str] = set()
        for i, variant in enumerate(spec.variants):
            if variant in seen:
                yield (f"{path}.variants.{i}", f"'{variant}' is listed twice", "list it once")
            seen.add(variant)
    problem = value_problem(spec, spec.default)
    if problem is not None:
        yield (f"{path}.default", f"the default {problem[0]} (type: {spec.type})", problem[1])
    for i, rule in enumerate(spec.rules):
        for key, message, hint in rule_problems(spec, rule, roles):
            yield (f"{path}.rules.{i}{'.' + key if key else ''}", message, hint)


def _reference_problems(blueprint: Blueprint, flag: str, path: str, kind: str) -> Iterator[Problem]:
    spec = blueprint.flags.get(flag)
    if spec is None:
        close = difflib.get_close_matches(flag, list(blueprint.flags), n=1)
        declared = ", ".join(blueprint.flags) or "none"
        yield (
            path,
            f"flag '{flag}' is not declared. Flags: {declared}",
            f"write flag: {close[0]}"
            if close
            else f"declare it under flags: {{{flag}: {{type: boolean, default: false}}}}",
        )
    elif spec.type != "boolean":
        yield (
            path,
            f"a {kind} can only be behind a boolean flag; '{flag}' is a {spec.type} flag",
            "name a boolean flag, or declare one for it",
        )


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f"'{value}'"
    return repr(value)


def _unquoted(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
