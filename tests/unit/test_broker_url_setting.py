"""``BASTION_BROKER_URL`` is checked with the other settings: a URL no broker adapter
takes stops every command at once, in one line that never repeats its password."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from bastion.cli import app as cli
from bastion.settings import Settings

BLUEPRINT = "name: shop\nresources:\n  orders:\n    fields: {title: {type: string}}\n"


@pytest.mark.parametrize(
    "url",
    [
        "amqp://guest:guest@127.0.0.1:5672/",
        "amqps://rabbit.internal/",
        "nats://127.0.0.1:4222",
        "tls://nats.internal:4222",
        "redis://127.0.0.1:6379/0",
        "rediss://:pw@redis.internal:6380/0",
        "memory://",
    ],
)
def test_broker_url_setting_accepts_every_broker_scheme(url: str) -> None:
    assert Settings(broker_url=url).broker_url == url


def test_broker_url_setting_blank_means_the_in_process_bus() -> None:
    assert Settings(broker_url="  ").broker_url is None


@pytest.mark.parametrize(
    ("url", "got"),
    [
        ("kafka://user:hunter2@broker:9092", "got the scheme kafka://"),
        ("user:hunter2@rabbit:5672", "got no scheme"),
    ],
)
def test_broker_url_setting_refuses_other_schemes_without_echoing_the_url(
    url: str, got: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(broker_url=url)

    message = str(caught.value)
    assert got in message
    assert "amqp://, amqps://, nats://, tls://, redis://, rediss://, memory://" in message
    assert "e.g. amqp://" in message
    assert "hunter2" not in message


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "bastion.yaml").write_text(BLUEPRINT)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BASTION_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}")
    monkeypatch.setenv("BASTION_BROKER_URL", "foo://someone:hunter2@broker.internal")
    return tmp_path


@pytest.mark.parametrize(
    "command", [["worker"], ["serve"], ["events", "status"]], ids=["worker", "serve", "events"]
)
def test_broker_url_setting_a_wrong_one_stops_commands_in_one_line(
    project: Path, command: list[str]
) -> None:
    result = CliRunner().invoke(cli, command)

    assert result.exit_code == 2, result.output
    assert "the settings are not usable:" in result.output
    assert "BASTION_BROKER_URL: a broker URL starts with amqp://" in result.output
    assert "got the scheme foo://" in result.output
    assert "hunter2" not in result.output
    assert "Traceback" not in result.output
    assert not (project / "shop.db").exists()  # stopped before touching the database


def test_broker_url_setting_worker_help_says_where_events_go() -> None:
    result = CliRunner().invoke(cli, ["worker", "--help"], terminal_width=200)

    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "BASTION_BROKER_URL" in text
    for scheme in ("amqp://", "nats://", "redis://"):
        assert scheme in text
    assert "in-process bus" in text
    assert "Run as many workers as you like" in text
