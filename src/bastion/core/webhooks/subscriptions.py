"""Webhook subscriptions as admins write and read them: the bodies (a subscription,
its changes, a secret rotation), the event type patterns they may name, and the
JSON they are shown as (never with a secret).

An event type pattern is one of:

- ``*``: every event;
- ``orders.*``: every change of one resource;
- ``*.created`` (``*.updated``, ``*.deleted``): one kind of change of every resource;
- ``orders.created`` (``orders.updated``, ``orders.deleted``): one exactly.

A named resource must be one the application serves with its event log on
(``events: true``, the default).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import timedelta
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
)

from bastion.blueprint import Blueprint
from bastion.core.errors import FieldError, InvalidInput
from bastion.core.ports import Row
from bastion.core.validation import field_errors
from bastion.core.webhooks.target import breaker_state

__all__ = [
    "CHANGE_KINDS",
    "MAX_EVENT_TYPES",
    "MAX_SECRET_OVERLAP",
    "SecretRotation",
    "SubscriptionChanges",
    "SubscriptionCreate",
    "UrlCheck",
    "event_resources_of",
    "event_type_problem",
    "parse_changes",
    "parse_create",
    "parse_rotation",
    "subscription_json",
]

CHANGE_KINDS = ("created", "updated", "deleted")
"""The kinds of change an event type names."""
MAX_EVENT_TYPES = 100
"""The most patterns one subscription lists."""
MAX_SECRET_OVERLAP = timedelta(days=30)
"""The longest a previous secret keeps signing after a rotation."""
UrlCheck = Callable[[str], object]
"""Checks a webhook URL (the SSRF guard); raises ``ValueError`` saying what is wrong."""
_MAX_URL = 2048
_MAX_DESCRIPTION = 500
_SHAPES = (
    "write '*', '<resource>.*', '*.<kind>' or '<resource>.<kind>' "
    "(kind: created, updated or deleted)"
)


class SubscriptionCreate(BaseModel):
    """The body of ``POST /v1/admin/webhooks``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: StrictStr = Field(min_length=1, max_length=_MAX_URL)
    event_types: list[StrictStr] = Field(min_length=1, max_length=MAX_EVENT_TYPES)
    description: StrictStr | None = Field(default=None, max_length=_MAX_DESCRIPTION)
    enabled: StrictBool = True


