"""What every command shares: reading settings and the blueprint, printing problems."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError
from rich.console import Console

from bastion.blueprint import Blueprint, BlueprintInvalid, load_blueprint
from bastion.settings import Settings, UnsafeSettings

__all__ = [
    "BLUEPRINT_ARGUMENT",
    "console",
    "err_console",
    "fail",
    "read_blueprint",
    "read_settings",
]

# Never wrap long lines (SQL, paths) when the output goes to a file or a log.
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

BLUEPRINT_ARGUMENT = typer.Argument(
    None,
    help="The blueprint file (default: $BASTION_BLUEPRINT or ./bastion.yaml).",
    show_default=False,
)


def fail(message: str, *, code: int = 2) -> NoReturn:
    """Print ``message`` as an error and exit with ``code``."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def read_settings(**overrides: object) -> Settings:
    """Settings from the environment and ``.env``, with command-line overrides."""
    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**given)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors(include_url=False):
            name = "BASTION_" + "_".join(str(part) for part in error["loc"]).upper()
            message = str(error["msg"]).removeprefix("Value error, ")
            lines.append(f"  {name}: {message}" if error["loc"] else f"  {message}")
        fail("the settings are not usable:\n" + "\n".join(lines))
    except (SettingsError, UnsafeSettings) as exc:
        fail(
            f"the settings are not usable: {exc}\n"
            "  list settings such as BASTION_CORS_ORIGINS are JSON: "
            "BASTION_CORS_ORIGINS='[\"https://app.example.com\"]'"
        )


def read_blueprint(path: Path | None, settings: Settings) -> tuple[Blueprint, Path]:
    """The validated blueprint and its path; prints every problem and exits if invalid."""
    path = path or settings.blueprint
    try:
        return load_blueprint(path), path
    except BlueprintInvalid as exc:
        err_console.print(str(exc), style="red", highlight=False, soft_wrap=True, markup=False)
        raise typer.Exit(2) from exc
