"""Stable rollout buckets: the same caller lands in the same bucket of a flag everywhere.

A caller's bucket for a flag is the first 8 bytes of
``sha256(f"{flag}:{targeting_key}")``, read as a big-endian unsigned
integer, modulo :data:`BUCKETS`; a percentage rule holds the buckets below
``percentage * 100``. It depends on nothing but the two strings: not on the
process (Python's ``hash()`` is salted per process), the machine or the
order of requests, so every worker, and any tool recomputing it, agrees.

Because every percentage rule of one flag uses the same buckets, raising a
rollout from 10 % to 25 % keeps the first 10 % in; and since the flag's name
is part of the input, two flags at 10 % reach different callers.

Example:
    >>> bucket("new_checkout", "0190b4f2-8c3a-7c4e-9f1a-2b3c4d5e6f70")
    1135
"""

from __future__ import annotations

import hashlib

__all__ = ["BUCKETS", "bucket", "in_percentage"]

BUCKETS = 10_000
"""Buckets per flag: a percentage has two decimals of resolution (0.01 %)."""


def bucket(flag: str, targeting_key: str) -> int:
    """The bucket (0 to 9999) of ``targeting_key`` (a user id) for ``flag``."""
    digest = hashlib.sha256(f"{flag}:{targeting_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def in_percentage(bucket_number: int, percentage: float) -> bool:
    """Whether ``bucket_number`` is in the first ``percentage`` (0 to 100) of the buckets."""
    return bucket_number < percentage * 100
