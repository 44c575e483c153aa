"""Access decisions: may this caller take this action, on which rows, seeing which fields.

:class:`AccessRules` is compiled once from the blueprint; :meth:`AccessRules.caller`
binds it to one request's :class:`~bastion.core.context.RequestContext`. The
record service asks it before every command, so the same rules hold for REST,
GraphQL and anything else built on the service:

- *actions*: a role's grant names the actions it may take (``list``,
  ``read``, ``create``, ``update``, ``delete``). No grant: 401 for anonymous
  callers, 403 for signed-in ones.
- *rows*: a grant with ``rows: own`` confines the caller to records whose
  owner field is them; ``tenant_scoped`` resources confine every caller but
  admins to their tenant. A record outside the caller's rows is answered as
  missing (404), so its existence does not leak.
- *fields*: ``hidden_from`` removes a field from what a role reads and may
  query; ``read_only_for`` (and ``hidden_from``) stop a role writing it.
- *scopes*: a token or API key narrowed to scopes (``orders:read``,
  ``orders:write``, ``*``) allows only those, whatever the roles.
- *feature flags*: a resource behind a boolean flag (``flag:``) that is off
  for the caller answers 404 as if it did not exist; a field behind one is
  hidden as ``hidden_from`` hides it.

Admins (role ``admin``) pass every rule but scopes and feature flags (a flag
is a product decision, not a permission: target admins with ``roles:
[admin]``). Bastion's internal resources are never reachable through the service.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, NoReturn
from uuid import UUID

from bastion.blueprint import (
    ANYONE,
    AUTHENTICATED,
    BelongsTo,
    Blueprint,
    Resource,
    RoleGrant,
    owner_field,
)
from bastion.blueprint.access import Action
from bastion.blueprint.identity import TENANT_FIELD, TENANTS, USERS
from bastion.core.aggregation import AggregateSpec
from bastion.core.context import RequestContext
from bastion.core.errors import FieldError, Forbidden, InvalidQuery, NotAuthenticated, NotFound
from bastion.core.flags.board import CallerFlags, FlagBoard
from bastion.core.ids import parse_id
from bastion.core.query import Filter, QuerySpec

__all__ = ["AccessRules", "CallerAccess", "RowScope"]

_WRITE_ACTIONS = frozenset({"create", "update", "delete"})


@dataclass(frozen=True, slots=True)
class RowScope:
    """Which rows of a resource a caller may touch for one action.

    ``owner`` is the field that must equal the caller's id (``None``: any
    owner); ``tenant`` the field that must equal the caller's tenant.
    """

    owner: str | None = None
    tenant: str | None = None

    @property
    def unrestricted(self) -> bool:
        """Whether every row is in scope."""
        return self.owner is None and self.tenant is None


_EVERY_ROW = RowScope()


@dataclass(frozen=True, slots=True)
class _ResourceRules:
    name: str
    grants: dict[str, RoleGrant] | None
    """``None``: the resource declared no rules (open or admin-only by environment)."""
    own_field: str | None
    """The field compared with the caller's id for ``rows: own``."""
    tenant_field: str | None
    hidden_from: dict[str, frozenset[str]]
    """Field -> roles it is hidden from."""
    read_only_for: dict[str, frozenset[str]]
    searchable: tuple[str, ...]
    internal: bool
    flag: str | None
    """The boolean flag the resource is behind, if any."""
    flagged: tuple[tuple[str, str], ...]
    """(field, flag) for every field behind a flag."""


def _compile(name: str, resource: Resource) -> _ResourceRules:
    own = "id" if name == USERS else owner_field(resource)
    tenant = None
    if resource.tenant_scoped:
        tenant = TENANT_FIELD
    if name == TENANTS:
        own, tenant = None, None
    return _ResourceRules(
        name=name,
        grants=resource.access,
        own_field=own,
        tenant_field=tenant,
        hidden_from={n: frozenset(f.hidden_from) for n, f in resource.fields.items()},
        read_only_for={n: frozenset(f.read_only_for) for n, f in resource.fields.items()},
        searchable=tuple(n for n, f in resource.fields.items() if f.searchable),
        internal=resource.internal,
        flag=resource.flag,
        flagged=tuple((n, f.flag) for n, f in resource.fields.items() if f.flag is not None),
    )


