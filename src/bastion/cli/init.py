"""``bastion init``: scaffold a new project."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import typer

from bastion.cli.common import console, fail

DIRECTORY = typer.Argument(Path("."), help="Where to create the project (created if missing).")
FORCE = typer.Option(False, "--force", help="Overwrite files that already exist.")

# template name -> file written in the project
_FILES = {
    "bastion.yaml": "bastion.yaml",
    "hooks.py": "hooks.py",
    "env.example": ".env.example",
    "README.md": "README.md",
    "gitignore": ".gitignore",
}


def init(directory: Path = DIRECTORY, force: bool = FORCE) -> None:
    """Create a blueprint, a hooks module, .env.example and a README in DIRECTORY."""
    directory.mkdir(parents=True, exist_ok=True)
    existing = [name for name in _FILES.values() if (directory / name).exists()]
    if existing and not force:
        fail(
            f"{directory} already has {', '.join(existing)}; "
            "choose an empty folder, or pass --force to overwrite"
        )
    templates = resources.files("bastion.cli") / "templates"
    for template, target in _FILES.items():
        text = (templates / template).read_text()
        (directory / target).write_text(text.replace("{{name}}", directory.resolve().name))
    console.print(f"[green]created[/] a Bastion project in {directory}")
    step = "" if directory.resolve() == Path.cwd().resolve() else f"cd {directory} && "
    console.print(f"next:  {step}bastion serve   # then open http://127.0.0.1:8000/v1/notes")
