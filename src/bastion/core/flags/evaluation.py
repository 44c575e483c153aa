"""Evaluating a flag for one caller: pure, no I/O, the same answer in every process.

A :class:`Flag` is a flag as it is in force (the blueprint's definition with
an admin's override applied), compiled once; :meth:`Flag.evaluate` takes a
:class:`Subject` (user id, roles, tenant) and returns an :class:`Evaluation`:
the value and why.

- The flag is switched off (an override with ``enabled: false``): its
  default, reason ``DISABLED``.
- It has no rules: its default, reason ``STATIC``.
- Rules are tried in order; the first whose conditions all hold gives its
  value: reason ``SPLIT`` when the rule has a ``percentage``,
  ``TARGETING_MATCH`` otherwise.
- No rule holds: the default, reason ``DEFAULT``.

A rule's ``roles`` match a caller holding any of them (signed-in callers
also hold ``authenticated``); ``tenants`` the caller's tenant; ``users`` the
caller's id; ``percentage`` callers whose stable bucket
(:mod:`bastion.core.flags.bucketing`) is below it. Anonymous callers have no
id: ``users`` and ``percentage`` rules never match them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bastion.blueprint.access import AUTHENTICATED
from bastion.blueprint.flags import FlagRule, FlagType
from bastion.core.context import RequestContext
from bastion.core.flags.bucketing import bucket, in_percentage

__all__ = ["Evaluation", "Flag", "FlagValue", "Reason", "Subject"]

FlagValue = bool | str | int | float
"""What a flag evaluates to: ``boolean``, ``string`` or ``number`` flags' values."""


class Reason(StrEnum):
    """Why a flag has its value (OpenFeature's resolution reasons)."""

    STATIC = "STATIC"
    """The flag has no rules: everyone gets its default."""
    TARGETING_MATCH = "TARGETING_MATCH"
    """A rule naming roles, tenants or users matched."""
    SPLIT = "SPLIT"
    """A percentage rule matched: the caller is in its share of the buckets."""
    DEFAULT = "DEFAULT"
    """The flag has rules, and none matched."""
    DISABLED = "DISABLED"
    """An admin switched the flag off: everyone gets its default."""


@dataclass(frozen=True, slots=True)
class Subject:
    """Whom a flag is evaluated for."""

    user: str | None = None
    """The user or service account id (the targeting key); ``None`` when anonymous."""
    roles: frozenset[str] = frozenset()
    """The caller's roles, with ``authenticated`` for every signed-in caller."""
    tenant: str | None = None

    @classmethod
    def of(
        cls, user: str | None = None, roles: Iterable[str] = (), tenant: str | None = None
    ) -> Subject:
        """The subject with these attributes (``authenticated`` added when ``user`` is set)."""
        held = frozenset(roles)
        if user is not None:
            held |= {AUTHENTICATED}
        return cls(user, held, tenant)

    @classmethod
    def of_context(cls, ctx: RequestContext) -> Subject:
        """The caller of ``ctx``."""
        return cls.of(ctx.actor, ctx.roles, ctx.tenant)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """A flag's value for one subject, and why it has it."""

    value: FlagValue
    reason: Reason
    rule: int | None = None
    """The position of the rule that matched, if one did."""

    @property
    def variant(self) -> str:
        """The value as a name (JSON text: ``true``, ``dark``, ``2.5``)."""
        return self.value if isinstance(self.value, str) else json.dumps(self.value)

    def as_json(self) -> dict[str, Any]:
        """What the admin API answers for it."""
        return {
            "value": self.value,
            "reason": self.reason.value,
            "variant": self.variant,
            "rule": self.rule,
        }


@dataclass(frozen=True, slots=True)
class _Rule:
    roles: frozenset[str] | None
    tenants: frozenset[str] | None
    users: frozenset[str] | None
    percentage: float | None
    matched: Evaluation
    """What the rule answers when it matches (built once)."""


def _set(items: Sequence[str] | None) -> frozenset[str] | None:
    return None if items is None else frozenset(items)


class Flag:
    """A flag in force (the blueprint's definition, an admin's override applied), compiled
    once for evaluation.

    Args:
        name: the flag's name (part of every bucket's input).
        type: ``boolean``, ``string`` or ``number``.
        default: the value when no rule matches; settings already checked.
        rules: tried in order.
        enabled: ``False`` switches the flag off: everyone gets ``default``.
    """

    __slots__ = ("_fallback", "_rules", "default", "enabled", "name", "rules", "type")

    def __init__(
        self,
        name: str,
        type: FlagType,
        default: FlagValue,
        rules: Sequence[FlagRule] = (),
        *,
        enabled: bool = True,
    ) -> None:
        self.name = name
        self.type = type
        self.default = default
        self.rules = tuple(rules)
        self.enabled = enabled
        self._rules = tuple(
            _Rule(
                roles=_set(rule.roles),
                tenants=_set(rule.tenants),
                users=_set(rule.users),
                percentage=rule.percentage,
                matched=Evaluation(
                    rule.value,
                    Reason.SPLIT if rule.percentage is not None else Reason.TARGETING_MATCH,
                    index,
                ),
            )
            for index, rule in enumerate(self.rules)
        )
        if not enabled:
            reason = Reason.DISABLED
        elif not self.rules:
            reason = Reason.STATIC
        else:
            reason = Reason.DEFAULT
        self._fallback = Evaluation(default, reason)

    def evaluate(self, subject: Subject) -> Evaluation:
        """The flag's value for ``subject``, and why."""
        if not self.enabled:
            return self._fallback
        bucket_number: int | None = None
        for rule in self._rules:
            if rule.roles is not None and rule.roles.isdisjoint(subject.roles):
                continue
            if rule.tenants is not None and subject.tenant not in rule.tenants:
                continue
            if rule.users is not None and subject.user not in rule.users:
                continue
            if rule.percentage is not None:
                if subject.user is None:
                    continue
                if bucket_number is None:
                    bucket_number = bucket(self.name, subject.user)
                if not in_percentage(bucket_number, rule.percentage):
                    continue
            return rule.matched
        return self._fallback
