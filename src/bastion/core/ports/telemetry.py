"""The telemetry port: counters, timers and spans, so adapters can report
without importing the operations layer."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Protocol

__all__ = ["MemoryTelemetry", "NullTelemetry", "PoolStats", "Telemetry"]

Labels = Mapping[str, str]


class Telemetry(Protocol):
    """Where metrics and traces go (Prometheus and OpenTelemetry in ``ops``)."""

    def count(self, name: str, value: float = 1.0, labels: Labels | None = None) -> None:
        """Add ``value`` to the counter ``name``."""
        ...

    def observe(self, name: str, seconds: float, labels: Labels | None = None) -> None:
        """Record one duration for the histogram ``name``."""
        ...

    def span(self, name: str, attributes: Labels | None = None) -> AbstractContextManager[None]:
        """A tracing span around a block."""
        ...


class NullTelemetry:
    """Discards everything: the default until the operations layer is wired."""

    def count(self, name: str, value: float = 1.0, labels: Labels | None = None) -> None:
        """Discard a count."""

    def observe(self, name: str, seconds: float, labels: Labels | None = None) -> None:
        """Discard a duration."""

    @contextmanager
    def span(self, name: str, attributes: Labels | None = None) -> Iterator[None]:
        """A span that records nothing."""
        yield


class MemoryTelemetry:
    """Keeps counters and observations in memory (embedded default for inspection and tests)."""

    def __init__(self) -> None:
        self.counters: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self.observations: list[tuple[str, float, dict[str, str]]] = []
        self.spans: list[tuple[str, dict[str, str]]] = []

    @staticmethod
    def _key(name: str, labels: Labels | None) -> tuple[str, tuple[tuple[str, str], ...]]:
        return name, tuple(sorted((labels or {}).items()))

    def count(self, name: str, value: float = 1.0, labels: Labels | None = None) -> None:
        """Add ``value`` to the counter."""
        key = self._key(name, labels)
        self.counters[key] = self.counters.get(key, 0.0) + value

    def observe(self, name: str, seconds: float, labels: Labels | None = None) -> None:
        """Remember one duration."""
        self.observations.append((name, seconds, dict(labels or {})))

    @contextmanager
    def span(self, name: str, attributes: Labels | None = None) -> Iterator[None]:
        """Remember that a span was opened."""
        self.spans.append((name, dict(attributes or {})))
        yield


@dataclass(frozen=True, slots=True)
class PoolStats:
    """A snapshot of a connection pool, for metrics."""

    size: int
    """Connections open."""
    in_use: int
    """Connections lent to a request."""
    waiting: int
    """Requests waiting for a connection."""
    max_size: int
