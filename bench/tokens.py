"""Access-token verification per request: Bastion's key ring against PyJWT called directly.

Run with ``make bench-tokens``. Every authenticated request verifies its bearer
token; the reference is the least any Python service does: one ``jwt.decode``
with the public key already loaded. Bastion adds the ``kid`` lookup, its own
time checks and a cache of tokens already verified (a client sends the same
token for its whole lifetime). Prints a Markdown table of microseconds per
verification and the ratio, measured in the same process, one after the other.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

import jwt

from bastion.adapters.identity import KeyRing, MemorySigningKeys

ROUNDS = 5
CALLS = 5_000


async def _per_call_us(verify: Callable[[], Awaitable[object]]) -> float:
    best = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(CALLS):
            await verify()
        best.append((time.perf_counter() - started) / CALLS * 1e6)
    return statistics.median(best)


async def main() -> None:
    """Measure and print the table."""
    ring = KeyRing(
        MemorySigningKeys(),
        secret="bench-secret-" + "x" * 32,
        issuer="bastion",
        audience="bastion",
        access_ttl=timedelta(minutes=15),
    )
    claims = {"sub": "0190f0c2-0000-7000-8000-000000000001", "roles": ["member"], "amr": ["pwd"]}
    token = await ring.sign(claims)
    public = jwt.PyJWK((await ring.jwks())["keys"][0]).key

    async def reference() -> object:
        return jwt.decode(token, public, algorithms=["EdDSA"], audience="bastion", issuer="bastion")

    # A distinct token for every call of every round, so none was verified before.
    fresh = iter([await ring.sign(claims) for _ in range(CALLS * ROUNDS)])

    async def bastion_first_sight() -> object:
        return await ring.verify(next(fresh))

    async def bastion_again() -> object:
        return await ring.verify(token)

    await ring.verify(token)
    reference_us = await _per_call_us(reference)
    rows = [
        ("PyJWT `jwt.decode` (reference)", reference_us),
        ("Bastion, a token seen for the first time", await _per_call_us(bastion_first_sight)),
        ("Bastion, a token verified before (the usual case)", await _per_call_us(bastion_again)),
    ]
    print("| verification | µs per token | reference ÷ this (higher is faster) |")
    print("|---|---|---|")
    for name, micros in rows:
        print(f"| {name} | {micros:.1f} | {reference_us / micros:.2f}\u00d7 |")


if __name__ == "__main__":
    asyncio.run(main())
