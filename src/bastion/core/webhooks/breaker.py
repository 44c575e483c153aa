"""A per-endpoint circuit breaker: stop hammering an endpoint that keeps failing.

The breaker is a pure state machine. A :class:`BreakerState` is an immutable
value the worker stores per endpoint (``as_json()`` / ``from_json()``); the
rules of a :class:`BreakerPolicy` take a state and the current time and
return the next state. There is no clock inside: the caller passes ``now``.

- ``closed``: deliveries go out. ``failure_threshold`` consecutive failures open it.
- ``open``: nothing goes out until the open period has passed.
- ``half_open``: the first :meth:`BreakerPolicy.allow` after the open period
  lets exactly one probe delivery out; every other ``allow`` says no until the
  probe's result is recorded. Success closes the breaker; failure re-opens it
  for twice the last open period, capped at ``max_open_seconds`` (set it to
  ``open_seconds`` for a constant period).

A probe whose result never comes (its worker died) is given up after
``probe_timeout_seconds``: the next ``allow`` starts a new probe.

Several worker processes share one breaker by storing its state in the
database and writing the state returned by ``allow`` back only if the stored
one is unchanged (compare and set): the worker that wins the write owns the
probe; the others see ``half_open`` and hold back.

A success closes the breaker in any state (the endpoint answered, whichever
request it was), and any failure recorded while half-open re-opens it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal, NamedTuple

__all__ = [
    "Admission",
    "BreakerPolicy",
    "BreakerState",
    "BreakerStatus",
    "CircuitBreaker",
]

BreakerStatus = Literal["closed", "open", "half_open"]
"""The three states of a breaker."""

_STATUSES: tuple[BreakerStatus, ...] = ("closed", "open", "half_open")


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware, e.g. datetime.now(UTC)")
    return now


@dataclass(frozen=True, slots=True)
class BreakerState:
    """The stored state of one endpoint's breaker (a new one is ``BreakerState()``)."""

    state: BreakerStatus = "closed"
    consecutive_failures: int = 0
    """Failures since the last success."""
    opened_at: datetime | None = None
    """When the current open period began (``open`` and ``half_open``)."""
    open_seconds: float = 0.0
    """Length of the current open period (it doubles on each failed probe)."""
    probe_started_at: datetime | None = None
    """When the probe in flight was let out (``half_open`` only)."""

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict (times as ISO 8601 strings) to store; see :meth:`from_json`."""
        return {
            "state": self.state,
            "consecutive_failures": self.consecutive_failures,
            "opened_at": _iso(self.opened_at),
            "open_seconds": self.open_seconds,
            "probe_started_at": _iso(self.probe_started_at),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str | bytes) -> BreakerState:
        """Read a state written by :meth:`as_json` (the dict, or its JSON text).

        Raises:
            ValueError: The data is not a stored breaker state.
        """
        raw = json.loads(data) if isinstance(data, str | bytes) else data
        if not isinstance(raw, Mapping):
            raise ValueError("a stored breaker state must be a JSON object")
        state = raw.get("state")
        if state not in _STATUSES:
            raise ValueError(f"unknown breaker state {state!r}; expected one of {_STATUSES}")
        try:
            return cls(
                state=state,
                consecutive_failures=int(raw.get("consecutive_failures", 0)),
                opened_at=_parse(raw.get("opened_at")),
                open_seconds=float(raw.get("open_seconds", 0.0)),
                probe_started_at=_parse(raw.get("probe_started_at")),
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"malformed stored breaker state: {exc}") from None


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _parse(text: object) -> datetime | None:
    if text is None:
        return None
    if not isinstance(text, str):
        raise TypeError(f"expected an ISO 8601 time, not {text!r}")
    return _aware(datetime.fromisoformat(text))


class Admission(NamedTuple):
    """The answer of :meth:`BreakerPolicy.allow`: may a delivery go out, and the new state."""

    allowed: bool
    state: BreakerState


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    """The breaker's thresholds, and its transitions as pure functions of a state.

    Raises:
        ValueError: On construction, for a threshold below 1, a non-positive
            period, or ``max_open_seconds`` below ``open_seconds``.
    """

    failure_threshold: int = 5
    """Consecutive failures that open a closed breaker."""
    open_seconds: float = 60.0
    """The first open period."""
    max_open_seconds: float = 3600.0
    """The longest open period that repeated failed probes double up to."""
    probe_timeout_seconds: float = 120.0
    """A probe without a recorded result is given up after this long."""

    def __post_init__(self) -> None:
        if self.failure_threshold < 1:
            raise ValueError(f"failure_threshold must be >= 1, not {self.failure_threshold}")
        if self.open_seconds <= 0 or self.probe_timeout_seconds <= 0:
            raise ValueError("open_seconds and probe_timeout_seconds must be positive")
        if self.max_open_seconds < self.open_seconds:
            raise ValueError(
                f"max_open_seconds ({self.max_open_seconds}) must be at least "
                f"open_seconds ({self.open_seconds})"
            )

    def allow(self, state: BreakerState, now: datetime) -> Admission:
        """May a delivery go out now? Starting a probe changes the state: store it."""
        _aware(now)
        if state.state == "closed":
            return Admission(True, state)
        blocked_until = self.blocked_until(state)
        if blocked_until is not None and now < blocked_until:
            return Admission(False, state)
        return Admission(True, replace(state, state="half_open", probe_started_at=now))

    def blocked_until(self, state: BreakerState) -> datetime | None:
        """When ``allow`` may next say yes (``None``: closed, no wait)."""
        if state.state == "closed":
            return None
        if state.state == "half_open" and state.probe_started_at is not None:
            return state.probe_started_at + timedelta(seconds=self.probe_timeout_seconds)
        if state.opened_at is None:
            return None
        return state.opened_at + timedelta(seconds=state.open_seconds)

    def record_success(self, state: BreakerState, now: datetime) -> BreakerState:
        """The endpoint accepted a delivery: the breaker closes, failures are forgotten."""
        _aware(now)
        return BreakerState()

    def record_failure(self, state: BreakerState, now: datetime) -> BreakerState:
        """A delivery failed: count it; open the breaker at the threshold or after a probe."""
        _aware(now)
        failures = state.consecutive_failures + 1
        if state.state == "half_open":
            longer = min(max(state.open_seconds, self.open_seconds) * 2, self.max_open_seconds)
            return BreakerState("open", failures, opened_at=now, open_seconds=longer)
        if state.state == "open":
            # A late result of a request let out before the breaker opened.
            return replace(state, consecutive_failures=failures)
        if failures >= self.failure_threshold:
            return BreakerState("open", failures, opened_at=now, open_seconds=self.open_seconds)
        return replace(state, consecutive_failures=failures)


class CircuitBreaker:
    """One breaker held in memory: :class:`BreakerPolicy` rules applied to its own state.

    For a single process, or to keep the current state between database writes
    (read :attr:`state` after each call and store it).
    """

    def __init__(self, policy: BreakerPolicy | None = None, state: BreakerState | None = None):
        self.policy = policy or BreakerPolicy()
        self.state = state or BreakerState()

    def allow(self, now: datetime) -> bool:
        """May a delivery go out now? (May start the half-open probe.)"""
        allowed, self.state = self.policy.allow(self.state, now)
        return allowed

    def record_success(self, now: datetime) -> None:
        """The endpoint accepted a delivery."""
        self.state = self.policy.record_success(self.state, now)

    def record_failure(self, now: datetime) -> None:
        """A delivery failed."""
        self.state = self.policy.record_failure(self.state, now)