class AccessRules:
    """The blueprint's access rules, compiled once.

    Args:
        blueprint: the served blueprint (identity resources included).
        open_by_default: whether resources without rules are open to anyone
            (development) instead of admin-only (production).
        flags: the worker's feature flags; by default the blueprint's, as declared.
    """

    def __init__(
        self, blueprint: Blueprint, *, open_by_default: bool, flags: FlagBoard | None = None
    ) -> None:
        self.open_by_default = open_by_default
        self.flags = flags if flags is not None else FlagBoard(blueprint)
        """The feature flags resources and fields may be behind."""
        self._rules = {name: _compile(name, r) for name, r in blueprint.resources.items()}
        self.targets: dict[str, dict[str, str]] = {
            name: {
                **{f: spec.resource for f, spec in r.fields.items() if isinstance(spec, BelongsTo)},
                **{relation: link.resource for relation, link in r.has_many.items()},
            }
            for name, r in blueprint.resources.items()
        }
        """Resource -> relation (belongs_to field or has_many) -> the resource it leads to."""

    def caller(self, ctx: RequestContext) -> CallerAccess:
        """The rules as they apply to the caller of ``ctx``."""
        return CallerAccess(self, ctx)

    def rules(self, resource: str) -> _ResourceRules:
        """The compiled rules of ``resource``; ``NotFound`` for unknown or internal ones."""
        rules = self._rules.get(resource)
        if rules is None or rules.internal:
            raise NotFound(f"there is no resource called {resource!r}")
        return rules

    def flagged_fields(self, resource: str) -> tuple[tuple[str, str], ...]:
        """(field, flag) for every field of ``resource`` behind a flag."""
        rules = self._rules.get(resource)
        return () if rules is None else rules.flagged


