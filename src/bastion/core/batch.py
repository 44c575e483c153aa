"""Creating many records in one transaction: all of them, or none.

Every item is validated before the transaction opens, so one answer names
every invalid item at once. What only the database or a hook can find
(a missing reference, a taken unique value, a rejection) stops the batch at
the first item it concerns. Either way the error's pointers say which item:
``/records/3/email`` for the field ``email`` of the fourth item when the
items sit at ``/records`` in the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bastion.core.errors import BastionError, FieldError, InvalidInput, StoreUnavailable
from bastion.core.ports import Row
from bastion.core.validation import ResourceValidator

if TYPE_CHECKING:
    from bastion.core.records import TransactionRecords

__all__ = ["insert_batch", "validate_batch"]


def _item_errors(error: BastionError, item: str) -> tuple[FieldError, ...]:
    if not error.errors:
        return (FieldError(item, error.detail),)
    return tuple(FieldError(item + e.pointer, e.detail) for e in error.errors)


def validate_batch(
    validator: ResourceValidator, bodies: Sequence[Any], *, pointer: str = ""
) -> list[dict[str, Any]]:
    """The validated values of every body, or one ``InvalidInput`` naming every bad item.

    Args:
        validator: the resource's validator.
        bodies: the items, each what a single create would take.
        pointer: where the items sit in the request (``/records``).
    """
    values: list[dict[str, Any]] = []
    errors: list[FieldError] = []
    bad = 0
    for index, body in enumerate(bodies):
        try:
            values.append(validator.validate_input(body))
        except InvalidInput as exc:
            bad += 1
            errors.extend(_item_errors(exc, f"{pointer}/{index}"))
    if errors:
        verb = "does" if bad == 1 else "do"
        raise InvalidInput(
            f"{bad} of the {len(bodies)} records {verb} not fit {validator.name}; "
            "nothing was created",
            errors=tuple(errors),
        )
    return values


async def insert_batch(
    records: TransactionRecords,
    resource: str,
    values: Sequence[dict[str, Any]],
    *,
    pointer: str = "",
) -> list[Row]:
    """Insert validated values in order, running hooks and checks per item.

    The first item that fails raises its error, its pointers moved under the
    item (``/records/3/email``); the caller's transaction then rolls back.
    """
    rows: list[Row] = []
    for index, item in enumerate(values):
        try:
            rows.append(await records.insert_values(resource, item))
        except StoreUnavailable:
            raise
        except BastionError as exc:
            # Same error class and code, located at the item; the rest of the
            # batch is not tried because the transaction is rolled back anyway.
            exc.errors = _item_errors(exc, f"{pointer}/{index}")
            exc.detail = f"record {index} of the batch: {exc.detail}; nothing was created"
            raise
    return rows
