"""Commands run with only the server's runtime role say which setting is missing.

The owner migrates and grants the runtime role its rights; the runtime role may
not read ``bastion_migrations``. A command that checks or applies migrations
(``serve``, ``events status``, ``audit verify``) with only
``BASTION_DATABASE_URL`` set to that role stops in one line pointing at
``BASTION_MIGRATE_DATABASE_URL``, instead of PostgreSQL's traceback.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import Result
from typer.testing import CliRunner

from bastion.cli import app as cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SECRET = "runtime-role-test-secret-" + "x" * 32


@pytest.fixture
def migrations_dir(tmp_path: Path) -> Path:
    """A copy of the example's committed revisions."""
    copy = tmp_path / "migrations"
    shutil.copytree(EXAMPLES / "migrations" / "versions", copy / "versions")
    return copy


def _bastion(*args: str, env: dict[str, str | None]) -> Result:
    return CliRunner().invoke(cli, [*args, str(EXAMPLES / "bastion.yaml")], env=env)


async def test_runtime_role_commands_name_the_migrate_url_instead_of_a_traceback(
    postgres_url: str, runtime_url: str, migrations_dir: Path
) -> None:
    base: dict[str, str | None] = {
        "BASTION_MIGRATIONS_DIR": str(migrations_dir),
        "BASTION_SECRET_KEY": SECRET,
        "BASTION_BROKER_URL": None,
    }
    # The owner migrates and grants the runtime role what the server needs.
    applied = await asyncio.to_thread(
        _bastion,
        "migrate",
        "apply",
        env={
            **base,
            "BASTION_DATABASE_URL": runtime_url,
            "BASTION_MIGRATE_DATABASE_URL": postgres_url,
        },
    )
    assert applied.exit_code == 0, applied.output
    runtime_only = {
        **base,
        "BASTION_DATABASE_URL": runtime_url,
        "BASTION_MIGRATE_DATABASE_URL": None,
    }
    role = sa.make_url(runtime_url).username

    for env, command, code in (
        ({**runtime_only, "BASTION_ENV": "development"}, ("events", "status"), 1),
        ({**runtime_only, "BASTION_ENV": "production"}, ("audit", "verify"), 1),
        ({**runtime_only, "BASTION_ENV": "production"}, ("serve",), 2),
    ):
        result = await asyncio.to_thread(_bastion, *command, env=env)

        said = " ".join(result.output.split())
        assert result.exit_code == code, (command, result.output)
        assert f"the database user '{role}'" in said, command
        assert "may not read or change the schema" in said
        assert "permission denied for table bastion_migrations" in said
        assert "set BASTION_MIGRATE_DATABASE_URL to that role's URL" in said
        assert "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) <= 2, result.output

    # Following the advice works.
    fixed = await asyncio.to_thread(
        _bastion,
        "events",
        "status",
        env={**runtime_only, "BASTION_MIGRATE_DATABASE_URL": postgres_url},
    )
    assert fixed.exit_code == 0, fixed.output
    assert "outbox:" in fixed.output
