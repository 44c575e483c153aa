"""Writes made from the command line are logged like the server's, and a user's personal
data can be erased from the log."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bastion.app.events import build_event_log
from bastion.blueprint import load_blueprint, with_identity
from bastion.cli import app as cli
from bastion.cli.event_store import open_event_store
from bastion.core.events.envelope import cloud_event
from bastion.core.events.personal import subject_of
from bastion.core.query import QuerySpec, SortKey
from bastion.settings import Settings

SECRET = "cli-writes-test-secret-" + "y" * 32


async def _user_events(url: str) -> list[dict[str, Any]]:
    settings = Settings(database_url=url, secret_key=SECRET)
    blueprint = with_identity(load_blueprint(Path("bastion.yaml")))
    log = build_event_log(settings, blueprint)
    assert log is not None
    async with (
        open_event_store(settings, blueprint) as store,
        store.unit_of_work(read_only=True) as uow,
    ):
        rows = await uow.fetch_page("bastion_events", QuerySpec(limit=100, sort=(SortKey("seq"),)))
        users = [r for r in rows if r["resource"] == "users"]
        keys = {
            row["record_id"]: await log.keys.find(uow, subject_of("users", row["record_id"]))
            for row in users
        }
    return [cloud_event(row, keys[row["record_id"]]) for row in users]


def test_cli_created_users_are_in_the_event_log_and_erasable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    (tmp_path / "bastion.yaml").write_text(
        "name: cli\nresources:\n  notes:\n    fields:\n      title: {type: string}\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BASTION_DATABASE_URL", url)
    monkeypatch.setenv("BASTION_SECRET_KEY", SECRET)
    created = CliRunner().invoke(
        cli,
        ["users", "create", "--email", "ann@example.com", "--role", "admin"],
        input="a-long-enough-password-4417\na-long-enough-password-4417\n",
    )
    assert created.exit_code == 0, created.output
    [event] = asyncio.run(_user_events(url))
    assert event["type"] == "users.created"
    assert event["data"]["changes"]["email"] == {"before": None, "after": "ann@example.com"}
    assert event["data"]["actor"]["kind"] == "system"

    erased = CliRunner().invoke(cli, ["audit", "erase", "users", event["data"]["id"], "--yes"])
    assert erased.exit_code == 0, erased.output
    [after] = asyncio.run(_user_events(url))
    assert after["data"]["changes"]["email"] == {"before": None, "after": "[erased]"}
    verified = CliRunner().invoke(cli, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output