class CallerAccess:
    """The access rules for one caller (see the module documentation)."""

    def __init__(self, rules: AccessRules, ctx: RequestContext) -> None:
        self._all = rules
        self.ctx = ctx
        self.is_admin = ctx.is_admin
        roles = set(ctx.roles) | {ANYONE}
        if not ctx.is_anonymous:
            roles.add(AUTHENTICATED)
        self.roles = frozenset(roles)
        self._hidden: dict[str, frozenset[str]] = {}
        self._flags: CallerFlags | None = None

    @property
    def flags(self) -> CallerFlags:
        """The feature flags as they apply to this caller (one snapshot per caller)."""
        flags = self._flags
        if flags is None:
            flags = self._flags = self._all.flags.caller(self.ctx)
        return flags

    # --- actions and rows ---------------------------------------------------------------

    def require(self, resource: str, action: Action) -> RowScope:
        """The rows ``action`` may touch; raise if the caller may not take it at all."""
        rules = self._all.rules(resource)
        if rules.flag is not None and not self.flags.enabled(rules.flag):
            # Off for this caller: as absent as an unknown resource, whatever their roles.
            raise NotFound(f"there is no resource called {resource!r}")
        self._check_scope(resource, action)
        if self.is_admin:
            return _EVERY_ROW
        tenant = rules.tenant_field
        if tenant is not None and _as_uuid(self.ctx.tenant) is None:
            # No tenant, or one that names no tenant record (an external provider's).
            self._deny(f"{resource} records belong to tenants, and your account has none")
        if rules.grants is None:
            if self._all.open_by_default:
                return RowScope(tenant=tenant)
            self._deny(f"only admins may {action} {resource} (it declares no access rules)")
        granted = [g for role, g in rules.grants.items() if role in self.roles and g.allows(action)]
        if not granted:
            self._deny(f"you may not {action} {resource}")
        if any(g.rows == "all" for g in granted):
            return RowScope(tenant=tenant)
        if rules.name == TENANTS:
            return RowScope(owner="id")
        return RowScope(owner=rules.own_field, tenant=tenant)

    def _check_scope(self, resource: str, action: Action) -> None:
        scopes = self.ctx.scopes
        if scopes is None or "*" in scopes:
            return
        needed = f"{resource}:{'write' if action in _WRITE_ACTIONS else 'read'}"
        if needed not in scopes and f"{resource}:*" not in scopes:
            raise Forbidden(f"this credential's scopes do not include {needed}")

    def _deny(self, detail: str) -> NoReturn:
        if self.ctx.is_anonymous:
            raise NotAuthenticated(f"sign in first: {detail}", reason="missing_token")
        raise Forbidden(detail)

    def row_filters(self, resource: str, scope: RowScope) -> tuple[Filter, ...]:
        """The filters confining a query of ``resource`` to ``scope``."""
        filters = []
        if scope.owner is not None:
            target = self.ctx.tenant if resource == TENANTS else self.ctx.actor
            filters.append(_equal(scope.owner, _as_uuid(target)))
        if scope.tenant is not None:
            filters.append(_equal(scope.tenant, _as_uuid(self.ctx.tenant)))
        return tuple(filters)

    def related_row_filters(self, resource: str, filters: Iterable[Filter]) -> tuple[Filter, ...]:
        """Filters confining each relation that ``filters`` go through to readable rows.

        Without them ``note.title=x`` would match through a note the caller may
        not read, and so tell them its title.
        """
        confined: list[Filter] = []
        for via in dict.fromkeys(f.via for f in filters if f.via is not None):
            target = self._related(resource, via)
            scope = self.require(target, "read")
            confined += [replace(f, via=via) for f in self.row_filters(target, scope)]
        return tuple(confined)

    def in_scope(self, resource: str, scope: RowScope, row: dict[str, Any]) -> bool:
        """Whether the stored ``row`` is one the caller may touch under ``scope``."""
        for flt in self.row_filters(resource, scope):
            if flt.op == "isnull" or row.get(flt.field) != flt.value:
                return False
        return True

    def readable_row(self, resource: str, row: dict[str, Any]) -> bool:
        """Whether the caller may read ``row`` (for embedded, expanded records)."""
        try:
            scope = self.require(resource, "read")
        except (Forbidden, NotAuthenticated, NotFound):
            return False
        return self.in_scope(resource, scope, row)

    # --- fields --------------------------------------------------------------------------

    def hidden(self, resource: str) -> frozenset[str]:
        """Fields of ``resource`` the caller may not see or query (``hidden_from`` them,
        or behind a flag that is off for them)."""
        # Asked once per record of a page: worked out once per resource and caller.
        hidden = self._hidden.get(resource)
        if hidden is None:
            if self.is_admin:
                hidden = frozenset()
                flagged = self._all.flagged_fields(resource)
            else:
                rules = self._all.rules(resource)
                hidden = frozenset(
                    n for n, roles in rules.hidden_from.items() if roles & self.roles
                )
                flagged = rules.flagged
            if flagged:
                hidden = hidden.union(n for n, flag in flagged if not self.flags.enabled(flag))
            self._hidden[resource] = hidden
        return hidden

    def unwritable(self, resource: str) -> frozenset[str]:
        """Fields of ``resource`` the caller may not write (hidden or read-only for them)."""
        if self.is_admin:
            return self.hidden(resource)
        rules = self._all.rules(resource)
        read_only = {n for n, roles in rules.read_only_for.items() if roles & self.roles}
        return self.hidden(resource) | read_only

    def redact(self, resource: str, row: dict[str, Any]) -> dict[str, Any]:
        """``row`` without the fields hidden from the caller."""
        hidden = self.hidden(resource)
        if not hidden:
            return row
        return {k: v for k, v in row.items() if k not in hidden}

    def check_body(self, resource: str, body: Any) -> None:
        """Refuse (403) a write body naming fields the caller may not write."""
        if not isinstance(body, dict):
            return
        denied = sorted(set(body) & self.unwritable(resource))
        if denied:
            raise Forbidden(
                f"you may not write {', '.join(denied)} of {resource}",
                errors=tuple(FieldError(f"/{name}", "you may not write it") for name in denied),
            )

    def stamp_new(self, resource: str, scope: RowScope, values: dict[str, Any]) -> dict[str, Any]:
        """Values of a new record with its owner and tenant set from the caller.

        The owner defaults to the caller; under ``rows: own`` it may not be anyone else.
        """
        rules = self._all.rules(resource)
        owner = rules.own_field if rules.own_field != "id" else None
        actor = _as_uuid(self.ctx.actor)
        if owner is not None and actor is None and scope.owner is not None:
            # Under rows: own a record must be the caller's, and this caller (anonymous,
            # or from an external provider) is no local user who could own it.
            raise Forbidden(f"{resource} records are owned by users of this service")
        if owner is not None and actor is not None:
            given = values.get(owner)
            if given is None:
                values = {**values, owner: actor}
            elif scope.owner is not None and given != actor:
                raise Forbidden(
                    f"you may only create {resource} records you own",
                    errors=(FieldError(f"/{owner}", "must be you (or left out)"),),
                )
        if rules.tenant_field is not None and self.ctx.tenant is not None:
            values = {**values, rules.tenant_field: _as_uuid(self.ctx.tenant)}
        return values

    def check_owner_kept(
        self, resource: str, scope: RowScope, before: dict[str, Any], after: dict[str, Any]
    ) -> None:
        """Refuse handing a record under ``rows: own`` to someone else."""
        owner = scope.owner
        if owner is None or owner == "id" or before.get(owner) == after.get(owner):
            return
        raise Forbidden(
            f"you may not give a {resource} record to someone else",
            errors=(FieldError(f"/{owner}", "must stay you"),),
        )

    # --- queries -------------------------------------------------------------------------

    def check_query(self, resource: str, spec: QuerySpec) -> None:
        """Refuse a query naming fields (or relations) the caller may not read."""
        self._check_names(resource, _query_names(spec), search=spec.search is not None)
        self._check_related_filters(resource, spec.filters)
        for name in spec.expand:
            self._require_related(resource, name, "expand")

    def check_aggregate(self, resource: str, spec: AggregateSpec) -> None:
        """Refuse an aggregation over fields the caller may not read."""
        names = [*spec.group_by, *(a.field for a in spec.aggregates if a.field)]
        names += [f.field for f in spec.filters if f.via is None]
        names += [f.via for f in spec.filters if f.via is not None]
        self._check_names(resource, names, search=spec.search is not None)
        self._check_related_filters(resource, spec.filters)

    def _check_related_filters(self, resource: str, filters: Iterable[Filter]) -> None:
        for flt in filters:
            if flt.via is not None:
                target = self._require_related(resource, flt.via, flt.via)
                self._check_names(target, [flt.field], search=False, parameter=flt.via)

    def _related(self, resource: str, name: str) -> str:
        return self._all.targets[resource].get(name, resource)

    def _require_related(self, resource: str, name: str, parameter: str) -> str:
        """The resource the relation ``name`` leads to, once the caller may read it."""
        target = self._related(resource, name)
        try:
            self.require(target, "read")
        except NotFound:
            # Its resource is behind a flag that is off for the caller: as absent as it is.
            raise InvalidQuery(
                f"there is no relation {name!r} you may query",
                errors=(FieldError(parameter, f"{name} is not a relation you may query"),),
            ) from None
        return target

    def _check_names(
        self, resource: str, names: Iterable[str], *, search: bool, parameter: str | None = None
    ) -> None:
        hidden = self.hidden(resource)
        if not hidden:
            return
        for name in names:
            if name in hidden:
                where = f"{parameter}.{name}" if parameter else name
                raise InvalidQuery(
                    f"there is no field {where!r} you may query",
                    errors=(FieldError(where, "is not a field you may read"),),
                )
        if search and hidden.intersection(self._all.rules(resource).searchable):
            raise InvalidQuery(
                f"full-text search on {resource} covers fields you may not read",
                errors=(FieldError("q", "is not available to you on this resource"),),
            )


def _query_names(spec: QuerySpec) -> list[str]:
    names = [f.field for f in spec.filters if f.via is None]
    names += [f.via for f in spec.filters if f.via is not None]
    names += [key.field for key in spec.sort]
    if spec.fields is not None:
        names += list(spec.fields)
    names += list(spec.expand)
    return names


def _as_uuid(value: str | None) -> UUID | None:
    return None if value is None else parse_id(value)


def _equal(field: str, value: UUID | None) -> Filter:
    # A caller without an id (or tenant) to compare with owns nothing: match no row.
    if value is None:
        return Filter("id", "isnull", True)
    return Filter(field, "eq", value)
