"""``bastion users`` and ``bastion keys``: accounts and keys made on the server itself.

The commands run their own event loop, so these tests are synchronous.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from bastion.app import create_app
from bastion.cli import app as cli
from bastion.settings import Settings

BLUEPRINT = """\
name: notes
auth:
  roles: [member]
resources:
  notes:
    fields:
      title: {type: string, required: true}
    access:
      member: all
"""
PASSWORD = "correct horse battery staple"


@pytest.fixture
def project(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "bastion.yaml").write_text(BLUEPRINT)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BASTION_DATABASE_URL", database_url)
    monkeypatch.setenv("BASTION_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("BASTION_ARGON2_MEMORY_KIB", "8192")
    return database_url


def _run(*args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), input=input)
    return result.exit_code, result.output


async def _token(url: str, form: dict[str, str]) -> httpx.Response:
    settings = Settings(database_url=url, argon2_time_cost=1, argon2_memory_kib=8192)
    app = create_app("bastion.yaml", settings=settings)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://cli.test") as client:
            return await client.post("/v1/auth/token", data=form)
    finally:
        await app.stop()


def test_the_first_admin_made_on_the_command_line_can_sign_in(project: str) -> None:
    code, output = _run(
        "users", "create", "--email", "Root@Example.com", "--role", "admin", "--password", PASSWORD
    )

    assert code == 0, output
    assert "created user root@example.com" in output
    signed_in = asyncio.run(
        _token(
            project,
            {"grant_type": "password", "username": "root@example.com", "password": PASSWORD},
        )
    )
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["token_type"] == "Bearer"


def test_the_password_is_asked_for_twice_when_not_given(project: str) -> None:
    code, output = _run(
        "users",
        "create",
        "--email",
        "ada@example.com",
        "--role",
        "member",
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )

    assert code == 0, output
    assert PASSWORD not in output
    assert "Repeat for confirmation" in output
    signed_in = asyncio.run(
        _token(
            project, {"grant_type": "password", "username": "ada@example.com", "password": PASSWORD}
        )
    )
    assert signed_in.status_code == 200


def test_a_service_account_secret_is_printed_once_and_works(project: str) -> None:
    code, output = _run("users", "service-account", "--name", "billing", "--role", "member")

    assert code == 0, output
    client_id = re.search(r"client_id:\s+(\S+)", output)
    client_secret = re.search(r"client_secret:\s+(\S+)", output)
    assert client_id is not None
    assert client_secret is not None
    granted = asyncio.run(
        _token(
            project,
            {
                "grant_type": "client_credentials",
                "client_id": client_id.group(1),
                "client_secret": client_secret.group(1),
            },
        )
    )
    assert granted.status_code == 200, granted.text


def test_bad_input_is_explained_without_a_traceback(project: str) -> None:
    code, output = _run(
        "users", "create", "--email", "ada@example.com", "--role", "owner", "--password", "short"
    )
    assert code == 1
    assert "unknown role 'owner'" in output
    assert "Too short" in output
    assert "Traceback" not in output

    assert _run("users", "create", "--email", "a@example.com", "--password", PASSWORD)[0] == 0
    code, output = _run("users", "create", "--email", "A@example.com", "--password", PASSWORD)
    assert code == 1
    assert "already exists" in output


def test_an_unknown_tenant_is_refused(project: str) -> None:
    code, output = _run(
        "users", "create", "--email", "a@example.com", "--password", PASSWORD, "--tenant", "acme"
    )
    assert code == 1
    assert "no tenant 'acme'" in output


def test_production_refuses_a_database_that_is_not_migrated(
    project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BASTION_ENV", "production")
    monkeypatch.setenv("BASTION_SECRET_KEY", "a-long-random-value-for-this-test-only-0123456789")

    code, output = _run("users", "create", "--email", "a@example.com", "--password", PASSWORD)

    assert code == 1
    assert "bastion migrate" in output


def test_keys_rotate_prints_the_new_key_id(project: str) -> None:
    first = _run("keys", "rotate")
    second = _run("keys", "rotate")

    assert first[0] == 0, first[1]
    assert second[0] == 0, second[1]
    assert "rotated" in first[1]
    assert first[1] != second[1]


def test_the_commands_explain_themselves() -> None:
    for command in (
        ["users", "--help"],
        ["users", "create", "--help"],
        ["keys", "rotate", "--help"],
    ):
        code, output = _run(*command)
        assert code == 0
        assert "Usage" in output
