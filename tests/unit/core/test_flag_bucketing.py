"""Flag evaluation: stable percentage buckets, targeting precedence, reasons and variants.

Buckets must be the same in every process (Python's ``hash()`` is salted per
process, so a rollout built on it would put a user in on one worker and out
on the next): checked by computing them in separate interpreters.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid

import pytest

from bastion.blueprint.flags import FlagRule
from bastion.core.context import RequestContext
from bastion.core.flags import BUCKETS, Flag, Reason, Subject, bucket, in_percentage

IDS = [str(uuid.UUID(int=i * 7919 + 1, version=4)) for i in range(10_000)]


def _in(flag: str, percentage: float, ids: list[str] = IDS) -> set[str]:
    return {user for user in ids if in_percentage(bucket(flag, user), percentage)}


def test_the_bucket_is_the_documented_hash() -> None:
    # sha256("flag:key"), first 8 bytes big-endian, mod 10000: anyone can recompute it.
    assert bucket("new_checkout", "0190b4f2-8c3a-7c4e-9f1a-2b3c4d5e6f70") == 1135
    digest = hashlib.sha256(b"express:user-42").digest()
    assert bucket("express", "user-42") == int.from_bytes(digest[:8], "big") % 10_000


@pytest.mark.parametrize("percentage", [1, 10, 25, 50, 90])
def test_a_rollout_reaches_its_percentage_of_ten_thousand_users(percentage: int) -> None:
    reached = len(_in("new_checkout", percentage))
    assert abs(reached - percentage * 100) <= 150, reached


def test_zero_reaches_nobody_and_a_hundred_everybody() -> None:
    assert _in("new_checkout", 0) == set()
    assert _in("new_checkout", 100) == set(IDS)
    assert all(0 <= bucket("new_checkout", user) < BUCKETS for user in IDS[:500])


def test_fractional_percentages_have_a_hundredth_of_a_percent_resolution() -> None:
    assert abs(len(_in("tiny", 0.5)) - 50) <= 25
    assert not in_percentage(25, 0.25)
    assert in_percentage(24, 0.25)


def test_a_user_keeps_their_bucket_across_calls() -> None:
    first = [bucket("new_checkout", user) for user in IDS[:1000]]
    assert first == [bucket("new_checkout", user) for user in IDS[:1000]]


def test_raising_a_rollout_keeps_everyone_already_in() -> None:
    assert _in("new_checkout", 10) < _in("new_checkout", 25) < _in("new_checkout", 50)


def test_two_flags_at_the_same_percentage_reach_different_users() -> None:
    first, second = _in("flag_a", 25), _in("flag_b", 25)
    # Independent draws: about a quarter of one is in the other.
    assert abs(len(first & second) - 625) <= 120


def test_other_processes_compute_the_same_buckets() -> None:
    sample = IDS[:300]
    here = [bucket("new_checkout", user) for user in sample]
    program = (
        "import json, sys\n"
        "from bastion.core.flags import bucket\n"
        "ids = json.load(sys.stdin)\n"
        "print(json.dumps([bucket('new_checkout', i) for i in ids]))\n"
    )
    for seed in ("1", "2"):  # different hash() salts: a salted hash would differ
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", program],
            input=json.dumps(sample),
            capture_output=True,
            text=True,
            env=env,
            check=True,
            timeout=60,
        )
        assert json.loads(done.stdout) == here


# Evaluation ----------------------------------------------------------------------


def rule(value: object, **conditions: object) -> FlagRule:
    return FlagRule.model_validate({"value": value, **conditions})


def test_a_flag_without_rules_is_static() -> None:
    flag = Flag("theme", "string", "classic")
    result = flag.evaluate(Subject.of("u1", ["staff"]))
    assert (result.value, result.reason, result.rule, result.variant) == (
        "classic",
        Reason.STATIC,
        None,
        "classic",
    )


def test_rules_are_tried_in_order_and_the_first_match_wins() -> None:
    users_first = Flag(
        "theme",
        "string",
        "classic",
        [rule("mine", users=["ann"]), rule("staff", roles=["staff"])],
    )
    roles_first = Flag(
        "theme",
        "string",
        "classic",
        [rule("staff", roles=["staff"]), rule("mine", users=["ann"])],
    )
    ann = Subject.of("ann", ["staff"])
    bob = Subject.of("bob", ["staff"])
    assert users_first.evaluate(ann).value == "mine"
    assert users_first.evaluate(ann).rule == 0
    assert users_first.evaluate(bob).value == "staff"
    assert users_first.evaluate(bob).rule == 1
    assert roles_first.evaluate(ann).value == "staff"
    assert users_first.evaluate(Subject.of("cy", ["member"])).reason is Reason.DEFAULT


def test_every_condition_of_a_rule_must_hold() -> None:
    flag = Flag(
        "beta",
        "boolean",
        False,
        [rule(True, roles=["staff"], tenants=["acme"])],
    )
    assert flag.evaluate(Subject.of("u", ["staff"], "acme")).value is True
    assert flag.evaluate(Subject.of("u", ["staff"], "globex")).value is False
    assert flag.evaluate(Subject.of("u", ["member"], "acme")).value is False


def test_a_percentage_rule_is_a_split_for_users_in_it_only() -> None:
    flag = Flag("beta", "boolean", False, [rule(True, percentage=30)])
    inside = next(u for u in IDS if in_percentage(bucket("beta", u), 30))
    outside = next(u for u in IDS if not in_percentage(bucket("beta", u), 30))
    assert flag.evaluate(Subject.of(inside)).reason is Reason.SPLIT
    assert flag.evaluate(Subject.of(inside)).value is True
    assert flag.evaluate(Subject.of(outside)).reason is Reason.DEFAULT


def test_anonymous_callers_match_neither_percentage_nor_user_rules() -> None:
    flag = Flag(
        "beta",
        "boolean",
        False,
        [rule(True, percentage=100), rule(True, users=["ann"]), rule(True, roles=["staff"])],
    )
    anonymous = Subject.of_context(RequestContext())
    assert flag.evaluate(anonymous).reason is Reason.DEFAULT
    assert flag.evaluate(Subject.of("ann")).reason is Reason.SPLIT


def test_signed_in_callers_hold_the_authenticated_role() -> None:
    flag = Flag("beta", "boolean", False, [rule(True, roles=["authenticated"])])
    assert flag.evaluate(Subject.of_context(RequestContext(actor="u1"))).value is True
    assert flag.evaluate(Subject.of_context(RequestContext())).value is False


def test_a_switched_off_flag_answers_its_default_whatever_its_rules() -> None:
    flag = Flag("beta", "boolean", False, [rule(True, roles=["staff"])], enabled=False)
    result = flag.evaluate(Subject.of("u", ["staff"]))
    assert (result.value, result.reason) == (False, Reason.DISABLED)


def test_variants_name_the_value() -> None:
    limit = Flag("limit", "number", 2.5, [rule(10, users=["ann"])])
    assert limit.evaluate(Subject.of("ann")).variant == "10"
    assert limit.evaluate(Subject.of("bob")).variant == "2.5"
    assert Flag("beta", "boolean", False).evaluate(Subject()).variant == "false"
