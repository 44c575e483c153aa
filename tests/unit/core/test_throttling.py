"""Login throttling policy: free attempts, doubling locks, the cap, bounded keys."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bastion.core.identity.throttling import (
    ACCOUNT_POLICY,
    IP_POLICY,
    MAX_KEY_LENGTH,
    ThrottlePolicy,
    bounded_key,
)

SECOND = timedelta(seconds=1)

delays = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=2))
policies = st.builds(
    lambda free, window, a, b: ThrottlePolicy(free, window, min(a, b), max(a, b)),
    st.integers(min_value=0, max_value=1000),
    st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=1)),
    delays,
    delays,
)


def test_the_account_policy_locks_after_five_failures_and_doubles() -> None:
    locks = [ACCOUNT_POLICY.lock_for(n) for n in range(8)]
    assert locks == [timedelta(0)] * 6 + [SECOND, 2 * SECOND]
    assert ACCOUNT_POLICY.lock_for(100) == timedelta(minutes=15)
    assert ACCOUNT_POLICY.window == timedelta(minutes=15)


def test_the_ip_policy_allows_fifty_failures() -> None:
    assert IP_POLICY.lock_for(50) == timedelta(0)
    assert IP_POLICY.lock_for(51) == SECOND
    assert IP_POLICY.lock_for(10**9) == IP_POLICY.max_delay == timedelta(minutes=15)


def test_the_doubling_stops_at_the_cap() -> None:
    policy = ThrottlePolicy(0, timedelta(minutes=1), SECOND, timedelta(seconds=5))
    assert [policy.lock_for(n).total_seconds() for n in range(1, 6)] == [1, 2, 4, 5, 5]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((-1, SECOND, SECOND, SECOND), "free_attempts"),
        ((0, timedelta(0), SECOND, SECOND), "window"),
        ((0, SECOND, -SECOND, SECOND), "base_delay"),
        ((0, SECOND, 2 * SECOND, SECOND), "max_delay"),
    ],
)
def test_a_nonsensical_policy_is_refused(
    arguments: tuple[int, timedelta, timedelta, timedelta], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ThrottlePolicy(*arguments)


@given(policies, st.integers(min_value=-5, max_value=10**6))
def test_locks_never_shrink_as_failures_grow_and_never_exceed_the_cap(
    policy: ThrottlePolicy, failures: int
) -> None:
    lock = policy.lock_for(failures)
    assert timedelta(0) <= lock <= policy.lock_for(failures + 1) <= policy.max_delay
    if failures <= policy.free_attempts:
        assert lock == timedelta(0)


@given(st.text(max_size=200))
def test_stored_keys_are_bounded_and_distinct(key: str) -> None:
    stored = bounded_key(key)
    assert len(stored.encode()) <= max(MAX_KEY_LENGTH, len("sha256:") + 64)
    if len(key.encode()) <= MAX_KEY_LENGTH:
        assert stored == key
    else:
        assert stored != bounded_key(key + "x")
        assert len(stored.encode()) > MAX_KEY_LENGTH
