"""A new user's first minutes: ``bastion init``, ``bastion serve``, a first record over HTTP.

These run the installed ``bastion`` script in a fresh folder, as a user would,
with nothing configured: embedded SQLite and development mode.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from process_support import bastion_script, clean_environment, free_port

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
STARTUP_SECONDS = 30.0
STOP_SECONDS = 15.0


def _run_bastion(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [bastion_script(), *args],
        cwd=cwd,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@contextmanager
def _serving(project: Path, *, probe: str) -> Iterator[str]:
    """``bastion serve`` in ``project`` on a free port; yields its base URL, always stops it."""
    port = free_port()
    log_path = project / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [bastion_script(), "serve", "--port", str(port)],
            cwd=project,
            env=clean_environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        base_url = f"http://127.0.0.1:{port}"
        _wait_until_answering(server, base_url + probe, log_path)
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=STOP_SECONDS)
            pytest.fail(f"bastion serve ignored SIGTERM for {STOP_SECONDS}s and was killed")
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status tells why it ended.
    assert server.returncode in (0, -signal.SIGTERM), server.returncode
    assert "Application shutdown complete" in log_path.read_text()


@pytest.fixture
def served_project(tmp_path: Path) -> Iterator[str]:
    """A project made by ``bastion init`` and served by ``bastion serve``; yields its base URL."""
    initialised = _run_bastion("init", cwd=tmp_path)
    assert initialised.returncode == 0, initialised.stderr
    with _serving(tmp_path, probe="/v1/notes") as base_url:
        yield base_url


@pytest.fixture
def served_example(tmp_path: Path) -> Iterator[str]:
    """A copy of examples/ (what ``make run`` serves), served by ``bastion serve``."""
    project = tmp_path / "examples"
    shutil.copytree(EXAMPLES, project, ignore=shutil.ignore_patterns("*.db*", "__pycache__"))
    with _serving(project, probe="/v1/stats") as base_url:
        yield base_url


def _wait_until_answering(server: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(
                f"bastion serve exited with {server.returncode} before answering:\n"
                + log_path.read_text()
            )
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"bastion serve did not answer within {STARTUP_SECONDS}s:\n" + log_path.read_text())


def test_init_then_serve_creates_and_reads_back_a_record_with_the_scaffold_hook_applied(
    served_project: str,
) -> None:
    with httpx.Client(base_url=served_project, timeout=10.0) as client:
        author = client.post("/v1/authors", json={"name": "Ada", "email": "ada@example.com"})
        assert author.status_code == 201, author.text
        created = client.post(
            "/v1/notes",
            json={"title": "Hello, World!", "body": "first note", "author": author.json()["id"]},
        )
        assert created.status_code == 201, created.text
        note = created.json()
        read = client.get(f"/v1/notes/{note['id']}")

    assert read.status_code == 200, read.text
    assert read.json() == note
    assert read.headers["etag"] == '"1"'
    assert note["title"] == "Hello, World!"
    assert note["pinned"] is False
    # The scaffold's hooks.py derives the slug from the title.
    assert note["slug"].startswith("hello-world-")


def test_init_writes_the_project_files_a_new_user_needs(tmp_path: Path) -> None:
    result = _run_bastion("init", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    for name in ("bastion.yaml", "hooks.py", ".env.example", "README.md", ".gitignore"):
        assert (tmp_path / name).is_file(), name


def test_init_refuses_to_overwrite_an_existing_project(tmp_path: Path) -> None:
    assert _run_bastion("init", cwd=tmp_path).returncode == 0
    (tmp_path / "bastion.yaml").write_text("# mine\n")

    again = _run_bastion("init", cwd=tmp_path)

    assert again.returncode != 0
    assert "--force" in again.stderr
    assert (tmp_path / "bastion.yaml").read_text() == "# mine\n"


BROKEN_BLUEPRINT = """\
version: 1
name: broken
resources:
  orders:
    fields:
      total: {type: money}
"""


def test_check_on_a_broken_blueprint_exits_2_naming_the_file_path_and_hint(
    tmp_path: Path,
) -> None:
    (tmp_path / "bastion.yaml").write_text(BROKEN_BLUEPRINT)

    result = _run_bastion("check", "bastion.yaml", cwd=tmp_path)

    assert result.returncode == 2, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert "bastion.yaml:6" in output
    assert "resources.orders.fields.total.type" in output
    assert "money" in output
    assert "decimal" in output  # the hint lists the types that exist


def test_check_on_a_valid_blueprint_exits_0(tmp_path: Path) -> None:
    assert _run_bastion("init", cwd=tmp_path).returncode == 0

    result = _run_bastion("check", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "is valid" in result.stdout


def test_help_lists_every_command() -> None:
    result = _run_bastion("--help", cwd=Path.cwd())

    assert result.returncode == 0, result.stderr
    for command in ("serve", "init", "check", "migrate", "export"):
        assert command in result.stdout


def test_example_shop_blueprint_passes_check() -> None:
    result = _run_bastion("check", "bastion.yaml", cwd=EXAMPLES)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "is valid (6 resources)" in result.stdout


def test_example_shop_committed_migrations_cover_its_whole_blueprint(tmp_path: Path) -> None:
    # `make run` on a fresh clone applies these revisions; none may be missing.
    project = tmp_path / "examples"
    shutil.copytree(EXAMPLES, project, ignore=shutil.ignore_patterns("*.db*", "__pycache__"))

    result = _run_bastion("migrate", "status", cwd=project)

    assert "pending" in result.stdout, result.stdout + result.stderr
    assert "unplanned" not in result.stdout


def test_example_shop_serves_its_custom_route_and_runs_its_hooks(served_example: str) -> None:
    with httpx.Client(base_url=served_example, timeout=10.0) as client:
        stats = client.get("/v1/stats").json()
        customer = client.post(
            "/v1/customers",
            json={"name": "Ada", "email": "ada@example.com", "api_secret": "s3cret"},
        ).json()
        product = client.post(
            "/v1/products",
            json={"sku": "MUG-01", "name": "Mug", "price": "12.50", "stock": 10},
        ).json()
        order = client.post("/v1/orders", json={"customer": customer["id"]}).json()
        item = {"order": order["id"], "product": product["id"], "quantity": 3}
        refused = client.post("/v1/order_items", json=item)
        activated = client.patch(f"/v1/products/{product['id']}", json={"status": "active"})
        accepted = client.post("/v1/order_items", json=item)
        stock_after = client.get(f"/v1/products/{product['id']}").json()["stock"]

    assert stats["service"] == "shop"
    assert {r["name"] for r in stats["resources"]} >= {"customers", "orders", "order_items"}
    assert "api_secret" not in customer  # write-only
    assert order["number"] == f"ORD-{order['id'].replace('-', '')[-8:].upper()}"
    assert refused.status_code == 422
    assert refused.json()["code"] == "rejected"
    assert refused.json()["errors"] == [{"pointer": "/product", "detail": "is draft, not active"}]
    assert activated.status_code == 200, activated.text
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["unit_price"] == "12.50"  # copied from the product
    assert stock_after == 7  # held back in the same transaction
