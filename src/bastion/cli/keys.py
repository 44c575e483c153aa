"""``bastion keys rotate``: sign access tokens with a new key from now on."""

from __future__ import annotations

from pathlib import Path

import typer

from bastion.blueprint import Blueprint
from bastion.cli.common import BLUEPRINT_ARGUMENT, console
from bastion.cli.database import open_admin, run_with_database
from bastion.core.identity.admin import OPERATOR
from bastion.settings import Settings

__all__ = ["keys_app"]

keys_app = typer.Typer(help="Manage the keys that sign access tokens.", no_args_is_help=True)


@keys_app.command()
def rotate(blueprint: Path | None = BLUEPRINT_ARGUMENT) -> None:
    """Sign new access tokens with a new key; tokens signed earlier stay valid until
    they expire, and the JWKS publishes both keys meanwhile.

    Rotate on a schedule, or at once if a signing key may have leaked. Running
    servers pick the new key up within 30 seconds.
    """

    async def work(settings: Settings, model: Blueprint) -> str:
        async with open_admin(settings, model) as (admin, _):
            return await admin.rotate_signing_keys(OPERATOR)

    kid = run_with_database(blueprint, work)
    console.print(
        f"[green]rotated:[/] new access tokens are signed with key {kid}", highlight=False
    )
