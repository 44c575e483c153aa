"""Checks of what lists may do with a resource: filter, sort, search, page sizes.

* ``searchable`` applies to text: string, text, email and url fields;
* ``sortable`` does not apply to json fields (documents have no order
  both databases agree on);
* a write-only field may not be filterable, sortable or searchable: each
  would let clients find out the value they may not read;
* ``page_size.default`` may not exceed ``page_size.max``.
"""

from __future__ import annotations

from collections.abc import Iterator

from bastion.blueprint.model import Blueprint

__all__ = ["listing_problems"]

_SEARCHABLE_TYPES = ("string", "text", "email", "url")

Problem = tuple[str, str, str]
"""(path, message, hint)"""


def listing_problems(blueprint: Blueprint) -> Iterator[Problem]:
    """Every misuse of the list options, as (path, message, hint)."""
    for name, resource in blueprint.resources.items():
        path = f"resources.{name}"
        for field_name, field in resource.fields.items():
            field_path = f"{path}.fields.{field_name}"
            if field.searchable and field.type not in _SEARCHABLE_TYPES:
                yield (
                    f"{field_path}.searchable",
                    f"{field.type} fields cannot be searchable: full-text search reads text",
                    f"remove searchable, or use it on {', '.join(_SEARCHABLE_TYPES)} fields",
                )
            if field.sortable and field.type == "json":
                yield (
                    f"{field_path}.sortable",
                    "a json field cannot be sortable: JSON documents have no agreed order",
                    "remove sortable (filter it with [contains] instead)",
                )
            if field.write_only:
                for option in ("filterable", "sortable", "searchable"):
                    if getattr(field, option):
                        yield (
                            f"{field_path}.{option}",
                            f"a write_only field cannot be {option}: lists would reveal "
                            "the value clients may not read",
                            f"remove {option}, or write_only",
                        )
        size = resource.page_size
        if size.default > size.max:
            yield (
                f"{path}.page_size.default",
                f"page_size.default {size.default} is more than page_size.max {size.max}",
                f"write default: {size.max} or less, or raise max",
            )
