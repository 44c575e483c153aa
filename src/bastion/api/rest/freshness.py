"""``Cache-Control`` of read responses, per resource (``cache.max_age`` in the blueprint).

Responses depend on who asks (access rules, hidden fields), so they are
``private`` (and carry ``Vary: Authorization``): a browser may keep them, a
shared proxy may not. Without a ``max_age`` clients revalidate every time,
which costs little: ``If-None-Match`` with the record's ``ETag`` answers 304.
"""

from __future__ import annotations

from functools import cache

from bastion.core import RecordService

__all__ = ["cache_control"]


def cache_control(service: RecordService, resource: str) -> str:
    """The ``Cache-Control`` value of a read of ``resource``."""
    return _value(service.blueprint.resources[resource].cache.max_age)


@cache
def _value(max_age: int) -> str:
    return f"private, max-age={max_age}" if max_age else "private, no-cache"
