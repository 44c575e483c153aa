"""Feature flags through OpenFeature: the provider, the evaluation context of a request,
and the middleware keeping a worker's flags fresh.

The application registers a :class:`BastionProvider` with OpenFeature when it
starts, so code anywhere in the process (hooks, custom routes) asks for
flags through the standard client::

    from openfeature import api
    from bastion.ops.flags import evaluation_context_for

    @hooks.before_create("orders")
    async def choose_the_flow(event: HookEvent) -> None:
        client = api.get_client()
        if client.get_boolean_value("express_checkout", False,
                                    evaluation_context_for(event.context)):
            event.record["flow"] = "express"

The provider answers from the worker's current snapshot (no I/O): the
blueprint's flags with the admins' overrides. Its targeting key is the user
id; the attributes ``roles`` (a list) and ``tenant`` are read. Reasons are
OpenFeature's: ``STATIC`` (no rules), ``TARGETING_MATCH``, ``SPLIT`` (a
percentage rule), ``DEFAULT`` (no rule matched), ``DISABLED`` (switched off
by an admin). An undeclared flag resolves to the caller's default with
``FLAG_NOT_FOUND``; a flag of another type with ``TYPE_MISMATCH``. Number
flags resolve as floats, and as integers when their value is whole; there
are no object flags (``TYPE_MISMATCH``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from openfeature.evaluation_context import EvaluationContext, EvaluationContextAttribute
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import FlagResolutionDetails, FlagValueType, Reason
from openfeature.provider import AbstractProvider, Metadata

from bastion.core.context import RequestContext
from bastion.core.flags import Evaluation, FlagBoard, Subject, UnknownFlag

__all__ = ["BastionProvider", "evaluation_context_for", "subject_of"]

_T = TypeVar("_T")


def evaluation_context_for(ctx: RequestContext) -> EvaluationContext:
    """The OpenFeature evaluation context of a request's caller: the user id as the
    targeting key, their ``roles`` and ``tenant`` as attributes."""
    attributes: dict[str, EvaluationContextAttribute] = {"roles": sorted(ctx.roles)}
    if ctx.tenant is not None:
        attributes["tenant"] = ctx.tenant
    return EvaluationContext(targeting_key=ctx.actor, attributes=attributes)


def subject_of(context: EvaluationContext | None) -> Subject:
    """Whom ``context`` describes (attributes of other types than documented are ignored)."""
    if context is None:
        return Subject()
    attributes: Mapping[str, Any] = context.attributes or {}
    roles = attributes.get("roles", ())
    if isinstance(roles, str):
        roles = (roles,)
    tenant = attributes.get("tenant")
    return Subject.of(
        context.targeting_key or None,
        (role for role in roles if isinstance(role, str)) if isinstance(roles, Sequence) else (),
        tenant if isinstance(tenant, str) else None,
    )


class BastionProvider(AbstractProvider):
    """An OpenFeature provider answering from an application's flags.

    Args:
        board: the application's flags (its current snapshot is read at each call).
        name: shown in the provider's metadata.
    """

    def __init__(self, board: FlagBoard, *, name: str = "bastion") -> None:
        super().__init__()
        self.board = board
        self._metadata = Metadata(name=name)

    def get_metadata(self) -> Metadata:
        """The provider's name."""
        return self._metadata

    def resolve_boolean_details(
        self,
        flag_key: str,
        default_value: bool,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[bool]:
        """A boolean flag's value."""
        return self._resolve(flag_key, default_value, evaluation_context, "boolean", _boolean)

    def resolve_string_details(
        self,
        flag_key: str,
        default_value: str,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[str]:
        """A string flag's value."""
        return self._resolve(flag_key, default_value, evaluation_context, "string", _string)

    def resolve_integer_details(
        self,
        flag_key: str,
        default_value: int,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[int]:
        """A number flag's value, when it is whole."""
        return self._resolve(flag_key, default_value, evaluation_context, "number", _integer)

    def resolve_float_details(
        self,
        flag_key: str,
        default_value: float,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[float]:
        """A number flag's value."""
        return self._resolve(flag_key, default_value, evaluation_context, "number", _float)

    def resolve_object_details(
        self,
        flag_key: str,
        default_value: Sequence[FlagValueType] | Mapping[str, FlagValueType],
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[Sequence[FlagValueType] | Mapping[str, FlagValueType]]:
        """Bastion has no object flags: ``FLAG_NOT_FOUND`` or ``TYPE_MISMATCH``."""
        return self._resolve(flag_key, default_value, evaluation_context, "object", _never)

    def _resolve(
        self,
        key: str,
        default: _T,
        context: EvaluationContext | None,
        kind: str,
        convert: Any,
    ) -> FlagResolutionDetails[_T]:
        snapshot = self.board.snapshot
        try:
            flag = snapshot.flag(key)
        except UnknownFlag:
            return _error(default, ErrorCode.FLAG_NOT_FOUND, f"there is no flag called {key!r}")
        if flag.type != kind:
            return _error(default, ErrorCode.TYPE_MISMATCH, f"{key!r} is a {flag.type} flag")
        evaluation: Evaluation = flag.evaluate(subject_of(context))
        value = convert(evaluation.value)
        if value is None:
            return _error(
                default, ErrorCode.TYPE_MISMATCH, f"{key!r} is {evaluation.value!r}, not whole"
            )
        metadata = {} if evaluation.rule is None else {"rule": evaluation.rule}
        return FlagResolutionDetails(
            value=value,
            reason=evaluation.reason.value,
            variant=evaluation.variant,
            flag_metadata=metadata,
        )


def _error(default: _T, code: ErrorCode, message: str) -> FlagResolutionDetails[_T]:
    return FlagResolutionDetails(
        value=default, error_code=code, error_message=message, reason=Reason.ERROR
    )


def _boolean(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _string(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _integer(value: object) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _never(value: object) -> None:
    return None
