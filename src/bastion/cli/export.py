"""``bastion export``: write deliverables without a server."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from bastion.api.rest.openapi import DocumentLimits, build_openapi
from bastion.architect import build_asyncapi
from bastion.blueprint import blueprint_json_schema
from bastion.cli.common import BLUEPRINT_ARGUMENT, console, fail, read_blueprint, read_settings

export_app = typer.Typer(
    help="Write deliverables generated from the blueprint.", no_args_is_help=True
)

OUTPUT = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout.")


@export_app.command("blueprint-schema")
def blueprint_schema(output: Path | None = OUTPUT) -> None:
    """The JSON Schema of the blueprint format, for editor autocompletion."""
    text = json.dumps(blueprint_json_schema(), indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text)
    console.print(f"wrote {output}")


@export_app.command("openapi")
def openapi(blueprint: Path | None = BLUEPRINT_ARGUMENT, output: Path | None = OUTPUT) -> None:
    """The OpenAPI 3.1 document of the REST API: what the server serves at /openapi.json."""
    settings = read_settings()
    model, _ = read_blueprint(blueprint, settings)
    document = build_openapi(model, limits=DocumentLimits(batch_max=settings.batch_max))
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    console.print(f"wrote {output}")


BROKER_URL = typer.Option(
    None,
    "--broker-url",
    help="The broker to list as the document's server, without its credentials "
    "(default: $BASTION_BROKER_URL; none: no server listed).",
    show_default=False,
)


def _configured_broker_url(settings: object) -> str | None:
    """``BASTION_BROKER_URL`` as a plain string, if the settings have one."""
    value = getattr(settings, "broker_url", None)
    if value is None:
        return None
    secret = getattr(value, "get_secret_value", None)
    return str(secret() if callable(secret) else value) or None


@export_app.command("asyncapi")
def asyncapi(
    blueprint: Path | None = BLUEPRINT_ARGUMENT,
    output: Path | None = OUTPUT,
    broker_url: str | None = BROKER_URL,
) -> None:
    """The AsyncAPI 3.0 document of the events Bastion publishes: channels and payloads."""
    settings = read_settings()
    model, _ = read_blueprint(blueprint, settings)
    try:
        document = build_asyncapi(model, broker_url=broker_url or _configured_broker_url(settings))
    except ValueError as exc:
        fail(str(exc))
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    console.print(f"wrote {output}")
