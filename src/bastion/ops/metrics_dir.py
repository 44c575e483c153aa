"""Metrics shared by several worker processes (prometheus-client's multiprocess mode).

``bastion serve --workers N`` runs N processes. Each writes its metrics into
files of one directory named by ``PROMETHEUS_MULTIPROC_DIR``, and a scrape
adds them up. prometheus-client picks its storage when it is first imported,
so this module does not import it at import time: the server calls
:func:`prepare_multiprocess_dir` before any worker starts.

Gauges say how they add up across workers: in-flight requests and pool
connections are summed over live workers (``livesum``); memory is one series
per worker with a ``pid`` label (``liveall``), dropped once the worker is gone.
"""

from __future__ import annotations

import atexit
import hmac
import logging
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from prometheus_client.registry import CollectorRegistry

__all__ = [
    "ENVIRONMENT_VARIABLE",
    "METRICS_UNAUTHORIZED_DETAIL",
    "bearer_matches",
    "mark_worker_exited",
    "multiprocess_dir",
    "multiprocess_registry",
    "prepare_multiprocess_dir",
    "serve_metrics_port",
]

ENVIRONMENT_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
"""Names the directory; set, it switches prometheus-client to multiprocess mode."""

log = logging.getLogger("bastion.metrics")

_LIVE_GAUGE_FILE = re.compile(r"^gauge_live\w+?_(\d+)\.db$")


def multiprocess_dir() -> Path | None:
    """The shared directory when this process writes its metrics there, else ``None``."""
    value = os.environ.get(ENVIRONMENT_VARIABLE)
    return Path(value) if value else None


def prepare_multiprocess_dir(path: Path | None) -> Path:
    """Make ``path`` (or a fresh private directory) the workers' metrics directory.

    Call it in the server process before workers start; they inherit the
    environment variable. Stale ``*.db`` files of an earlier run are deleted
    (their counters would be added to this run's). A directory made here is
    removed when this process exits.
    """
    if path is None:
        directory = Path(tempfile.mkdtemp(prefix="bastion-metrics-"))
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
    else:
        directory = path
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink(missing_ok=True)
    os.environ[ENVIRONMENT_VARIABLE] = str(directory)
    values = sys.modules.get("prometheus_client.values")
    if values is not None:
        # Imported before the variable was set: later metrics must still go to the files.
        values.ValueClass = values.get_value_class()  # type: ignore[attr-defined]
    return directory


def mark_worker_exited(pid: int) -> None:
    """Drop the live gauges (in flight, pool, memory) of the worker ``pid``, which exited.

    Its counters and histograms stay: the totals of a service do not drop
    when one worker is recycled.
    """
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def _forget_dead_workers(directory: Path) -> None:
    # Workers that crashed never said so: scrapes drop their live gauges themselves.
    import psutil

    dead: set[int] = set()
    for name in os.listdir(directory):
        match = _LIVE_GAUGE_FILE.match(name)
        if match and not psutil.pid_exists(int(match.group(1))):
            dead.add(int(match.group(1)))
    for pid in dead:
        mark_worker_exited(pid)


def multiprocess_registry(directory: Path) -> CollectorRegistry:
    """A registry that adds up every worker's files in ``directory`` when collected."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector
    from prometheus_client.registry import Collector

    files = MultiProcessCollector(None, path=str(directory))  # type: ignore[no-untyped-call]

    class _Workers(Collector):
        def collect(self) -> Iterable[Any]:
            _forget_dead_workers(directory)
            collected: Iterable[Any] = files.collect()  # type: ignore[no-untyped-call]
            return collected

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Workers())
    return registry


def bearer_matches(authorization: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header carries ``Bearer <token>`` (constant time)."""
    if authorization is None:
        return False
    scheme, _, credentials = authorization.strip().partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        credentials.strip().encode(), token.encode()
    )


METRICS_UNAUTHORIZED_DETAIL = "metrics need Authorization: Bearer <metrics token>"
"""The detail of the 401 a scrape without the metrics token gets."""

_UNAUTHORIZED_BODY = (
    b'{"type":"urn:bastion:problem:not_authenticated","title":"Not authenticated",'
    b'"status":401,"detail":"' + METRICS_UNAUTHORIZED_DETAIL.encode() + b'",'
    b'"code":"not_authenticated","instance":"/metrics","trace_id":null}'
)


def serve_metrics_port(host: str, port: int, *, token: str | None = None) -> WSGIServer:
    """Serve every worker's metrics, added up, on ``host:port`` from a daemon thread.

    Runs in the server process (the workers' supervisor). Any path answers the
    metrics; with ``token``, only to ``Authorization: Bearer <token>``.

    Returns:
        the running server (``shutdown()`` stops it; the process exiting does too).
    """
    # Imported here: only the process that serves the port needs a WSGI server.
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    from prometheus_client import make_wsgi_app

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Scrapes are not logged."""

    directory = multiprocess_dir()
    if directory is None:
        directory = prepare_multiprocess_dir(None)
    metrics_app = make_wsgi_app(multiprocess_registry(directory))

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        if token is not None and not bearer_matches(environ.get("HTTP_AUTHORIZATION"), token):
            start_response(
                "401 Unauthorized",
                [
                    ("Content-Type", "application/problem+json"),
                    ("WWW-Authenticate", 'Bearer realm="metrics"'),
                ],
            )
            return iter([_UNAUTHORIZED_BODY])
        return iter(metrics_app(environ, start_response))

    server = make_server(host, port, app, server_class=Server, handler_class=QuietHandler)
    threading.Thread(target=server.serve_forever, name="bastion-metrics", daemon=True).start()
    log.info("metrics served on http://%s:%d/metrics", host, port)
    return server
