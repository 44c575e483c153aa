"""The per-endpoint circuit breaker: opens on failures, lets one probe out, closes on success."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bastion.core.webhooks import BreakerPolicy, BreakerState, CircuitBreaker

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def tripped(policy: BreakerPolicy | None = None) -> CircuitBreaker:
    breaker = CircuitBreaker(policy)
    for _ in range(breaker.policy.failure_threshold):
        breaker.record_failure(T0)
    return breaker


def test_breaker_stays_closed_below_the_threshold() -> None:
    breaker = CircuitBreaker()
    for _ in range(4):
        assert breaker.allow(T0)
        breaker.record_failure(T0)
    assert breaker.state.state == "closed"
    assert breaker.allow(T0)


def test_breaker_a_success_resets_the_failure_count() -> None:
    breaker = CircuitBreaker()
    for _ in range(4):
        breaker.record_failure(T0)
    breaker.record_success(T0)
    for _ in range(4):
        breaker.record_failure(T0)
    assert breaker.state.state == "closed"
    assert breaker.state.consecutive_failures == 4


def test_breaker_opens_after_five_consecutive_failures_for_sixty_seconds() -> None:
    breaker = tripped()
    assert breaker.state.state == "open"
    assert not breaker.allow(at(0))
    assert not breaker.allow(at(59.9))
    assert breaker.policy.blocked_until(breaker.state) == at(60)


def test_breaker_lets_exactly_one_probe_out_after_the_open_period() -> None:
    breaker = tripped()
    assert breaker.allow(at(60))
    assert breaker.state.state == "half_open"
    assert not breaker.allow(at(61))
    assert not breaker.allow(at(100))


def test_breaker_a_successful_probe_closes_it() -> None:
    breaker = tripped()
    assert breaker.allow(at(60))
    breaker.record_success(at(61))
    assert breaker.state == BreakerState()
    assert breaker.allow(at(61))
    assert breaker.allow(at(61))


def test_breaker_a_failed_probe_reopens_it_for_twice_as_long_up_to_the_cap() -> None:
    breaker = tripped(BreakerPolicy(open_seconds=60, max_open_seconds=200))
    opened = 0.0
    for expected in (120, 200, 200):
        probe_at = opened + breaker.state.open_seconds
        assert not breaker.allow(at(probe_at - 1))
        assert breaker.allow(at(probe_at))
        breaker.record_failure(at(probe_at))
        opened = probe_at
        assert breaker.state.state == "open"
        assert breaker.state.open_seconds == expected


def test_breaker_a_probe_without_result_is_given_up_after_the_probe_timeout() -> None:
    breaker = tripped(BreakerPolicy(probe_timeout_seconds=30))
    assert breaker.allow(at(60))
    assert not breaker.allow(at(89))
    assert breaker.allow(at(90))
    assert not breaker.allow(at(91))


def test_breaker_policy_functions_are_pure() -> None:
    policy = BreakerPolicy(failure_threshold=1)
    closed = BreakerState()
    opened = policy.record_failure(closed, T0)
    admission = policy.allow(opened, at(60))
    assert closed == BreakerState()
    assert opened.state == "open"
    assert admission.allowed
    assert admission.state.state == "half_open"
    assert opened.state == "open"


@pytest.mark.parametrize("as_text", [False, True])
def test_breaker_state_round_trips_through_json(as_text: bool) -> None:
    breaker = tripped()
    breaker.allow(at(60))
    stored = breaker.state.as_json()
    payload = json.dumps(stored) if as_text else json.loads(json.dumps(stored))
    assert BreakerState.from_json(payload) == breaker.state


def test_breaker_state_from_json_refuses_garbage() -> None:
    with pytest.raises(ValueError, match="unknown breaker state"):
        BreakerState.from_json({"state": "ajar"})
    with pytest.raises(ValueError, match="malformed"):
        BreakerState.from_json({"state": "open", "opened_at": "yesterday"})


def test_breaker_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        BreakerPolicy(failure_threshold=0)
    with pytest.raises(ValueError, match="max_open_seconds"):
        BreakerPolicy(open_seconds=60, max_open_seconds=10)


events = st.lists(
    st.tuples(
        st.sampled_from(["allow", "success", "failure"]),
        st.floats(min_value=0, max_value=400, allow_nan=False),
    ),
    max_size=60,
)
policies = st.builds(
    BreakerPolicy,
    failure_threshold=st.integers(min_value=1, max_value=4),
    open_seconds=st.floats(min_value=1, max_value=300),
    max_open_seconds=st.just(1000.0),
    probe_timeout_seconds=st.floats(min_value=1, max_value=300),
)


@given(policy=policies, events=events)
def test_breaker_never_lets_out_a_second_probe_nor_anything_while_open(
    policy: BreakerPolicy, events: list[tuple[str, float]]
) -> None:
    state = BreakerState()
    now = T0
    for kind, step in events:
        now += timedelta(seconds=step)
        before = state
        if kind == "allow":
            allowed, state = policy.allow(state, now)
            if before.state == "closed":
                assert allowed
            if before.state == "open":
                assert before.opened_at is not None
                open_until = before.opened_at + timedelta(seconds=before.open_seconds)
                assert allowed == (now >= open_until)
            if before.state == "half_open":
                assert before.probe_started_at is not None
                probe_expires = before.probe_started_at + timedelta(
                    seconds=policy.probe_timeout_seconds
                )
                assert allowed == (now >= probe_expires)
            if allowed and before.state != "closed":
                assert state.state == "half_open"
                assert state.probe_started_at == now
        elif kind == "success":
            state = policy.record_success(state, now)
            assert state.state == "closed"
        else:
            state = policy.record_failure(state, now)
            if before.state == "half_open":
                assert state.state == "open"
        assert state.state == "closed" or state.opened_at is not None
        assert BreakerState.from_json(json.dumps(state.as_json())) == state
