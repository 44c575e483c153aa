"""Overrides: what an admin sets over a flag's blueprint definition, checked by its rules.

An override may replace the flag's ``default``, its ``rules``, or both, and
may switch the flag off (``enabled: false``: everyone gets the default, the
rules are kept for when it is switched back on). What it leaves out (or
sets to ``null``) stays as the blueprint says. It is checked by the same
rules as the blueprint (:mod:`bastion.blueprint.flags`): values of the
flag's type and variants, percentages from 0 to 100, declared roles.

Example:
    >>> from bastion.blueprint.flags import FlagSpec
    >>> spec = FlagSpec(type="boolean", default=False)
    >>> override = parse_override(spec, {"rules": [{"percentage": 10, "value": True}]}, roles=())
    >>> override.default is None, override.rules[0].percentage, override.enabled
    (True, 10.0, True)
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, StrictBool, ValidationError

from bastion.blueprint.flags import FlagRule, FlagSpec, rule_problems, value_problem
from bastion.core.errors import FieldError, InvalidInput
from bastion.core.flags.evaluation import FlagValue
from bastion.core.validation import field_errors

__all__ = ["Override", "override_from_record", "parse_override", "rules_json"]


class _OverrideBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default: Any = None
    rules: list[FlagRule] | None = None
    enabled: StrictBool = True


@dataclass(frozen=True, slots=True)
class Override:
    """An admin's values for one flag, over the blueprint's."""

    default: FlagValue | None = None
    """The default in force instead of the blueprint's; ``None``: the blueprint's."""
    rules: tuple[FlagRule, ...] | None = None
    """The rules in force instead of the blueprint's; ``None``: the blueprint's."""
    enabled: bool = True
    """``False``: the flag is off, everyone gets the default."""
    updated_at: datetime | None = None
    updated_by: UUID | None = None
    """The admin who set it (``None`` for an operator or an external account)."""

    def as_json(self) -> dict[str, Any]:
        """The override as the admin API and the audit trail show it."""
        return {
            "default": self.default,
            "rules": None if self.rules is None else rules_json(self.rules),
            "enabled": self.enabled,
            "updated_at": self.updated_at,
            "updated_by": self.updated_by,
        }

    def stored(self) -> dict[str, Any]:
        """The values of its ``bastion_flags`` record."""
        return {
            "default_value": self.default,
            "rules": None if self.rules is None else rules_json(self.rules),
            "enabled": self.enabled,
        }


def rules_json(rules: Collection[FlagRule]) -> list[dict[str, Any]]:
    """Rules as JSON, without the conditions they leave out."""
    return [rule.model_dump(mode="json", exclude_none=True) for rule in rules]


def parse_override(spec: FlagSpec, body: Any, *, roles: Collection[str]) -> Override:
    """The override ``body`` (a JSON object) describes for the flag ``spec``.

    Raises:
        InvalidInput: with a JSON pointer to every problem (``/rules/0/percentage``).
    """
    if not isinstance(body, Mapping):
        raise InvalidInput(
            "the body must be a JSON object", errors=(FieldError("", "must be an object"),)
        )
    try:
        parsed = _OverrideBody.model_validate(body)
    except ValidationError as exc:
        raise InvalidInput("the override is not valid", errors=field_errors(exc)) from None
    if not parsed.model_fields_set:
        raise InvalidInput(
            "the override sets nothing: give default, rules or enabled "
            "(DELETE the override to go back to the blueprint)",
            errors=(FieldError("", "give default, rules or enabled"),),
        )
    errors: list[FieldError] = []
    if parsed.default is not None:
        problem = value_problem(spec, parsed.default)
        if problem is not None:
            errors.append(
                FieldError(
                    "/default", f"the default {problem[0]} ({spec.type} flag) — {problem[1]}"
                )
            )
    for i, rule in enumerate(parsed.rules or ()):
        for key, message, hint in rule_problems(spec, rule, roles):
            pointer = f"/rules/{i}" + "".join(f"/{part}" for part in key.split(".") if part)
            errors.append(FieldError(pointer, f"{message} — {hint}"))
    if errors:
        raise InvalidInput("the override breaks the flag's rules", errors=tuple(errors))
    return Override(
        default=parsed.default,
        rules=None if parsed.rules is None else tuple(parsed.rules),
        enabled=parsed.enabled,
    )


def override_from_record(
    spec: FlagSpec, record: Mapping[str, Any], *, roles: Collection[str]
) -> Override:
    """The override a stored ``bastion_flags`` record holds, checked against ``spec`` as
    the blueprint declares it now (``InvalidInput`` when it no longer fits)."""
    body: dict[str, Any] = {"enabled": bool(record.get("enabled", True))}
    if record.get("default_value") is not None:
        body["default"] = record["default_value"]
    if record.get("rules") is not None:
        body["rules"] = record["rules"]
    parsed = parse_override(spec, body, roles=roles)
    updated_by = record.get("updated_by")
    return Override(
        default=parsed.default,
        rules=parsed.rules,
        enabled=parsed.enabled,
        updated_at=record.get("updated_at"),
        updated_by=updated_by if isinstance(updated_by, UUID) else None,
    )
