"""Opaque tokens and their digests."""

from __future__ import annotations

import base64
import hashlib

from bastion.core.identity import new_opaque_token, token_digest


def test_a_token_is_base64url_of_the_requested_bytes() -> None:
    token = new_opaque_token()
    assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) == 32
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert len(new_opaque_token(16)) < len(token)


def test_tokens_are_random() -> None:
    assert len({new_opaque_token() for _ in range(100)}) == 100


def test_the_digest_is_sha256_hex() -> None:
    assert token_digest("abc") == hashlib.sha256(b"abc").hexdigest()
    assert token_digest("abc") != token_digest("abd")
