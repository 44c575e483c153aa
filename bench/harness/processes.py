"""Servers under test: start one, wait until it answers, read its memory, stop it.

Each server runs in its own session (process group), so stopping it ends its
workers too and nothing else. Every started server is remembered until it is
stopped; :func:`stop_all` (called from ``finally``, ``atexit`` and the signal
handlers that ``run.py`` installs) makes sure none outlives the run.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["Server", "ServerFailed", "free_port", "http_request", "stop_all"]

_LIVE: list[Server] = []


class ServerFailed(RuntimeError):
    """A server did not start (its log's last lines are in the message)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http_request(
    port: int,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 5.0,
) -> tuple[int, bytes]:
    """One request to ``127.0.0.1:port``: (status, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces: split after it.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` (all its threads), 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class Server:
    """One server process (and its workers) on a loopback port."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        port: int,
        ready_path: str,
        env: Mapping[str, str],
        cwd: Path,
        log_path: Path,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.port = port
        self.ready_path = ready_path
        self.env = dict(env)
        self.cwd = cwd
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90.0) -> float:
        """Start and wait for the first 2xx on ``ready_path``; the seconds that took."""
        log = self.log_path.open("ab")
        started = time.perf_counter()
        self.process = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        _LIVE.append(self)
        deadline = started + timeout
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise ServerFailed(
                    f"{self.name} exited with {self.process.returncode}:\n{self.tail()}"
                )
            try:
                status, _ = http_request(self.port, "GET", self.ready_path, timeout=1.0)
            except OSError:
                status = 0
            if 200 <= status < 300:
                return time.perf_counter() - started
            time.sleep(0.02)
        raise ServerFailed(f"{self.name} did not answer within {timeout:.0f} s:\n{self.tail()}")

    def tail(self, lines: int = 25) -> str:
        """The last lines of the server's log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: the workers, or the server itself if it has none."""
        if self.process is None:
            return []
        # Zombies and helpers (multiprocessing's resource tracker) serve nothing.
        workers = [
            pid
            for pid in _children(self.process.pid)
            if "resource_tracker" not in _cmdline(pid) and _rss_mib(pid) is not None
        ]
        return workers or [self.process.pid]

    def cpu_seconds(self) -> float:
        """CPU time used so far by the server and every process under it (workers, threads)."""
        if self.process is None:
            return 0.0
        pids, seen = [self.process.pid], 0
        while seen < len(pids):
            pids += _children(pids[seen])
            seen += 1
        return sum(_cpu_seconds(pid) for pid in pids)

    def memory(self) -> dict[str, object]:
        """RSS in MiB of each worker and of the supervising process."""
        if self.process is None:
            return {}
        workers = self.worker_pids()
        per_worker = [round(r, 1) for pid in workers if (r := _rss_mib(pid)) is not None]
        main = None if workers == [self.process.pid] else _rss_mib(self.process.pid)
        return {
            "workers_mib": per_worker,
            "supervisor_mib": None if main is None else round(main, 1),
        }

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the process group, then SIGKILL whatever is left after ``timeout``."""
        process, self.process = self.process, None
        if self in _LIVE:
            _LIVE.remove(self)
        if process is None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # workers that ignored SIGTERM
        process.wait()


def stop_all() -> None:
    """Stop every server still running."""
    for server in list(_LIVE):
        server.stop()


atexit.register(stop_all)
