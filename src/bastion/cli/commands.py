"""The ``bastion`` command line: every command, assembled into one Typer application."""

from __future__ import annotations

import typer

from bastion.cli.audit import audit_app
from bastion.cli.check import check
from bastion.cli.events_cli import events_app
from bastion.cli.export import export_app
from bastion.cli.init import init
from bastion.cli.keys import keys_app
from bastion.cli.migrate import migrate_app
from bastion.cli.serve import serve
from bastion.cli.users import users_app
from bastion.cli.worker import worker

__all__ = ["app"]

app = typer.Typer(
    name="bastion",
    help="Serve a blueprint of your domain as a production backend.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
app.command(help="Serve the blueprint over HTTP (applies migrations itself in development).")(serve)
app.command(
    help="Publish committed events to the broker and deliver webhooks and consumers.\n\n"
    "Events go to BASTION_BROKER_URL: amqp:// (RabbitMQ), nats:// (NATS JetStream) or "
    "redis:// (Redis Streams); unset, to the in-process bus. Run as many workers as you "
    "like: they share the work, each record's events stay in order. Stops cleanly on "
    "SIGTERM."
)(worker)
app.command(help="Create a new project: blueprint, hooks, .env.example and README.")(init)
app.command(help="Validate the blueprint and report every problem with its line.")(check)
app.add_typer(migrate_app, name="migrate")
app.add_typer(export_app, name="export")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(events_app, name="events")
