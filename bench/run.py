"""The benchmark suite's entry point (``make bench``, ``make bench-scale``).

    python bench/run.py bench     # every system and endpoint -> docs/benchmarks.md
    python bench/run.py scale     # latency as the PostgreSQL table grows
    python bench/run.py profile   # py-spy on Bastion's workers under load
    python bench/run.py report    # re-render docs/benchmarks.md from bench/results/

Run it with Bastion's venv (``.venv/bin/python``). Knobs are ``BENCH_*``
environment variables (see docs/benchmarks.md). Every server it starts is
stopped and every ``bench_*`` database it creates is dropped when it ends,
also on failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness.config import REPO_DIR, RunConfig, ScaleConfig
from harness.processes import stop_all
from harness.report import write_report


def _stop_on_signal(signum: int, _frame: object) -> None:
    # SystemExit unwinds through every ``finally``: servers stop, databases drop.
    stop_all()
    raise SystemExit(128 + signum)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("command", choices=["bench", "scale", "profile", "report"])
    parser.add_argument("--invoked-as", default=None, help="the command to print in the report")
    parser.add_argument("--endpoint", default="get", help="profile: the endpoint to load")
    parser.add_argument("--system", default="bastion-pg", help="profile: the system to profile")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGINT, _stop_on_signal)
    invoked_as = args.invoked_as or f"python bench/run.py {args.command}"
    if args.command != "report":
        with frozen_bastion_source():
            _run(args.command, args, invoked_as)
    path = write_report()
    print(f"wrote {path}")
    return 0


@contextmanager
def frozen_bastion_source() -> Iterator[None]:
    """Serve a copy of src/bastion taken now, whatever happens to the work tree meanwhile.

    Others may edit src/ while a run takes its quarter of an hour; every server
    of one run must be the same Bastion. ``PYTHONPATH`` puts the copy ahead of
    the editable install for the servers and the CLI; ``sys.path`` for the loaders.
    """
    snapshot = Path(tempfile.mkdtemp(prefix="bastion-src-"))
    try:
        shutil.copytree(REPO_DIR / "src" / "bastion", snapshot / "bastion")
        os.environ["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(snapshot), os.environ.get("PYTHONPATH", "")) if p
        )
        sys.path.insert(0, str(snapshot))
        yield
    finally:
        shutil.rmtree(snapshot, ignore_errors=True)


def _run(command: str, args: argparse.Namespace, invoked_as: str) -> None:
    if command == "bench":
        from harness.runs import run_bench

        run_bench(RunConfig(), invoked_as)
    elif command == "scale":
        from harness.scale import run_scale

        run_scale(ScaleConfig(), invoked_as)
    elif command == "profile":
        from harness.profile import run_profile

        run_profile(RunConfig(), args.system, args.endpoint, invoked_as)


if __name__ == "__main__":
    sys.exit(main())
