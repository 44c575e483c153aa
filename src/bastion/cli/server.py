"""Running uvicorn for ``bastion serve``: one worker in process, or a supervised pool.

The pool is uvicorn's own supervisor: it restarts a worker that exits (after
``--max-requests``, which the worker counts itself so it can close without
dropping a request, or a crash), replaces workers one at a time on SIGHUP
(a rolling restart: each new worker is ready before the old one drains),
and on SIGTERM asks every worker to drain and waits for them. With
``--max-requests`` a single worker is supervised too, so recycling it does
not end the service.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from bastion.settings import Settings

__all__ = ["APP_FACTORY", "run_server"]

APP_FACTORY = "bastion.app:app_from_environment"
"""The worker's application factory (workers are processes of their own)."""

_STARTUP_FAILURE = 3  # uvicorn's exit status when the application could not start


def server_config(settings: Settings, log_config: dict[str, Any]) -> uvicorn.Config:
    """uvicorn's configuration for ``settings``."""
    return uvicorn.Config(
        APP_FACTORY,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level.lower(),
        log_config=log_config,
        access_log=False,  # Bastion writes its own access log line, with the route and user
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=math.ceil(settings.shutdown_timeout_seconds),
    )


def run_server(settings: Settings, log_config: dict[str, Any]) -> None:
    """Serve until stopped; exits with uvicorn's start-up failure status if the app cannot start."""
    config = server_config(settings, log_config)
    if settings.workers > 1 or settings.max_requests is not None:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    server = uvicorn.Server(config)
    server.run()
    if not server.started:
        sys.exit(_STARTUP_FAILURE)
