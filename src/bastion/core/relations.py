"""The relations a record can embed with ``expand``, read from the blueprint.

A ``belongs_to`` field expands in place (its id becomes the record it refers
to); a ``has_many`` relation adds a list of at most ``expand_limit`` related
records, in id order, under the relation's name.
"""

from __future__ import annotations

from dataclasses import dataclass

from bastion.blueprint import BelongsTo, Blueprint, HasMany
from bastion.core.query import HasManyLink

__all__ = ["Expansion", "expansions_of"]


@dataclass(frozen=True, slots=True)
class Expansion:
    """One relation ``expand`` may name.

    ``target`` is the resource embedded; for a ``belongs_to`` field ``link``
    is ``None``, for a ``has_many`` relation it says how to find the records.
    """

    name: str
    target: str
    link: HasManyLink | None = None
    limit: int = 1


def _back_reference(blueprint: Blueprint, owner: str, holder: str, via: str | None) -> str:
    if via is not None:
        return via
    # The blueprint validator guarantees exactly one belongs_to points back.
    return next(
        name
        for name, field in blueprint.resources[holder].fields.items()
        if isinstance(field, BelongsTo) and field.resource == owner
    )


def _has_many(blueprint: Blueprint, owner: str, name: str, relation: HasMany) -> Expansion:
    back = _back_reference(blueprint, owner, relation.through or relation.resource, relation.via)
    far = None
    if relation.through is not None:
        far = next(
            field_name
            for field_name, field in blueprint.resources[relation.through].fields.items()
            if isinstance(field, BelongsTo)
            and field.resource == relation.resource
            and field_name != back
        )
    link = HasManyLink(relation.resource, back, relation.through, far)
    return Expansion(name, relation.resource, link, relation.expand_limit)


def expansions_of(blueprint: Blueprint, resource: str) -> dict[str, Expansion]:
    """Every relation of ``resource`` that ``expand`` may name, by name."""
    spec = blueprint.resources[resource]
    found = {
        name: Expansion(name, field.resource)
        for name, field in spec.fields.items()
        if isinstance(field, BelongsTo) and not field.write_only
    }
    for name, relation in spec.has_many.items():
        found[name] = _has_many(blueprint, resource, name, relation)
    return found
