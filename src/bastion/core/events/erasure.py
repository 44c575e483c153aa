"""Erasing a record's personal data from the event log (the right to erasure).

The record's key (see :mod:`bastion.core.events.personal`) is deleted: its
personal fields read ``"[erased]"`` in every event for ever, and every hash
still verifies. The erasure itself is recorded in the auth audit trail
(``personal_data.erased``, with the resource and record id, never the data)
in the same transaction, so who erased what stays accountable; the event log
gets nothing, as it only records changes of records.
"""

from __future__ import annotations

from uuid import UUID

from bastion.core.context import RequestContext
from bastion.core.events.personal import SubjectKeys, subject_of
from bastion.core.identity.store import IdentityRecords
from bastion.core.records import RecordService

__all__ = ["PERSONAL_DATA_ERASED", "erase_personal_data"]

PERSONAL_DATA_ERASED = "personal_data.erased"
"""The auth audit event of an erasure."""


async def erase_personal_data(
    service: RecordService,
    keys: SubjectKeys,
    ctx: RequestContext,
    resource: str,
    record_id: UUID,
) -> bool:
    """Erase the personal data the event log holds of one record; ``False`` if it holds
    none (the record had no personal field logged, or it was erased already)."""
    async with service.store.unit_of_work() as uow:
        erased = await keys.erase(uow, subject_of(resource, record_id))
        if erased:
            await IdentityRecords(service, uow, ctx).audit(
                PERSONAL_DATA_ERASED, detail={"resource": resource, "id": str(record_id)}
            )
    return erased
