"""API keys: prefix, length, base62 alphabet and a CRC32 checksum checked offline."""

from __future__ import annotations

import zlib

from hypothesis import given
from hypothesis import strategies as st

from bastion.core.identity import API_KEY_PREFIX, looks_like_api_key, new_api_key
from bastion.core.identity.opaque import API_KEY_LENGTH

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def test_a_new_key_has_the_prefix_length_and_its_lookup_prefix() -> None:
    key, lookup = new_api_key()
    assert key.startswith("bst_")
    assert len(key) == API_KEY_LENGTH == 50
    assert lookup == key[:12]
    assert set(key[len(API_KEY_PREFIX) :]) <= set(BASE62)


def test_the_checksum_is_the_crc32_of_the_random_part_in_base62() -> None:
    key, _ = new_api_key()
    random_part, checksum = key[4:44], key[44:]
    value = 0
    for ch in checksum:
        value = value * 62 + BASE62.index(ch)
    assert value == zlib.crc32(random_part.encode())


def test_keys_are_random() -> None:
    assert len({new_api_key()[0] for _ in range(100)}) == 100


def test_new_keys_look_like_api_keys() -> None:
    assert all(looks_like_api_key(new_api_key()[0]) for _ in range(100))


@given(position=st.integers(min_value=0, max_value=API_KEY_LENGTH - 1), data=st.data())
def test_any_single_changed_character_is_detected(position: int, data: st.DataObject) -> None:
    key, _ = new_api_key()
    replacement = data.draw(st.characters().filter(lambda ch: ch != key[position]))
    mutated = key[:position] + replacement + key[position + 1 :]
    assert not looks_like_api_key(mutated)


@given(st.text(max_size=60))
def test_arbitrary_text_is_not_an_api_key(text: str) -> None:
    assert not looks_like_api_key(text)


def test_truncated_or_extended_keys_are_refused() -> None:
    key, _ = new_api_key()
    assert not looks_like_api_key(key[:-1])
    assert not looks_like_api_key(key + "0")
    assert not looks_like_api_key("ghp_" + key[4:])
