"""``bastion worker``: publish events to the broker, deliver webhooks and consumers."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import typer
import uvicorn

from bastion.adapters.bus import describe_broker_url
from bastion.app import BastionApp
from bastion.app.worker import build_worker, worker_probe_app
from bastion.cli.common import BLUEPRINT_ARGUMENT, console, read_blueprint, read_settings
from bastion.ops.logging import configure_logging, secret_field_names, uvicorn_log_config
from bastion.settings import LogFormat

HOST = typer.Option(
    None, help="Interface of the health endpoint (default 127.0.0.1).", show_default=False
)
PORT = typer.Option(
    None,
    help="Port of the health endpoint: /healthz, /readyz, /metrics (default 8001; 0: none).",
    show_default=False,
    min=0,
    max=65535,
)


async def _run_without_endpoint(app: BastionApp) -> None:
    """Relay until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await app.start()
    try:
        await stop.wait()
    finally:
        await app.stop()


def worker(
    blueprint: Path | None = BLUEPRINT_ARGUMENT,
    host: str | None = HOST,
    port: int | None = PORT,
) -> None:
    """Relay committed events from the outbox to BASTION_BROKER_URL (RabbitMQ, NATS,
    Redis Streams or the in-process bus) in each record's order, and deliver them to
    webhooks and in-app consumers with retries. Run as many as you like: they share
    the work without publishing an event twice in normal operation. Stops cleanly on
    SIGTERM (the current batch finishes or is retried by another worker)."""
    settings = read_settings(worker_host=host, worker_port=port)
    model, path = read_blueprint(blueprint, settings)
    os.environ["BASTION_BLUEPRINT"] = str(path.resolve())
    json_logs = settings.effective_log_format is LogFormat.JSON
    configure_logging(
        level=settings.log_level,
        levels=settings.log_levels,
        json=json_logs,
        redact=secret_field_names(model),
    )
    app = build_worker(settings, model)
    where = describe_broker_url(settings.broker_url)
    if not settings.worker_port:
        console.print(f"relaying [bold]{model.name}[/] events to {where} (no health endpoint)")
        asyncio.run(_run_without_endpoint(app))
        return
    console.print(
        f"relaying [bold]{model.name}[/] events to {where}; "
        f"health on http://{settings.worker_host}:{settings.worker_port}"
    )
    config = uvicorn.Config(
        worker_probe_app(app),
        host=settings.worker_host,
        port=settings.worker_port,
        log_config=uvicorn_log_config(
            level=settings.log_level, levels=settings.log_levels, json=json_logs
        ),
        access_log=False,
        lifespan="on",
    )
    uvicorn.Server(config).run()
