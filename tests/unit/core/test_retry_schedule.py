"""Webhook retry schedule: exponential backoff with jitter, capped, given up after a while."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bastion.core.webhooks import DEFAULT_RETRY_POLICY, RetryPolicy, next_attempt_delay

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def test_retry_schedule_doubles_from_the_initial_delay() -> None:
    policy = RetryPolicy(initial=10 * SECOND, maximum=timedelta(hours=1), jitter=timedelta(0))
    assert [policy.next_attempt_delay(n) for n in range(1, 6)] == [10, 20, 40, 80, 160]


def test_retry_schedule_is_capped_at_the_maximum() -> None:
    policy = RetryPolicy(initial=10 * SECOND, maximum=60 * SECOND, jitter=timedelta(0))
    assert policy.next_attempt_delay(4) == 60
    assert policy.next_attempt_delay(10_000) == 60


@given(attempt=st.integers(min_value=1, max_value=200))
def test_retry_schedule_jitter_stays_within_its_bound(attempt: int) -> None:
    policy = RetryPolicy(initial=SECOND, maximum=100 * SECOND, jitter=5 * SECOND)
    base = min(2 ** (attempt - 1), 100)
    assert base <= policy.next_attempt_delay(attempt) <= base + 5


def test_retry_schedule_jitter_spreads_retries_out() -> None:
    delays = {next_attempt_delay(3) for _ in range(20)}
    assert len(delays) > 1


def test_retry_schedule_default_policy() -> None:
    assert DEFAULT_RETRY_POLICY.initial == 10 * SECOND
    assert DEFAULT_RETRY_POLICY.maximum == timedelta(hours=1)
    assert DEFAULT_RETRY_POLICY.give_up_after == timedelta(days=3)
    assert 10 <= next_attempt_delay(1) <= 20


def test_retry_schedule_gives_up_after_the_deadline() -> None:
    policy = RetryPolicy(give_up_after=timedelta(hours=24))
    assert not policy.should_give_up(T0, T0 + timedelta(hours=23, minutes=59))
    assert policy.should_give_up(T0, T0 + timedelta(hours=24))


def test_retry_schedule_next_attempt_at_stops_at_the_deadline() -> None:
    policy = RetryPolicy(initial=60 * SECOND, jitter=timedelta(0), give_up_after=timedelta(hours=1))
    assert policy.next_attempt_at(1, T0, T0) == T0 + 60 * SECOND
    assert policy.next_attempt_at(1, T0, T0 + timedelta(minutes=59, seconds=30)) is None


def test_retry_schedule_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="counts from 1"):
        next_attempt_delay(0)
    with pytest.raises(ValueError, match="maximum"):
        RetryPolicy(initial=timedelta(minutes=5), maximum=timedelta(minutes=1))
    with pytest.raises(ValueError, match="positive"):
        RetryPolicy(initial=timedelta(0))
