"""``bastion export openapi|asyncapi|blueprint-schema``: the server's documents, and
one-line errors instead of tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from bastion.app import create_app
from bastion.cli import app as cli
from bastion.settings import Settings

OWNED_NOTES = """\
name: notebook
resources:
  notes:
    fields:
      title: {type: string, required: true}
      author: {type: belongs_to, resource: users, owner: true}
"""


@pytest.fixture
def owned_notes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("BASTION_BROKER_URL", "BASTION_BROKER_CHANNEL", "BASTION_BATCH_MAX"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "bastion.yaml"
    path.write_text(OWNED_NOTES)
    return path


async def test_export_openapi_of_a_blueprint_owning_records_by_user_is_what_the_server_serves(
    owned_notes: Path, tmp_path: Path
) -> None:
    output = tmp_path / "openapi.json"

    result = CliRunner().invoke(cli, ["export", "openapi", str(owned_notes), "-o", str(output)])

    assert result.exit_code == 0, result.output
    exported = json.loads(output.read_text(encoding="utf-8"))
    assert "/v1/users" in exported["paths"]
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'served.db'}")
    app = create_app(owned_notes, settings=settings, relay=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://export.test") as api:
        served = (await api.get("/openapi.json")).json()
    assert exported == served


@pytest.mark.parametrize(
    "command",
    [["openapi"], ["asyncapi"], ["blueprint-schema"]],
    ids=["openapi", "asyncapi", "blueprint-schema"],
)
def test_export_to_a_missing_folder_is_a_one_line_error(
    owned_notes: Path, tmp_path: Path, command: list[str]
) -> None:
    target = tmp_path / "no-such-folder" / "document.json"

    result = CliRunner().invoke(cli, ["export", *command, "-o", str(target)])

    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"cannot write {target}: No such file or directory" in result.output
    assert "Traceback" not in result.output
    assert not target.parent.exists()
