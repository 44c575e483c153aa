"""Route order that keeps matching cheap: runs of routes under one prefix become one Mount.

Starlette tries routes one by one with a regular expression each. The
generated resource routes (``/v1/{resource}/{id}``) must come after the
fixed ones they would otherwise shadow (``/v1/auth/token``), so every record
request used to be checked against some thirty sign-in and admin routes
first: about a quarter of a cached read's CPU time, measured with cProfile.
Grouping ``/v1/auth/...`` and ``/v1/admin/...`` into one ``Mount`` each
makes that two checks. A prefix is grouped only when no route between its
first and last route could match one of its paths, so no route moves ahead
of another it could shadow or be shadowed by. One answer changes, for the
better: a wrong method on a mounted route (``GET /v1/auth/token``) answers
405 with its ``Allow`` list instead of falling through to the generated
routes' 404.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute, Mount, Route

__all__ = ["grouped_routes"]

_MIN_GROUP = 3
"""Fewer routes than this under one prefix are left as they are."""


def _prefix(route: BaseRoute) -> str | None:
    if type(route) is not Route:
        return None
    parts = route.path.split("/")
    # "/v1/auth/token" -> ["", "v1", "auth", "token"]; the prefix must hold no parameter.
    if len(parts) < 4 or "{" in parts[1] + parts[2]:
        return None
    return "/".join(parts[:3])


def _mounted(prefix: str, routes: list[Route]) -> Mount:
    inner = [
        Route(
            route.path[len(prefix) :],
            endpoint=route.endpoint,
            methods=sorted(route.methods or ()),
            name=route.name,
            include_in_schema=route.include_in_schema,
        )
        for route in routes
    ]
    return Mount(prefix, routes=inner)


def _disjoint(route: BaseRoute, prefix: str) -> bool:
    """Whether ``route`` surely matches no path under ``prefix`` (fixed, other first segments)."""
    if not isinstance(route, Route | Mount):
        return False
    head = "/".join(route.path.split("/")[:3])
    return "{" not in head and head != prefix and not prefix.startswith(head + "/")


def grouped_routes(routes: Sequence[BaseRoute]) -> list[BaseRoute]:
    """``routes`` with every route under one ``/a/b`` prefix (at least three of them)
    mounted together where the first of them was.

    A ``Mount`` answers every path under its prefix, so all of a prefix's routes must
    be in the same one; a prefix is grouped only if every route between its first and
    last route surely matches none of its paths, so no request changes hands.
    """
    prefixes = [_prefix(route) for route in routes]
    groups: dict[str, list[int]] = {}
    for index, prefix in enumerate(prefixes):
        if prefix is not None:
            groups.setdefault(prefix, []).append(index)
    mounted: dict[int, Mount] = {}
    absorbed: set[int] = set()
    for prefix, indexes in groups.items():
        if len(indexes) < _MIN_GROUP:
            continue
        between = range(indexes[0], indexes[-1] + 1)
        if not all(prefixes[i] == prefix or _disjoint(routes[i], prefix) for i in between):
            continue
        members = [routes[i] for i in indexes]
        mounted[indexes[0]] = _mounted(prefix, [r for r in members if isinstance(r, Route)])
        absorbed.update(indexes)
    result: list[BaseRoute] = []
    for index, route in enumerate(routes):
        if index in mounted:
            result.append(mounted[index])
        elif index not in absorbed:
            result.append(route)
    return result
