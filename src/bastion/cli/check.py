"""``bastion check``: validate the blueprint."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape

from bastion.app.extensions import load_reference
from bastion.blueprint import (
    BlueprintInvalid,
    BlueprintProblem,
    access_warnings,
    validate_blueprint,
)
from bastion.cli.common import BLUEPRINT_ARGUMENT, console, fail, read_blueprint, read_settings


def check(blueprint: Path | None = BLUEPRINT_ARGUMENT) -> None:
    """Validate the blueprint; exit 2 and list every problem if it is wrong."""
    settings = read_settings()
    model, path = read_blueprint(blueprint, settings)
    try:
        # The Python code the blueprint names must import, too.
        load_reference(model, "hooks", "hooks")
        load_reference(model, "routes", "routes")
    except BlueprintInvalid as exc:
        fail(str(exc))
    warnings = validate_blueprint(model, source=str(path))
    warnings += [
        BlueprintProblem(file=str(path), path=where, line=None, message=message, hint=hint)
        for where, message, hint in access_warnings(model)
    ]
    for warning in warnings:
        console.print(
            f"[yellow]warning:[/] {escape(str(warning))}", highlight=False, soft_wrap=True
        )
    count = len(model.resources)
    console.print(f"[green]ok:[/] {path} is valid ({count} resource{'s' if count != 1 else ''})")
