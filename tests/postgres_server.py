"""Test support: a throwaway PostgreSQL cluster (initdb + pg_ctl) a test may stop and start.

The shared server on port 5432 is never stopped by a test; a test that needs
PostgreSQL to go away makes its own cluster in a temporary folder, on a free
port, reachable over TCP on loopback only. As root (CI), the cluster runs as
the ``postgres`` system user, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from process_support import free_port
from service_support import service_missing

__all__ = ["PrivatePostgres"]


def _binaries() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").is_file():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class PrivatePostgres:
    """A PostgreSQL cluster of one test: :meth:`start`, :meth:`stop`, :attr:`url`."""

    def __init__(self) -> None:
        binaries = _binaries()
        if binaries is None:
            service_missing("initdb/pg_ctl are not installed (Debian package postgresql)")
        self._bin = binaries
        self._root = Path(tempfile.mkdtemp(prefix="bastion-pg-"))
        self._data = self._root / "data"
        self.port = free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self._root, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self._data), "-U", "postgres", "-A", "trust", "--no-sync")

    @property
    def url(self) -> str:
        """The cluster's ``postgres`` database."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        # The server inherits pg_ctl's output: a file, not a pipe that would never close.
        with (self._root / f"{tool}.out").open("ab") as out:
            subprocess.run(
                [*self._as, str(self._bin / tool), *args],
                check=True,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=60,
            )

    def start(self) -> None:
        """Start the cluster and wait until it accepts connections."""
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self._root} "
            "-c fsync=off -c shared_buffers=16MB -c max_connections=20"
        )
        log = str(self._root / "server.log")
        self._run(
            "pg_ctl", "-D", str(self._data), "-l", log, "-o", options, "-w", "-t", "30", "start"
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the cluster at once (``fast``: open sessions are ended)."""
        self._run("pg_ctl", "-D", str(self._data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        """Stop the cluster if it runs and delete its folder."""
        subprocess.run(
            [
                *self._as,
                str(self._bin / "pg_ctl"),
                "-D",
                str(self._data),
                "-m",
                "immediate",
                "stop",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
            timeout=60,
        )
        shutil.rmtree(self._root, ignore_errors=True)
