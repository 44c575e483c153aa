"""The password policy: length bounds, no email, no common or one-character passwords."""

from __future__ import annotations

import pytest

from bastion.core.identity import PasswordPolicy

POLICY = PasswordPolicy()


def test_a_long_uncommon_password_has_no_problems() -> None:
    assert POLICY.problems("correct horse battery staple", email="ada@example.com") == []


def test_no_composition_rules_apply() -> None:
    assert POLICY.problems("lowercase only words here") == []


def test_a_short_password_is_told_the_minimum_length() -> None:
    (problem,) = POLICY.problems("x7#kq")
    assert "at least 10 characters" in problem


def test_a_long_password_is_told_the_maximum_length() -> None:
    (problem,) = PasswordPolicy(max_length=20).problems("a quite long passphrase indeed")
    assert "at most 20 characters" in problem


def test_the_length_bounds_are_inclusive() -> None:
    policy = PasswordPolicy(min_length=12, max_length=12)
    assert policy.problems("zq8vn3kw7rtx") == []


@pytest.mark.parametrize(
    ("password", "email"),
    [("my ADA@Example.com pass", "ada@example.com"), ("xx-LoveLace-2026!", "lovelace@example.com")],
)
def test_a_password_containing_the_email_or_its_local_part_is_refused(
    password: str, email: str
) -> None:
    (problem,) = POLICY.problems(password, email=email)
    assert "email" in problem


def test_a_local_part_shorter_than_four_characters_may_appear() -> None:
    assert POLICY.problems("sadly no one reads these", email="ada@example.com") == []


def test_the_email_check_is_skipped_without_an_email() -> None:
    assert POLICY.problems("ada@example.com-xyz") == []


@pytest.mark.parametrize("password", ["password1234", "PASSWORD1234", "qwertyuiop"])
def test_a_common_password_is_refused_whatever_its_case(password: str) -> None:
    problems = POLICY.problems(password)
    assert any("common" in p for p in problems)


def test_a_single_repeated_character_is_refused() -> None:
    (problem,) = [p for p in POLICY.problems("zzzzzzzzzzzzzzzzz") if "repeated" in p]
    assert "different characters" in problem


def test_every_problem_is_reported_at_once() -> None:
    assert len(POLICY.problems("aaaa")) >= 2


@pytest.mark.parametrize(("low", "high"), [(0, 10), (11, 10)])
def test_inconsistent_bounds_are_refused(low: int, high: int) -> None:
    with pytest.raises(ValueError, match="min_length"):
        PasswordPolicy(min_length=low, max_length=high)
