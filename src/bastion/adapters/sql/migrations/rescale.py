"""Decimal scale changes on SQLite, which no schema comparison can see.

SQLite stores a decimal as a BIGINT holding the value times ``10**scale``, so
changing a field's ``scale`` leaves the column type as it was while every
stored value would silently mean something else (1.50 stored as 150 read back
as 0.150). The revision therefore rescales the stored integers itself, in a
block that runs on SQLite only, whichever dialect planned it. A smaller scale
rounds digits away, which counts as destructive. (PostgreSQL changes the
``NUMERIC`` type instead, which the revision does on PostgreSQL only.)
"""

from __future__ import annotations

from dataclasses import dataclass

from alembic.operations import ops

from bastion.adapters.sql.migrations.neutral import OnDialect
from bastion.adapters.sql.migrations.operations import Change
from bastion.adapters.sql.migrations.snapshot import Rename
from bastion.blueprint import AnyField, Blueprint, DecimalField, IntegerField

__all__ = ["Rescale", "decimal_rescales"]


@dataclass(frozen=True, slots=True)
class Rescale:
    """A decimal column whose stored integers must be multiplied or divided by a power of 10."""

    table: str
    column: str
    old_scale: int
    new_scale: int

    @property
    def change(self) -> Change:
        """The change, described, destructive when digits are rounded away."""
        text = (
            f"rescale {self.table}.{self.column} from {self.old_scale} to {self.new_scale} "
            "decimal places (SQLite stores decimals as scaled integers)"
        )
        if self.new_scale < self.old_scale:
            dropped = self.old_scale - self.new_scale
            return Change(text, f"the last {dropped} decimal place(s) of each value are rounded")
        return Change(text)

    def upgrade(self) -> OnDialect:
        """The UPDATE moving stored values to the new scale, on SQLite."""
        return OnDialect(
            "sqlite", [ops.ExecuteSQLOp(self._update(self.new_scale - self.old_scale))]
        )

    def downgrade(self) -> OnDialect:
        """The UPDATE moving stored values back to the old scale, on SQLite."""
        return OnDialect(
            "sqlite", [ops.ExecuteSQLOp(self._update(self.old_scale - self.new_scale))]
        )

    def _update(self, shift: int) -> str:
        column, factor = f'"{self.column}"', 10 ** abs(shift)
        if shift >= 0:
            value = f"{column} * {factor}"
        else:
            # Integer division truncates toward zero; adding half first rounds half away from it.
            half = factor // 2
            value = f"({column} + CASE WHEN {column} < 0 THEN -{half} ELSE {half} END) / {factor}"
        # NULL stays NULL through the arithmetic: no WHERE needed.
        return f'UPDATE "{self.table}" SET {column} = {value}'


def decimal_rescales(
    *, recorded: Blueprint, wanted: Blueprint, renames: list[Rename]
) -> list[Rescale]:
    """The numeric columns whose stored scale (on SQLite) changes from ``recorded`` to ``wanted``.

    Integers count as scale 0: an integer field turned decimal (or back) shares
    the BIGINT column, so its values need rescaling too.
    """
    previous_names = {(table, new): old for table, old, new in renames}
    rescales: list[Rescale] = []
    for table, resource in wanted.resources.items():
        before = recorded.resources.get(table)
        if before is None:
            continue
        for name, field in resource.fields.items():
            old = before.fields.get(name) or before.fields.get(
                previous_names.get((table, name), "")
            )
            old_scale, new_scale = _stored_scale(old), _stored_scale(field)
            if old_scale is not None and new_scale is not None and old_scale != new_scale:
                rescales.append(Rescale(table, name, old_scale, new_scale))
    return rescales


def _stored_scale(field: AnyField | None) -> int | None:
    if isinstance(field, DecimalField):
        return field.scale or 0
    return 0 if isinstance(field, IntegerField) else None
