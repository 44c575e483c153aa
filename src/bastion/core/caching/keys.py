"""Cache keys: one per record, one per list query (and per count), and what each depends on.

A list page depends on its own resource and on every resource its filters
reach through a ``belongs_to`` (``customer.email=...``): a write to any of
them makes the page stale. The query's own row filters (tenant, owner) are
part of the :class:`~bastion.core.query.QuerySpec`, so pages are keyed per
tenant and per owner without anything more.
"""

from __future__ import annotations

import hashlib
from uuid import UUID

from bastion.blueprint import BelongsTo, Blueprint
from bastion.core.query import QuerySpec

__all__ = ["QueryKeys", "record_key"]


def record_key(resource: str, record_id: UUID) -> str:
    """The key of one stored record."""
    return f"r:{resource}:{record_id.hex}"


class QueryKeys:
    """Keys of list pages and counts, and the resources each depends on."""

    def __init__(self, blueprint: Blueprint) -> None:
        self._targets = {
            name: {
                field: spec.resource
                for field, spec in resource.fields.items()
                if isinstance(spec, BelongsTo)
            }
            for name, resource in blueprint.resources.items()
        }

    def depends_on(self, resource: str, spec: QuerySpec) -> tuple[str, ...]:
        """``resource`` and every resource ``spec``'s filters read through a relation."""
        through = self._targets[resource]
        reached = {through[f.via] for f in spec.filters if f.via is not None}
        reached.discard(resource)
        return (resource, *sorted(reached))

    @staticmethod
    def page(resource: str, spec: QuerySpec) -> str:
        """The key of the rows ``spec`` selects (its shape-only parts, fields and
        expansions, are applied after the cache and so are not part of it)."""
        text = repr((spec.limit, spec.filters, spec.sort, spec.after, spec.search))
        return f"p:{resource}:{_digest(text)}"

    @staticmethod
    def count(resource: str, spec: QuerySpec) -> str:
        """The key of how many records ``spec``'s filters and search match."""
        return f"c:{resource}:{_digest(repr((spec.filters, spec.search)))}"


def _digest(text: str) -> str:
    # 128 bits: collisions are out of reach, and the key stays short.
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
