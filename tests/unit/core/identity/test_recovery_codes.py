"""Recovery codes: their format, and a hash that ignores case, dashes and spaces."""

from __future__ import annotations

import hashlib
import re

from hypothesis import given
from hypothesis import strategies as st

from bastion.core.identity import hash_recovery_code, new_recovery_codes, normalize_recovery_code
from bastion.core.identity.otp import RECOVERY_CODE_ALPHABET

CODE = re.compile(rf"[{RECOVERY_CODE_ALPHABET}]{{5}}-[{RECOVERY_CODE_ALPHABET}]{{5}}")


def test_new_codes_are_distinct_and_formatted_in_two_groups_of_five() -> None:
    codes = new_recovery_codes()
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert all(CODE.fullmatch(code) for code in codes)


def test_the_count_is_honoured() -> None:
    assert len(new_recovery_codes(3)) == 3
    assert new_recovery_codes(0) == []


def test_the_alphabet_has_no_ambiguous_characters() -> None:
    assert not set("01oli") & set(RECOVERY_CODE_ALPHABET)
    assert RECOVERY_CODE_ALPHABET.islower()


def test_the_hash_is_the_sha256_of_the_normalized_code() -> None:
    expected = hashlib.sha256(b"abcde23456").hexdigest()
    assert hash_recovery_code(" ABCDE-23456 ") == expected


code_chars = st.text(alphabet=RECOVERY_CODE_ALPHABET, min_size=10, max_size=10)
noise = st.lists(st.sampled_from(["-", " ", "\t", "\n"]), max_size=3).map("".join)


@given(code=code_chars, data=st.data())
def test_case_dashes_and_whitespace_do_not_change_the_hash(code: str, data: st.DataObject) -> None:
    typed = "".join(
        (ch.upper() if data.draw(st.booleans()) else ch) + data.draw(noise) for ch in code
    )
    assert normalize_recovery_code(typed) == code
    assert hash_recovery_code(data.draw(noise) + typed) == hash_recovery_code(code)


@given(st.text())
def test_normalizing_twice_changes_nothing(text: str) -> None:
    once = normalize_recovery_code(text)
    assert normalize_recovery_code(once) == once
    assert "-" not in once
    assert not any(ch.isspace() for ch in once)


@given(code_chars, code_chars)
def test_different_codes_hash_differently(first: str, second: str) -> None:
    assert (hash_recovery_code(first) == hash_recovery_code(second)) == (first == second)
