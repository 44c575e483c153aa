"""A bounded cache of compiled statements, keyed by query shape.

Hot path: a query's *shape* is everything that changes its SQL text, never
its values. The first request of a shape builds the statement with
SQLAlchemy Core and compiles it; later ones find the text here. The cache is
bounded because clients choose the shapes (filters, sorts): the least
recently used one is dropped past ``size``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable

import sqlalchemy as sa

from bastion.adapters.sql.schema import Dialect
from bastion.adapters.sql.statements import Compiled, compile_statement

__all__ = ["ShapeCache"]


class ShapeCache:
    """The most recently used compiled statements of one database, by shape."""

    def __init__(self, dialect: Dialect, size: int = 512) -> None:
        self.dialect: Dialect = dialect
        self._size = size
        self._entries: OrderedDict[Hashable, Compiled] = OrderedDict()
        self.misses = 0
        """How many statements were compiled (for tests and metrics)."""

    def get(self, key: Hashable, build: Callable[[], sa.ClauseElement]) -> Compiled:
        """The compiled statement for ``key``; ``build`` makes it on a miss."""
        compiled = self._entries.get(key)
        if compiled is not None:
            self._entries.move_to_end(key)
            return compiled
        self.misses += 1
        compiled = compile_statement(build(), self.dialect)
        self._entries[key] = compiled
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return compiled

    def __len__(self) -> int:
        return len(self._entries)
