"""What admins do to feature flags: read them, override them, reset them, try them out.

Every call needs the ``admin`` role (and a credential not narrowed by
scopes). An override is checked by the flag's own rules (``InvalidInput``
pointing at each problem), stored in ``bastion_flags`` and audited in the
same transaction: ``flag.updated`` or ``flag.reset`` in the auth audit trail,
with the actor, the request id, and the override before and after. This
worker applies it at once; the others as :mod:`bastion.core.flags.sync` says.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictStr, ValidationError

from bastion.blueprint.identity import FLAGS
from bastion.core.context import RequestContext
from bastion.core.errors import FieldError, InvalidInput, NotFound
from bastion.core.flags.board import FlagBoard, UnknownFlag
from bastion.core.flags.evaluation import Subject
from bastion.core.flags.overrides import Override, parse_override
from bastion.core.flags.sync import FlagSync
from bastion.core.identity.admin_parts import require_admin
from bastion.core.identity.store import IdentityRecords
from bastion.core.ids import parse_id
from bastion.core.ports import Row
from bastion.core.records import RecordService
from bastion.core.validation import field_errors

__all__ = ["FLAG_RESET", "FLAG_UPDATED", "FlagAdmin"]

FLAG_UPDATED = "flag.updated"
"""The audit event of an override set."""
FLAG_RESET = "flag.reset"
"""The audit event of an override removed (the flag is as the blueprint says again)."""


class _EvaluationBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    user: StrictStr | None = None
    roles: list[StrictStr] = []
    tenant: StrictStr | None = None


class FlagAdmin:
    """Admin operations on the flags of one application.

    Args:
        service: the record service (identity resources included).
        board: the worker's flags.
        sync: refreshes ``board`` (right after a change here).
    """

    def __init__(self, service: RecordService, board: FlagBoard, sync: FlagSync) -> None:
        self.service = service
        self.board = board
        self.sync = sync

    def _declared(self, name: str) -> None:
        if name not in self.board.declared:
            raise NotFound(f"there is no flag called {name!r}")

    def flags(self, ctx: RequestContext) -> list[Row]:
        """Every flag: as declared, its override, and as in force."""
        require_admin(ctx)
        snapshot = self.board.snapshot
        return [snapshot.describe(name) for name in snapshot.declared]

    def flag(self, ctx: RequestContext, name: str) -> Row:
        """One flag: as declared, its override, and as in force."""
        require_admin(ctx)
        self._declared(name)
        return self.board.snapshot.describe(name)

    async def set_override(self, ctx: RequestContext, name: str, body: Any) -> Row:
        """Override flag ``name`` with ``body`` (``default``, ``rules``, ``enabled``)."""
        require_admin(ctx)
        self._declared(name)
        override = parse_override(self.board.spec(name), body, roles=self.board.roles)
        actor = parse_id(ctx.actor) if ctx.actor else None
        values = {**override.stored(), "updated_by": actor}
        async with self.service.store.unit_of_work() as uow:
            records = IdentityRecords(self.service, uow, ctx)
            current = await self._current(records, name)
            if current is None:
                await records.records.create(FLAGS, {"flag": name, **values})
            else:
                await records.records.update(FLAGS, current["id"], values)
            after = Override(override.default, override.rules, override.enabled, None, actor)
            await records.audit(
                FLAG_UPDATED,
                detail={"flag": name, "before": _audited(current), "after": _audited(after)},
            )
        await self.sync.refresh(force=True)
        return self.board.snapshot.describe(name)

    async def reset(self, ctx: RequestContext, name: str) -> None:
        """Remove the override of ``name``: the blueprint's definition is in force again."""
        require_admin(ctx)
        self._declared(name)
        async with self.service.store.unit_of_work() as uow:
            records = IdentityRecords(self.service, uow, ctx)
            current = await self._current(records, name)
            if current is None:
                return  # nothing to reset, and nothing changed to audit
            await records.records.delete(FLAGS, current["id"])
            await records.audit(
                FLAG_RESET, detail={"flag": name, "before": _audited(current), "after": None}
            )
        await self.sync.refresh(force=True)

    def evaluate(self, ctx: RequestContext, name: str, body: Any) -> Row:
        """The value of ``name`` for the caller ``body`` describes (``user``, ``roles``,
        ``tenant``), and why: what that caller would get now."""
        require_admin(ctx)
        self._declared(name)
        if not isinstance(body, dict):
            raise InvalidInput(
                "the body must be a JSON object", errors=(FieldError("", "must be an object"),)
            )
        try:
            asked = _EvaluationBody.model_validate(body)
        except ValidationError as exc:
            raise InvalidInput("the caller is not valid", errors=field_errors(exc)) from None
        subject = Subject.of(asked.user, asked.roles, asked.tenant)
        try:
            evaluation = self.board.snapshot.evaluate(name, subject)
        except UnknownFlag:  # pragma: no cover - checked above, the snapshot has every flag
            raise NotFound(f"there is no flag called {name!r}") from None
        return {"flag": name, **evaluation.as_json()}

    @staticmethod
    async def _current(records: IdentityRecords, name: str) -> Row | None:
        found = await records.find_one(FLAGS, flag=name)
        if found is None:
            return None
        # Locked until the end of the transaction: the audited "before" is what is replaced.
        return await records.records.get(FLAGS, found["id"], for_update=True)


def _audited(current: Row | Override | None) -> dict[str, Any] | None:
    """An override as the audit trail records it (JSON values only)."""
    if current is None:
        return None
    if isinstance(current, Override):
        stored = current.stored()
    else:
        stored = {key: current.get(key) for key in ("default_value", "rules", "enabled")}
    rules: Sequence[Any] | None = stored["rules"]
    return {"default": stored["default_value"], "rules": rules, "enabled": stored["enabled"]}