class SubscriptionChanges(BaseModel):
    """The body of ``PATCH /v1/admin/webhooks/{id}`` (what is left out stays)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: StrictStr | None = Field(default=None, min_length=1, max_length=_MAX_URL)
    event_types: list[StrictStr] | None = Field(
        default=None, min_length=1, max_length=MAX_EVENT_TYPES
    )
    description: StrictStr | None = Field(default=None, max_length=_MAX_DESCRIPTION)
    enabled: StrictBool | None = None


class SecretRotation(BaseModel):
    """The body of ``POST /v1/admin/webhooks/{id}:rotate-secret`` (optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    overlap_seconds: StrictInt | None = Field(
        default=None, ge=0, le=int(MAX_SECRET_OVERLAP.total_seconds())
    )
    """How long the previous secret keeps signing too (``0``: it stops at once);
    left out: the server's ``BASTION_WEBHOOK_SECRET_OVERLAP_SECONDS``."""


def event_resources_of(blueprint: Blueprint) -> frozenset[str]:
    """The resources whose changes are events: served, with ``events`` on."""
    return frozenset(
        name for name, resource in blueprint.served_resources().items() if resource.events
    )


def event_type_problem(pattern: str, resources: Collection[str]) -> str | None:
    """What is wrong with the event type pattern ``pattern``, or ``None``."""
    if pattern == "*":
        return None
    resource, dot, kind = pattern.partition(".")
    if not dot or not resource or not kind:
        return f"{pattern!r} is no event type: {_SHAPES}"
    if kind != "*" and kind not in CHANGE_KINDS:
        return f"{kind!r} is no kind of change: {_SHAPES}"
    if resource == "*":
        if kind == "*":
            return "write '*' for every event"
        return None
    if resource not in resources:
        known = ", ".join(sorted(resources)) or "none"
        return f"there is no resource {resource!r} with events (resources with events: {known})"
    return None


def _checked(
    check_url: UrlCheck, url: str | None, patterns: list[str] | None, resources: Collection[str]
) -> list[str] | None:
    errors: list[FieldError] = []
    if url is not None:
        try:
            check_url(url)
        except ValueError as exc:
            errors.append(FieldError("/url", str(exc)))
    if patterns is not None:
        for index, pattern in enumerate(patterns):
            problem = event_type_problem(pattern, resources)
            if problem is not None:
                errors.append(FieldError(f"/event_types/{index}", problem))
    if errors:
        raise InvalidInput("the webhook subscription is not valid", errors=tuple(errors))
    return None if patterns is None else list(dict.fromkeys(patterns))


def _object(body: Any) -> Mapping[str, Any]:
    if not isinstance(body, dict):
        raise InvalidInput(
            "the body must be a JSON object", errors=(FieldError("", "must be an object"),)
        )
    return body


def parse_create(
    body: Any, *, check_url: UrlCheck, resources: Collection[str]
) -> SubscriptionCreate:
    """``body`` checked as a new subscription: its shape, then its URL (``check_url``
    raises ``ValueError``) and its event types. Duplicate patterns are dropped.

    Raises:
        InvalidInput: pointing at each bad member (``/url``, ``/event_types/0``...).
    """
    try:
        parsed = SubscriptionCreate.model_validate(_object(body))
    except ValidationError as exc:
        raise InvalidInput(
            "the webhook subscription is not valid", errors=field_errors(exc)
        ) from None
    patterns = _checked(check_url, parsed.url, parsed.event_types, resources)
    return parsed.model_copy(update={"event_types": patterns})


def parse_changes(body: Any, *, check_url: UrlCheck, resources: Collection[str]) -> Row:
    """``body`` (a JSON merge patch) checked as changes of a subscription; the fields
    to write. ``url``, ``event_types`` and ``enabled`` cannot be ``null``.

    Raises:
        InvalidInput: pointing at each bad member.
    """
    raw = _object(body)
    nulls = [
        name for name in ("url", "event_types", "enabled") if name in raw and raw[name] is None
    ]
    if nulls:
        raise InvalidInput(
            "the changes are not valid",
            errors=tuple(FieldError(f"/{name}", "cannot be null") for name in nulls),
        )
    try:
        parsed = SubscriptionChanges.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput("the changes are not valid", errors=field_errors(exc)) from None
    patterns = _checked(check_url, parsed.url, parsed.event_types, resources)
    changes: Row = {name: getattr(parsed, name) for name in parsed.model_fields_set}
    if patterns is not None:
        changes["event_types"] = patterns
    return changes


def parse_rotation(body: Any) -> SecretRotation:
    """``body`` checked as a secret rotation; ``None`` (no body) asks for the defaults.

    Raises:
        InvalidInput: pointing at each bad member (``/overlap_seconds``).
    """
    if body is None:
        return SecretRotation()
    try:
        return SecretRotation.model_validate(_object(body))
    except ValidationError as exc:
        raise InvalidInput("the secret rotation is not valid", errors=field_errors(exc)) from None


def subscription_json(row: Row) -> Row:
    """A subscription as the admin API shows it: never its secret."""
    state = breaker_state(row.get("breaker"))
    open_until = None
    if state.state != "closed" and state.opened_at is not None:
        open_until = state.opened_at + timedelta(seconds=state.open_seconds)
    return {
        "id": row["id"],
        "url": row["url"],
        "event_types": list(row["event_types"] or []),
        "description": row.get("description"),
        "enabled": bool(row.get("enabled", True)),
        "breaker": {
            "state": state.state,
            "consecutive_failures": state.consecutive_failures,
            "opened_at": state.opened_at,
            "open_until": open_until,
        },
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
