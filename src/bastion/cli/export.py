"""``bastion export``: write deliverables without a server."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from bastion.blueprint import blueprint_json_schema
from bastion.cli.common import console

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
