"""An in-memory :class:`~bastion.core.ports.SigningKeyRepository`."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from bastion.core.ports import SigningKey

__all__ = ["MemorySigningKeys"]


class MemorySigningKeys:
    """Keeps signing keys in this process only: for a single-process embedded
    deployment (keys, and so every token, are lost on restart) and for tests,
    where several key rings sharing one instance stand for several processes."""

    def __init__(self, keys: list[SigningKey] | None = None) -> None:
        self._keys: dict[str, SigningKey] = {key.kid: key for key in keys or ()}

    async def load(self) -> list[SigningKey]:
        """Every key, oldest first."""
        return sorted(self._keys.values(), key=lambda key: key.created_at)

    async def add(self, key: SigningKey) -> None:
        """Store ``key``.

        Raises:
            ValueError: A key with the same ``kid`` is already stored.
        """
        if key.kid in self._keys:
            raise ValueError(f"a signing key {key.kid!r} is already stored")
        self._keys[key.kid] = key

    async def retire(self, kid: str, at: datetime) -> None:
        """Mark ``kid`` retired at ``at`` (unless it is gone or already retired)."""
        key = self._keys.get(kid)
        if key is not None and key.retired_at is None:
            self._keys[kid] = dataclasses.replace(key, retired_at=at)

    async def remove(self, kid: str) -> None:
        """Forget ``kid``."""
        self._keys.pop(kid, None)
