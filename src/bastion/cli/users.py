"""``bastion users create|service-account``: accounts made on the server itself.

The first admin of a new deployment is made here (no one can sign in to make
them yet); service accounts too, whose secret is printed once. Both run
against the configured database, after checking (in production) or bringing
(in development) its schema up to date.
"""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import typer

from bastion.blueprint import Blueprint
from bastion.blueprint.identity import TENANTS
from bastion.cli.common import BLUEPRINT_ARGUMENT, console, fail
from bastion.cli.database import open_admin, run_with_database
from bastion.core import RecordService, parse_id
from bastion.core.identity.admin import OPERATOR
from bastion.core.identity.store import IdentityRecords
from bastion.settings import Settings

__all__ = ["users_app"]

users_app = typer.Typer(
    help="Create accounts directly in the configured database (the first admin, services).",
    no_args_is_help=True,
)

ROLE = typer.Option(
    [],
    "--role",
    "-r",
    help="A role to grant: admin or one the blueprint declares in auth.roles (repeat for more).",
)
TENANT = typer.Option(
    None, "--tenant", help="The tenant the account belongs to: its id or its name."
)


async def _tenant_id(service: RecordService, tenant: str | None) -> UUID | None:
    if tenant is None:
        return None
    async with service.store.unit_of_work(read_only=True) as uow:
        parsed = parse_id(tenant)
        if parsed is not None:
            row = await uow.fetch(TENANTS, parsed)
        else:
            row = await IdentityRecords(service, uow, OPERATOR).find_one(TENANTS, name=tenant)
    if row is None:
        fail(f"there is no tenant {tenant!r} (give its id or its name)", code=1)
    tenant_id: UUID = row["id"]
    return tenant_id


@users_app.command()
def create(
    blueprint: Path | None = BLUEPRINT_ARGUMENT,
    email: str = typer.Option(..., "--email", "-e", help="The address the person signs in with."),
    role: list[str] = ROLE,
    password: str | None = typer.Option(
        None,
        "--password",
        help="The password; asked for (hidden, twice) when not given. Passing it here "
        "leaves it in your shell history.",
        show_default=False,
    ),
    name: str | None = typer.Option(None, "--name", help="The display name."),
    tenant: str | None = TENANT,
) -> None:
    """Create a person's account, e.g. the first admin.

    Example: bastion users create --email admin@example.com --role admin
    """
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)

    async def work(settings: Settings, model: Blueprint) -> dict[str, object]:
        async with open_admin(settings, model) as (admin, service):
            return await admin.create_user(
                OPERATOR,
                email=email,
                password=password,
                name=name,
                roles=role,
                tenant=await _tenant_id(service, tenant),
                # The operator vouches for the address they typed.
                email_verified=True,
            )

    user = run_with_database(blueprint, work)
    roles = ", ".join(role) or "none"
    console.print(
        f"[green]created[/] user {user['email']} (id {user['id']}, roles: {roles})",
        highlight=False,
    )


@users_app.command("service-account")
def service_account(
    blueprint: Path | None = BLUEPRINT_ARGUMENT,
    name: str = typer.Option(..., "--name", "-n", help="What the service is (e.g. billing)."),
    role: list[str] = ROLE,
    tenant: str | None = TENANT,
) -> None:
    """Create a service account and print its client_id and client_secret, once.

    The service gets tokens with the client credentials grant:
    POST /v1/auth/token with grant_type=client_credentials, client_id, client_secret.
    """

    async def work(settings: Settings, model: Blueprint) -> tuple[str, str]:
        async with open_admin(settings, model) as (admin, service):
            created = await admin.create_service_account(
                OPERATOR, name=name, roles=role, tenant=await _tenant_id(service, tenant)
            )
            return created.client_id, created.client_secret

    client_id, client_secret = run_with_database(blueprint, work)
    console.print(f"client_id:     {client_id}", highlight=False, markup=False)
    console.print(f"client_secret: {client_secret}", highlight=False, markup=False)
    console.print("[yellow]store the secret now:[/] it is not shown again (only its hash is kept).")
