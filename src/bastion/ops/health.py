"""Readiness: each dependency checked at once, each with a short timeout.

Liveness needs no code (the process answered); readiness asks every
dependency the API cannot work without. An optional dependency that fails
degrades the report instead of failing it. Failure reasons name the kind of
failure only (``timed out``, ``ConnectionRefusedError``): the report is served
to load balancers, so hosts and credentials go to the log, not into it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

__all__ = ["CheckResult", "Dependency", "ReadinessReport", "check_readiness"]

log = logging.getLogger("bastion.health")


@dataclass(frozen=True, slots=True)
class Dependency:
    """Something the API needs: a name and a coroutine that raises when it is down."""

    name: str
    check: Callable[[], Awaitable[object]]
    optional: bool = False
    """Its failure degrades readiness instead of failing it."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    """How one dependency answered."""

    name: str
    ok: bool
    optional: bool
    seconds: float
    error: str | None = None

    def as_json(self) -> dict[str, object]:
        """The check as ``/readyz`` reports it."""
        body: dict[str, object] = {
            "status": "ok" if self.ok else "failing",
            "optional": self.optional,
            "duration_ms": round(self.seconds * 1000, 2),
        }
        if self.error is not None:
            body["error"] = self.error
        return body


@dataclass(frozen=True, slots=True)
class ReadinessReport:
    """Every check's result."""

    checks: Sequence[CheckResult] = field(default_factory=tuple)

    @property
    def failing(self) -> list[str]:
        """Required dependencies that failed (readiness fails)."""
        return [c.name for c in self.checks if not c.ok and not c.optional]

    @property
    def degraded(self) -> list[str]:
        """Optional dependencies that failed (readiness holds)."""
        return [c.name for c in self.checks if not c.ok and c.optional]

    @property
    def ready(self) -> bool:
        """Whether every required dependency answered."""
        return not self.failing

    def as_json(self) -> dict[str, object]:
        """The checks by name."""
        return {check.name: check.as_json() for check in self.checks}


async def _run(dependency: Dependency, limit: float) -> CheckResult:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(limit):
            await dependency.check()
    except TimeoutError:
        error = f"timed out after {limit:g} s"
    except Exception as exc:
        log.warning("readiness: %s is failing: %s", dependency.name, exc)
        error = type(exc).__name__
    else:
        return CheckResult(
            dependency.name, True, dependency.optional, time.perf_counter() - started
        )
    return CheckResult(
        dependency.name, False, dependency.optional, time.perf_counter() - started, error
    )


async def check_readiness(dependencies: Sequence[Dependency], limit: float) -> ReadinessReport:
    """Check every dependency concurrently, each within ``limit`` seconds."""
    results = await asyncio.gather(*(_run(dep, limit) for dep in dependencies))
    return ReadinessReport(tuple(results))
