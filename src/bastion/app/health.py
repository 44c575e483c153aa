"""``GET /healthz`` and ``GET /readyz``.

``/healthz`` is liveness: the process answers, nothing else is asked.
``/readyz`` is readiness: the database, and Redis when one is configured,
each answer within ``readiness_timeout``; a draining worker (SIGTERM
received) is not ready whatever its dependencies say. Not ready is a 503
problem document naming what fails, with the checks beside it.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bastion.api.rest import problem_response
from bastion.api.rest.problems import Problem
from bastion.ops.health import Dependency, check_readiness
from bastion.ops.lifecycle import Lifecycle

__all__ = ["health_routes"]

_NO_STORE = {"Cache-Control": "no-store"}


def health_routes(
    dependencies: Sequence[Dependency], *, timeout: float, lifecycle: Lifecycle
) -> list[BaseRoute]:
    """The liveness and readiness routes."""

    async def healthz(request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json", headers=_NO_STORE)

    async def readyz(request: Request) -> Response:
        report = await check_readiness(dependencies, timeout)
        checks = report.as_json()
        if lifecycle.draining:
            detail = "this worker is shutting down; send requests to another one"
        elif not report.ready:
            failing = ", ".join(
                f"{c.name} ({c.error})" for c in report.checks if c.name in report.failing
            )
            detail = f"not ready: {failing} failing"
        else:
            status = "degraded" if report.degraded else "ok"
            body = {"status": status, "checks": checks}
            return Response(orjson.dumps(body), media_type="application/json", headers=_NO_STORE)
        problem = Problem(
            503,
            "not_ready",
            "Service Unavailable",
            detail,
            headers={"Retry-After": "5", **_NO_STORE},
            extra={"draining": lifecycle.draining, "failing": report.failing, "checks": checks},
        )
        return problem_response(
            problem,
            instance=request.url.path,
            request_id=getattr(request.state, "request_id", None),
            trace_id=getattr(request.state, "trace_id", None),
        )

    return [
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/readyz", readyz, methods=["GET", "HEAD"]),
    ]
