"""The in-memory signing key repository."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bastion.adapters.identity import MemorySigningKeys
from bastion.core.ports import SigningKey, SigningKeyRepository

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def key(kid: str, created_at: datetime = T0) -> SigningKey:
    return SigningKey(
        kid=kid,
        algorithm="EdDSA",
        private_pem=b"encrypted",
        public_jwk={"kty": "OKP", "crv": "Ed25519", "x": kid},
        created_at=created_at,
    )


async def test_keys_load_oldest_first() -> None:
    keys: SigningKeyRepository = MemorySigningKeys([key("b", T0 + timedelta(hours=1))])
    await keys.add(key("a"))
    assert [k.kid for k in await keys.load()] == ["a", "b"]


async def test_a_kid_cannot_be_added_twice() -> None:
    keys = MemorySigningKeys()
    await keys.add(key("a"))
    with pytest.raises(ValueError, match="already"):
        await keys.add(key("a"))


async def test_retiring_keeps_the_first_retirement_time() -> None:
    keys = MemorySigningKeys([key("a")])
    await keys.retire("a", T0 + timedelta(hours=1))
    await keys.retire("a", T0 + timedelta(hours=2))
    (stored,) = await keys.load()
    assert stored.retired_at == T0 + timedelta(hours=1)


async def test_retiring_or_removing_a_missing_key_is_ignored() -> None:
    keys = MemorySigningKeys([key("a")])
    await keys.retire("zz", T0)
    await keys.remove("zz")
    await keys.remove("a")
    assert await keys.load() == []
