"""The flags a worker has in force: the blueprint's, with the overrides admins set.

A :class:`FlagSnapshot` is immutable: the flags compiled from the blueprint
and one set of overrides. The :class:`FlagBoard` holds the current snapshot
and swaps it whole when the overrides change (see
:mod:`bastion.core.flags.sync`), so a request that took a snapshot evaluates
every flag against the same values, and evaluation never waits for I/O.

:class:`CallerFlags` is the board bound to one caller: what access rules,
hooks and the OpenFeature provider ask::

    flags = board.caller(ctx)
    if flags.enabled("new_checkout"):
        ...
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bastion.blueprint import Blueprint
from bastion.blueprint.flags import FlagSpec, flag_roles
from bastion.core.context import RequestContext
from bastion.core.flags.evaluation import Evaluation, Flag, FlagValue, Subject
from bastion.core.flags.overrides import Override, rules_json

__all__ = ["CallerFlags", "FlagBoard", "FlagSnapshot", "UnknownFlag"]


class UnknownFlag(LookupError):
    """The blueprint declares no flag of this name (or not of the type asked for)."""


def _effective(name: str, spec: FlagSpec, override: Override | None) -> Flag:
    if override is None:
        return Flag(name, spec.type, spec.default, spec.rules)
    return Flag(
        name,
        spec.type,
        spec.default if override.default is None else override.default,
        spec.rules if override.rules is None else override.rules,
        enabled=override.enabled,
    )


class FlagSnapshot:
    """The flags in force at one moment.

    Args:
        declared: the blueprint's flags.
        overrides: the admins' overrides in force, by flag name.
        rejected: stored overrides that no longer fit the blueprint (a flag whose
            type changed...), with what is wrong with each; they are not in force.
    """

    __slots__ = ("declared", "flags", "overrides", "rejected")

    def __init__(
        self,
        declared: Mapping[str, FlagSpec],
        overrides: Mapping[str, Override] | None = None,
        rejected: Mapping[str, tuple[Mapping[str, Any], tuple[str, ...]]] | None = None,
    ) -> None:
        self.declared = declared
        self.overrides: Mapping[str, Override] = overrides or {}
        self.rejected = rejected or {}
        self.flags: dict[str, Flag] = {
            name: _effective(name, spec, self.overrides.get(name))
            for name, spec in declared.items()
        }

    def flag(self, name: str) -> Flag:
        """The flag ``name`` as it is in force; ``UnknownFlag`` if none is declared."""
        try:
            return self.flags[name]
        except KeyError:
            raise UnknownFlag(f"there is no flag called {name!r}") from None

    def evaluate(self, name: str, subject: Subject) -> Evaluation:
        """The value of ``name`` for ``subject``, and why."""
        return self.flag(name).evaluate(subject)

    def describe(self, name: str) -> dict[str, Any]:
        """Everything an admin wants to know of one flag (what the admin API answers)."""
        spec = self.declared[name]
        flag = self.flag(name)
        override = self.overrides.get(name)
        rejected = self.rejected.get(name)
        return {
            "name": name,
            "type": spec.type,
            "description": spec.description,
            "variants": spec.variants,
            "declared": {"default": spec.default, "rules": rules_json(spec.rules)},
            "override": override.as_json() if override else (rejected[0] if rejected else None),
            "effective": {
                "default": flag.default,
                "rules": rules_json(flag.rules),
                "enabled": flag.enabled,
            },
            "problems": list(rejected[1]) if rejected else [],
        }


class FlagBoard:
    """The current :class:`FlagSnapshot` of a worker (swapped whole when overrides change).

    Args:
        blueprint: the served blueprint; its ``flags`` are what overrides apply to.
    """

    def __init__(self, blueprint: Blueprint) -> None:
        self.declared: dict[str, FlagSpec] = dict(blueprint.flags)
        self.roles = frozenset(flag_roles(blueprint))
        """The roles rules may name (overrides are checked against them)."""
        self.snapshot = FlagSnapshot(self.declared)

    def spec(self, name: str) -> FlagSpec:
        """The blueprint's definition of ``name``; ``UnknownFlag`` if none is declared."""
        try:
            return self.declared[name]
        except KeyError:
            raise UnknownFlag(f"there is no flag called {name!r}") from None

    def install(
        self,
        overrides: Mapping[str, Override],
        rejected: Mapping[str, tuple[Mapping[str, Any], tuple[str, ...]]] | None = None,
    ) -> None:
        """Put ``overrides`` in force (replacing every earlier one)."""
        self.snapshot = FlagSnapshot(self.declared, overrides, rejected)

    def caller(self, ctx: RequestContext) -> CallerFlags:
        """The flags as they apply to the caller of ``ctx``, on the current snapshot."""
        return CallerFlags(self.snapshot, Subject.of_context(ctx))


class CallerFlags:
    """The flags of one snapshot as they apply to one caller (what hooks get).

    Example, in a hook::

        if event.flags.enabled("new_checkout"):
            event.record["flow"] = "express"
    """

    __slots__ = ("_seen", "snapshot", "subject")

    def __init__(self, snapshot: FlagSnapshot, subject: Subject) -> None:
        self.snapshot = snapshot
        self.subject = subject
        self._seen: dict[str, Evaluation] = {}

    def details(self, name: str) -> Evaluation:
        """The value of flag ``name`` for this caller, and why; ``UnknownFlag`` if undeclared."""
        # Asked for every resource and field behind the flag: evaluated once per caller.
        found = self._seen.get(name)
        if found is None:
            found = self._seen[name] = self.snapshot.evaluate(name, self.subject)
        return found

    def value(self, name: str) -> FlagValue:
        """The value of flag ``name`` for this caller."""
        return self.details(name).value

    def enabled(self, name: str) -> bool:
        """Whether the boolean flag ``name`` is on for this caller.

        Raises:
            UnknownFlag: no boolean flag of this name is declared.
        """
        if self.snapshot.flag(name).type != "boolean":
            raise UnknownFlag(f"{name!r} is not a boolean flag")
        return self.details(name).value is True
