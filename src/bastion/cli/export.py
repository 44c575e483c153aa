"""``bastion export``: write deliverables without a server."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import typer

from bastion.api.rest.openapi import DocumentLimits, build_openapi
from bastion.architect import build_asyncapi
from bastion.blueprint import blueprint_json_schema, with_identity
from bastion.cli.common import BLUEPRINT_ARGUMENT, console, fail, read_blueprint, read_settings
from bastion.settings import Settings

export_app = typer.Typer(
    help="Write deliverables generated from the blueprint.", no_args_is_help=True
)

OUTPUT = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout.")


def _write(text: str, output: Path | None) -> None:
    """Print ``text``, or write it to ``output``; a file that cannot be written is an error."""
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or str(exc)
        fail(
            f"cannot write {output}: {reason}; check that its folder exists and is "
            "writable, or give another --output"
        )
    console.print(f"wrote {output}", highlight=False)


@export_app.command("blueprint-schema")
def blueprint_schema(output: Path | None = OUTPUT) -> None:
    """The JSON Schema of the blueprint format, for editor autocompletion."""
    _write(json.dumps(blueprint_json_schema(), indent=2) + "\n", output)


@export_app.command("openapi")
def openapi(blueprint: Path | None = BLUEPRINT_ARGUMENT, output: Path | None = OUTPUT) -> None:
    """The OpenAPI 3.1 document of the REST API: what the server serves at /openapi.json."""
    settings = read_settings()
    model, _ = read_blueprint(blueprint, settings)
    # The server's document: with the built-in users and tenants it always serves.
    document = build_openapi(
        with_identity(model), limits=DocumentLimits(batch_max=settings.batch_max)
    )
    _write(json.dumps(document, indent=2, ensure_ascii=False) + "\n", output)


BROKER_URL = typer.Option(
    None,
    "--broker-url",
    help="The broker to list as the document's server, without its credentials "
    "(default: $BASTION_BROKER_URL; none: no server listed).",
    show_default=False,
)
CHANNEL = typer.Option(
    None,
    "--channel",
    help="The exchange (RabbitMQ), subject prefix (NATS) and stream (Redis) the events "
    "go to (default: $BASTION_BROKER_CHANNEL, else bastion.events).",
    show_default=False,
)


def _listed_broker_url(settings: Settings) -> str | None:
    """``BASTION_BROKER_URL``, unless it names the in-process bus (no server to list)."""
    url = settings.broker_url
    if not url or urlsplit(url).scheme.lower() == "memory":
        return None
    return url


@export_app.command("asyncapi")
def asyncapi(
    blueprint: Path | None = BLUEPRINT_ARGUMENT,
    output: Path | None = OUTPUT,
    broker_url: str | None = BROKER_URL,
    channel: str | None = CHANNEL,
) -> None:
    """The AsyncAPI 3.0 document of the events Bastion publishes: channels and payloads."""
    settings = read_settings()
    model, _ = read_blueprint(blueprint, settings)
    if channel is not None and not channel.strip():
        fail("--channel must not be empty; e.g. --channel shop.events")
    try:
        # The built-in users and tenants publish events too, like every served resource.
        document = build_asyncapi(
            with_identity(model),
            broker_url=broker_url or _listed_broker_url(settings),
            channel=channel or settings.broker_channel,
        )
    except ValueError as exc:
        fail(str(exc))
    _write(json.dumps(document, indent=2, ensure_ascii=False) + "\n", output)
