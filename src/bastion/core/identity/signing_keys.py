"""Token signing keys kept in the ``bastion_signing_keys`` resource, shared by every process."""

from __future__ import annotations

from datetime import datetime

from bastion.blueprint.identity import SIGNING_KEYS
from bastion.core.context import ANONYMOUS
from bastion.core.identity.store import IdentityRecords
from bastion.core.ports import Row, SigningKey
from bastion.core.records import RecordService

__all__ = ["StoreSigningKeys"]


def _key(row: Row) -> SigningKey:
    return SigningKey(
        kid=row["kid"],
        algorithm=row["algorithm"],
        private_pem=row["private_key"].encode("ascii"),
        public_jwk=dict(row["public_jwk"]),
        created_at=row["created_at"],
        retired_at=row["retired_at"],
    )


class StoreSigningKeys:
    """A :class:`~bastion.core.ports.SigningKeyRepository` on the record store.

    The private keys arrive encrypted (by the key ring) and are stored as the
    ASCII text of that ciphertext. A key's ``created_at`` is the record's.

    Args:
        service: the record service of a blueprint served with identity.
    """

    def __init__(self, service: RecordService) -> None:
        self._service = service

    async def load(self) -> list[SigningKey]:
        """Every stored key, retired ones included, oldest first."""
        async with self._service.store.unit_of_work(read_only=True) as uow:
            rows = await IdentityRecords(self._service, uow, ANONYMOUS).find_all(SIGNING_KEYS)
        return [_key(row) for row in rows]

    async def add(self, key: SigningKey) -> None:
        """Store a new key."""
        async with self._service.store.unit_of_work() as uow:
            await IdentityRecords(self._service, uow, ANONYMOUS).records.create(
                SIGNING_KEYS,
                {
                    "kid": key.kid,
                    "algorithm": key.algorithm,
                    "private_key": key.private_pem.decode("ascii"),
                    "public_jwk": key.public_jwk,
                    "retired_at": key.retired_at,
                },
            )

    async def retire(self, kid: str, at: datetime) -> None:
        """Mark ``kid`` retired at ``at`` (unless it is gone or already retired)."""
        async with self._service.store.unit_of_work() as uow:
            records = IdentityRecords(self._service, uow, ANONYMOUS)
            row = await records.find_one(SIGNING_KEYS, kid=kid)
            if row is not None and row["retired_at"] is None:
                await records.records.update(SIGNING_KEYS, row["id"], {"retired_at": at})

    async def remove(self, kid: str) -> None:
        """Delete ``kid`` (a key that is gone is ignored)."""
        async with self._service.store.unit_of_work() as uow:
            records = IdentityRecords(self._service, uow, ANONYMOUS)
            row = await records.find_one(SIGNING_KEYS, kid=kid)
            if row is not None:
                await records.records.delete(SIGNING_KEYS, row["id"])
