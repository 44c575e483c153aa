"""Check a blueprint as a whole: names, references, relations, indexes, defaults.

A blueprint whose pieces each parse can still be impossible to serve: a
relation to a resource that does not exist, a default that breaks its own
field's rules, a cycle of required relations that no first record could
satisfy. :func:`validate_blueprint` finds every such problem at once, for a
blueprint read from YAML or built in Python.

Example:
    >>> from bastion.blueprint.model import Blueprint, BelongsTo, Resource
    >>> validate_blueprint(Blueprint(resources={
    ...     "orders": Resource(fields={"customer": BelongsTo(resource="customers")}),
    ... }))
    Traceback (most recent call last):
    ...
    bastion.blueprint.errors.BlueprintInvalid: 1 problem in the blueprint:
      resources.orders.fields.customer.resource: belongs_to refers to resource \
'customers', which does not exist. Resources: orders — add a resource named \
'customers', or write the name of an existing one
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping

from bastion.blueprint.access_rules import access_problems
from bastion.blueprint.errors import BlueprintInvalid, BlueprintProblem, line_of
from bastion.blueprint.field_rules import constraint_problems, default_problem
from bastion.blueprint.flags import flag_problems
from bastion.blueprint.identity import IDENTITY_RESOURCES, has_identity, with_identity
from bastion.blueprint.listing_rules import listing_problems
from bastion.blueprint.model import (
    QUERY_PARAMETERS,
    SYSTEM_FIELDS,
    BelongsTo,
    Blueprint,
    HasMany,
    OnDelete,
    Resource,
)
from bastion.blueprint.version_rules import version_problems

__all__ = ["validate_blueprint"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_MAX_NAME_LENGTH = 63  # PostgreSQL cuts identifiers at 63 bytes
_INTERNAL_PREFIX = "bastion_"
_RESERVED_RESOURCES = {"auth": "/v1/auth is the authentication API"}
_CODE_REFERENCE = re.compile(
    r"^(?:[\w./-]+\.py|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(?::[A-Za-z_]\w*)?$"
)


def validate_blueprint(
    blueprint: Blueprint,
    *,
    source: str | None = None,
    lines: Mapping[str, int] | None = None,
) -> list[BlueprintProblem]:
    """Check ``blueprint`` as a whole; raise on fatal problems, return the warnings.

    A blueprint built in Python is checked the same way as one read from a
    file: call this with no ``source`` and no ``lines`` and the problems
    carry their path but no file or line.

    Args:
        blueprint: The blueprint to check.
        source: The file it was read from, to name in problems.
        lines: The 1-based line of each dotted path in the file, as recorded
            by the loader; a path without a line takes its nearest ancestor's.

    Returns:
        The warnings: doubtful but servable things (a resource with no fields,
        an index that repeats a field's own unique constraint).

    Raises:
        BlueprintInvalid: With every fatal problem found, not just the first.
    """
    as_written = not has_identity(blueprint)
    checks = _Checks(with_identity(blueprint), source=source, lines=lines)
    if as_written:
        # Checked before the identity resources are merged in, which would hide them.
        for path, message, hint in access_problems(blueprint):
            checks.error(path, message, hint)
    checks.run()
    if checks.errors:
        raise BlueprintInvalid(checks.errors, source=source)
    return checks.warnings


class _Checks:
    """One pass over a blueprint, collecting errors and warnings."""

    def __init__(
        self, blueprint: Blueprint, *, source: str | None, lines: Mapping[str, int] | None
    ) -> None:
        self.blueprint = blueprint
        self.source = source
        self.lines = lines
        self.errors: list[BlueprintProblem] = []
        self.warnings: list[BlueprintProblem] = []
        self.index_names: dict[str, str] = {}

    def error(self, path: str, message: str, hint: str) -> None:
        self.errors.append(self._problem(path, message, hint))

    def warn(self, path: str, message: str, hint: str) -> None:
        self.warnings.append(self._problem(path, message, hint))

    def _problem(self, path: str, message: str, hint: str) -> BlueprintProblem:
        return BlueprintProblem(
            file=self.source,
            path=path,
            line=line_of(path, self.lines),
            message=message,
            hint=hint,
        )

    def run(self) -> None:
        for key in ("hooks", "routes"):
            reference = getattr(self.blueprint, key)
            if reference is not None and not _CODE_REFERENCE.fullmatch(reference):
                self.error(
                    key,
                    f"'{reference}' is neither a Python file nor a module",
                    f"write {key}: {key}.py, or {key}: package.module:attribute",
                )
        for name, resource in self.blueprint.resources.items():
            path = f"resources.{name}"
            self.check_resource_name(name, path)
            if not resource.fields:
                self.warn(
                    path,
                    "the resource has no fields: its records hold only id and timestamps",
                    "add fields, or remove the resource",
                )
            for field_name in resource.fields:
                self.check_field(name, resource, field_name)
            self.check_renames(resource, path)
            for relation_name, relation in resource.has_many.items():
                self.check_has_many(name, resource, relation_name, relation)
            self.check_indexes(name, resource)
        self.check_required_cycles()
        for path, message, hint in version_problems(self.blueprint):
            self.error(path, message, hint)
        for path, message, hint in listing_problems(self.blueprint):
            self.error(path, message, hint)
        for path, message, hint in flag_problems(self.blueprint):
            self.error(path, message, hint)

    # --- names ------------------------------------------------------------------------

    def check_resource_name(self, name: str, path: str) -> None:
        if self.check_identifier(name, path, "resource"):
            return
        if name in IDENTITY_RESOURCES:
            return
        if name.startswith(_INTERNAL_PREFIX):
            self.error(
                path,
                f"resource names starting with '{_INTERNAL_PREFIX}' are kept for "
                "Bastion's own tables",
                f"write {name.removeprefix(_INTERNAL_PREFIX) or 'items'}",
            )
        elif name in _RESERVED_RESOURCES:
            self.error(
                path,
                f"'{name}' is reserved: {_RESERVED_RESOURCES[name]}",
                f"write e.g. {name}_records",
            )

    def check_identifier(self, name: str, path: str, kind: str) -> bool:
        """Report ``name`` if it is no lowercase snake_case identifier; True if reported."""
        if not _NAME.fullmatch(name):
            self.error(
                path,
                f"{kind} name {name!r} is not a lowercase snake_case identifier",
                f"write {_snake_case(name)} (a-z, 0-9 and _, starting with a letter)",
            )
            return True
        if len(name) > _MAX_NAME_LENGTH:
            self.error(
                path,
                f"{kind} name {name!r} is longer than {_MAX_NAME_LENGTH} characters",
                f"write a shorter name, e.g. {name[:_MAX_NAME_LENGTH].rstrip('_')}",
            )
            return True
        return False

    # --- fields -----------------------------------------------------------------------

    def check_field(self, resource_name: str, resource: Resource, name: str) -> None:
        field = resource.fields[name]
        path = f"resources.{resource_name}.fields.{name}"
        if not self.check_identifier(name, path, "field"):
            self.check_reserved_field(resource_name, name, path)
        if field.read_only and field.write_only:
            self.error(
                f"{path}.write_only",
                "a field cannot be both read_only and write_only: nobody could set or see it",
                "keep one of them",
            )
        if field.required and field.read_only and not field.has_default:
            self.error(
                f"{path}.read_only",
                "a required read_only field can never be created: clients may not send it",
                "give it a default, or remove required or read_only",
            )
        rules_broken = False
        for key, message, hint in constraint_problems(field):
            self.error(f"{path}.{key}" if key else path, message, hint)
            rules_broken = True
        if not rules_broken:
            problem = default_problem(field)
            if problem is not None:
                self.error(f"{path}.default", *problem)
        if isinstance(field, BelongsTo):
            self.check_belongs_to(field, path)

    def check_reserved_field(self, resource_name: str, name: str, path: str) -> None:
        instead = f"{_singular(resource_name)}_{name}"
        if name in SYSTEM_FIELDS:
            self.error(
                path,
                f"'{name}' collides with a system field: Bastion adds "
                f"{', '.join(SYSTEM_FIELDS)} to every resource",
                f"remove it (every record has {name} already), or write {instead}",
            )
        elif name in QUERY_PARAMETERS:
            self.error(
                path,
                f"'{name}' collides with a query parameter of the REST API (?{name}=...)",
                f"write e.g. {instead}",
            )
        elif name.startswith("bastion_"):
            self.error(
                path,
                f"'{name}' starts with bastion_, which Bastion keeps for its own columns "
                "(such as the full-text search column)",
                f"write e.g. {name.removeprefix('bastion_')}",
            )

    def check_belongs_to(self, field: BelongsTo, path: str) -> None:
        if field.resource not in self.blueprint.resources:
            self.error(
                f"{path}.resource",
                f"belongs_to refers to resource '{field.resource}', which does not exist. "
                f"Resources: {', '.join(self.blueprint.resources) or 'none'}",
                self.missing_resource_hint(field.resource),
            )
        if field.required and field.on_delete is OnDelete.SET_NULL:
            self.error(
                f"{path}.on_delete",
                "on_delete: set_null contradicts required: true (the field may not be null)",
                "write on_delete: cascade or restrict, or make the field optional",
            )

    def missing_resource_hint(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(self.blueprint.resources), n=1)
        if close:
            return f"write resource: {close[0]}"
        return f"add a resource named '{name}', or write the name of an existing one"

    def check_renames(self, resource: Resource, path: str) -> None:
        renamed_by: dict[str, str] = {}
        for name, field in resource.fields.items():
            old = field.renamed_from
            if old is None:
                continue
            field_path = f"{path}.fields.{name}.renamed_from"
            if old == name:
                self.error(field_path, "a field cannot be renamed from its own name", "remove it")
            elif old in resource.fields:
                self.error(
                    field_path,
                    f"renamed_from '{old}' names a field that still exists",
                    f"remove renamed_from, or remove the field '{old}'",
                )
            elif old in renamed_by:
                self.error(
                    field_path,
                    f"fields '{renamed_by[old]}' and '{name}' are both renamed from '{old}'",
                    "keep renamed_from on one of them",
                )
            renamed_by.setdefault(old, name)

    # --- relations --------------------------------------------------------------------

    def check_has_many(self, owner: str, resource: Resource, name: str, relation: HasMany) -> None:
        path = f"resources.{owner}.has_many.{name}"
        if not self.check_identifier(name, path, "relation") and name in resource.fields:
            self.error(
                path,
                f"relation '{name}' has the same name as a field of '{owner}'",
                f"write e.g. {name}_list",
            )
        resources = self.blueprint.resources
        if relation.resource not in resources:
            self.error(
                f"{path}.resource",
                f"has_many refers to resource '{relation.resource}', which does not exist. "
                f"Resources: {', '.join(resources)}",
                self.missing_resource_hint(relation.resource),
            )
            return
        if relation.through is None:
            self.check_back_reference(owner, relation.resource, relation.via, path)
            return
        if relation.through not in resources:
            self.error(
                f"{path}.through",
                f"has_many goes through resource '{relation.through}', which does not exist",
                self.missing_resource_hint(relation.through),
            )
            return
        back = self.check_back_reference(owner, relation.through, relation.via, path)
        join = resources[relation.through]
        far = [
            field_name
            for field_name, field in join.fields.items()
            if isinstance(field, BelongsTo)
            and field.resource == relation.resource
            and field_name != back
        ]
        if back is not None and not far:
            self.error(
                f"{path}.through",
                f"join resource '{relation.through}' has no belongs_to field pointing to "
                f"'{relation.resource}'",
                f"add {_singular(relation.resource)}: {{type: belongs_to, "
                f"resource: {relation.resource}}} to {relation.through}",
            )

    def check_back_reference(
        self, owner: str, holder: str, via: str | None, path: str
    ) -> str | None:
        """Check the belongs_to on ``holder`` that points back to ``owner``; return its name."""
        fields = self.blueprint.resources[holder].fields
        pointing = [
            name
            for name, field in fields.items()
            if isinstance(field, BelongsTo) and field.resource == owner
        ]
        add = f"add {_singular(owner)}: {{type: belongs_to, resource: {owner}}} to {holder}"
        if via is not None:
            field = fields.get(via)
            if field is None:
                message = f"'{holder}' has no field '{via}'"
            elif not isinstance(field, BelongsTo):
                message = f"'{holder}.{via}' is a {field.type} field, not a belongs_to"
            elif field.resource != owner:
                message = f"'{holder}.{via}' points to '{field.resource}', not to '{owner}'"
            else:
                return via
            hint = f"write via: {pointing[0]}" if len(pointing) == 1 else add
            self.error(f"{path}.via", message, hint)
            return None
        if len(pointing) == 1:
            return pointing[0]
        if pointing:
            self.error(
                f"{path}.via",
                f"'{holder}' has several belongs_to fields pointing to '{owner}': "
                f"{', '.join(pointing)}",
                f"say which one: write via: {pointing[0]}",
            )
        else:
            self.error(
                path,
                f"'{holder}' has no belongs_to field pointing back to '{owner}'",
                add,
            )
        return None

    def check_required_cycles(self) -> None:
        edges: dict[str, list[tuple[str, str]]] = {}
        for name, resource in self.blueprint.resources.items():
            edges[name] = [
                (field_name, field.resource)
                for field_name, field in resource.fields.items()
                if isinstance(field, BelongsTo)
                and field.required
                and field.resource in self.blueprint.resources
            ]
        for cycle in _cycles(edges):
            start, first_field = cycle[0]
            text = " -> ".join(f"{node}.{field}" for node, field in cycle) + f" -> {start}"
            self.error(
                f"resources.{start}.fields.{first_field}",
                f"required belongs_to relations form a cycle: {text}; "
                "no record could ever be created first",
                "make one of them optional (remove required: true), e.g. "
                f"{cycle[-1][0]}.{cycle[-1][1]}",
            )

    # --- indexes ----------------------------------------------------------------------

    def check_indexes(self, name: str, resource: Resource) -> None:
        known = [*resource.fields, *SYSTEM_FIELDS]
        for position, index in enumerate(resource.indexes):
            path = f"resources.{name}.indexes.{position}"
            seen: set[str] = set()
            for item, field_name in enumerate(index.fields):
                item_path = f"{path}.fields.{item}"
                if field_name in seen:
                    self.error(
                        item_path,
                        f"field '{field_name}' appears twice in the index",
                        "list each field once",
                    )
                elif field_name not in known:
                    close = difflib.get_close_matches(field_name, known, n=1)
                    self.error(
                        item_path,
                        f"index on unknown field '{field_name}'. "
                        f"Fields of '{name}': {', '.join(known)}",
                        f"write {close[0]}" if close else "write one of these fields",
                    )
                seen.add(field_name)
            if index.name is not None and not self.check_identifier(
                index.name, f"{path}.name", "index"
            ):
                first = self.index_names.setdefault(index.name, path)
                if first != path:
                    self.error(
                        f"{path}.name",
                        f"index name '{index.name}' is already used by {first}",
                        f"write another name, e.g. {index.name}_2",
                    )
            only = index.fields[0] if len(index.fields) == 1 else None
            if index.unique and only in resource.fields and resource.fields[only].unique:
                self.warn(
                    path,
                    f"this unique index repeats the unique constraint of field '{only}'",
                    "remove the index: unique: true on the field already creates it",
                )


def _cycles(edges: Mapping[str, list[tuple[str, str]]]) -> list[list[tuple[str, str]]]:
    """One cycle for each group of nodes that reach each other (strongly connected).

    Each cycle is a list of (node, label of the edge leaving it), starting at its
    smallest node, so the same blueprint always reports the same cycle.
    """
    cycles: list[list[tuple[str, str]]] = []
    reported: set[str] = set()
    for start in sorted(edges):
        if start in reported:
            continue
        cycle = _cycle_through(start, edges)
        if cycle is not None:
            cycles.append(cycle)
            reported.update(node for node, _ in cycle)
    return cycles


def _cycle_through(
    start: str, edges: Mapping[str, list[tuple[str, str]]]
) -> list[tuple[str, str]] | None:
    """The shortest path of edges from ``start`` back to itself, if there is one."""
    came_from: dict[str, tuple[str, str]] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for label, target in edges.get(node, []):
                if target == start:
                    path = [(node, label)]
                    while path[0][0] != start:
                        path.insert(0, came_from[path[0][0]])
                    return path
                if target not in came_from:
                    came_from[target] = (node, label)
                    following.append(target)
        frontier = following
    return None


def _snake_case(name: str) -> str:
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    cleaned = re.sub(r"[^a-z0-9]+", "_", words.lower()).strip("_")
    cleaned = re.sub(r"^[0-9_]+", "", cleaned)
    return cleaned[:_MAX_NAME_LENGTH] or "name"


def _singular(name: str) -> str:
    if name.endswith("ies"):
        return f"{name[:-3]}y"
    if name.endswith(("sses", "xes", "ches", "shes")):
        return name[:-2]
    if name.endswith("s") and not name.endswith("ss"):
        return name[:-1]
    return name
