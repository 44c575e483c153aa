"""One pass over every HTTP request: its ids, its route template, and what observers learn.

:class:`ObservedRequests` is the outermost Bastion middleware (inside the
tracing span when tracing is on). It gives the request its id
(``X-Request-ID`` accepted when well formed, else generated) and its trace id,
times it, and tells each :class:`RequestObserver` (metrics, the access log)
when it starts and how it ended. Route labels are templates
(``/v1/orders/{id}``), never raw paths, so metric cardinality stays bounded.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.contextvars import bind_contextvars, reset_contextvars

from bastion.core.ids import request_id_or_new
from bastion.ops.lifecycle import lifecycle

__all__ = [
    "UNMATCHED_ROUTE",
    "FinishedRequest",
    "ObservedRequests",
    "RequestObserver",
    "RouteTemplates",
    "trace_id_from_traceparent",
]

UNMATCHED_ROUTE = "unmatched"
"""The route label of a request no route answered (404s for unknown paths)."""

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")
_NO_TRACE = "0" * 32


@dataclass(frozen=True, slots=True)
class FinishedRequest:
    """What is known about a request once its response went out (or failed)."""

    method: str
    route: str
    """The route template (``/v1/orders/{id}``), or :data:`UNMATCHED_ROUTE`."""
    path: str
    status: int
    """The response status; 500 when the application failed before answering."""
    seconds: float
    request_id: str
    trace_id: str | None
    user_id: str | None
    """The authenticated caller, if any (never a credential)."""
    client_ip: str | None


class RequestObserver(Protocol):
    """Learns about every request (metrics, the access log)."""

    def started(self, method: str) -> None:
        """A request arrived (before routing)."""
        ...

    def finished(self, request: FinishedRequest) -> None:
        """A request ended; called exactly once per :meth:`started`."""
        ...


def trace_id_from_traceparent(scope: Scope) -> str | None:
    """The trace id of a valid W3C ``traceparent`` header, or ``None``."""
    for name, value in scope.get("headers", ()):
        if name == b"traceparent":
            match = _TRACEPARENT.match(value.decode("latin-1").strip())
            if match and match.group(1) != _NO_TRACE:
                return match.group(1)
            return None
    return None


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            return request_id_or_new(value.decode("latin-1"))
    return request_id_or_new(None)


class RouteTemplates:
    """Maps the endpoint a request was routed to back to its path template.

    Starlette puts the matched ``endpoint`` in the scope but not the route's
    path; this index is built once from the application's routes (through
    mounts). The generated routes' ``{resource}`` is filled in with the
    resource's name when it is one the blueprint serves, so labels read
    ``/v1/orders/{id}`` while an unknown name cannot add a label.
    """

    def __init__(self, routes: Iterable[BaseRoute], resources: Collection[str] = ()) -> None:
        self._by_endpoint: dict[int, str] = {}
        self._ambiguous: set[int] = set()
        self._resources = frozenset(resources)
        self._index(routes, "")

    def _index(self, routes: Iterable[BaseRoute], prefix: str) -> None:
        for route in routes:
            if isinstance(route, Mount):
                self._index(route.routes, prefix + route.path)
            elif isinstance(route, Route):
                key = id(route.endpoint)
                template = prefix + route.path
                known = self._by_endpoint.setdefault(key, template)
                if known != template:
                    self._ambiguous.add(key)

    def template(self, scope: Scope) -> str:
        """The route template of a routed request, or :data:`UNMATCHED_ROUTE`."""
        endpoint = scope.get("endpoint")
        if endpoint is None:
            return UNMATCHED_ROUTE
        key = id(endpoint)
        template = self._by_endpoint.get(key)
        if template is None:
            # Routed into a mount whose own routes matched nothing, or an app we did not index.
            return UNMATCHED_ROUTE
        if key in self._ambiguous:
            template = self._from_params(scope)
        resource = scope.get("path_params", {}).get("resource")
        if resource in self._resources and "{resource}" in template:
            template = template.replace("{resource}", resource, 1)
        return template

    @staticmethod
    def _from_params(scope: Scope) -> str:
        """The path with each path parameter's value put back as ``{name}``."""
        path: str = scope.get("path", "")
        params: dict[str, Any] = scope.get("path_params", {})
        segments = path.split("/")
        for name, value in params.items():
            text = str(value)
            for index in range(len(segments) - 1, -1, -1):
                if segments[index] == text:
                    segments[index] = "{" + name + "}"
                    break
        return "/".join(segments)


class ObservedRequests:
    """ASGI middleware: request and trace ids, the route template, timing, observers.

    Sets ``scope["state"]["request_id"]`` and ``["trace_id"]`` for the layers
    inside it (problem documents, the identity layer, handlers).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        templates: RouteTemplates,
        observers: Sequence[RequestObserver] = (),
        trace_id: Callable[[Scope], str | None] = trace_id_from_traceparent,
    ) -> None:
        self.app = app
        self.templates = templates
        self.observers = tuple(observers)
        self.trace_id = trace_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        trace_id = self.trace_id(scope)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["trace_id"] = trace_id
        method: str = scope["method"]
        for observer in self.observers:
            observer.started(method)
        status = 500

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if lifecycle.closing_connections:
                    # Clients drop this kept-alive connection now, rather than reuse it
                    # as the worker closes it at the end of its grace period.
                    message["headers"] = [*message.get("headers", ()), (b"connection", b"close")]
            await send(message)

        # Every line logged while serving the request carries its ids.
        log_context = bind_contextvars(request_id=request_id, trace_id=trace_id)
        try:
            await self.app(scope, receive, send_observed)
        finally:
            reset_contextvars(**log_context)
            if self.observers:
                self._finished(scope, state, method, status, started, request_id, trace_id)

    def _finished(
        self,
        scope: Scope,
        state: dict[str, Any],
        method: str,
        status: int,
        started: float,
        request_id: str,
        trace_id: str | None,
    ) -> None:
        context = state.get("context")
        finished = FinishedRequest(
            method=method,
            route=self.templates.template(scope),
            path=scope.get("path", ""),
            status=status,
            seconds=time.perf_counter() - started,
            request_id=request_id,
            trace_id=trace_id,
            user_id=getattr(context, "actor", None),
            client_ip=getattr(context, "client_ip", None),
        )
        for observer in self.observers:
            observer.finished(finished)
