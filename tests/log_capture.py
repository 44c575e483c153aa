"""A pytest plugin (registered in ``conftest.py``): fail every test during which a secret
was logged.

For the duration of each test (set-up and teardown included) a handler on the
root logger sees every record, and Bastion's loggers are lowered to DEBUG (only
when a test has not set their level itself; other libraries' levels are left
alone, so SQLAlchemy does not start echoing statements). At the end of the
test, the test fails if a record's message, arguments, extra fields or
exception text held a test password, a JWT, an API key, an MFA secret, or an
opaque token (refresh token, one-time code): these have no prefix, so the
plugin remembers every ``secrets.token_urlsafe`` value the process makes.

The records checked are the raw ones, before Bastion's log formatter masks
secrets: the code must not rely on the mask. A test that logs such a value on
purpose says so with ``@pytest.mark.logs_secrets("why")`` (no test needs it today).

The ``log_output`` fixture configures Bastion's logging into memory for tests
of the log lines themselves, and puts the process's logging back afterwards.
"""

from __future__ import annotations

import io
import json
import logging
import re
import secrets
import traceback
from collections.abc import Collection, Generator, Iterator, Mapping
from typing import Any

import pytest
import structlog

import admin_support
import auth_support
import mfa_recovery_support
from bastion.ops.logging import configure_logging

TEST_PASSWORDS = frozenset(
    {
        auth_support.PASSWORD,
        admin_support.PASSWORD,
        mfa_recovery_support.PASSWORD,
        # Passwords individual tests choose (changes, resets, wrong guesses).
        "a brand new passphrase",
        "a long pass phrase 42",
        "yet another passphrase",
        "not my password",
        "an attacker's choice",
    }
)
"""Passwords the tests use; none may reach a log line."""

_SECRETS = {
    "a JWT": re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+"),
    "an API key": re.compile(r"bst_[0-9A-Za-z]{46}"),
    "an MFA secret": re.compile(r"(?<![A-Za-z0-9])[A-Z2-7]{32}(?![A-Za-z0-9])"),
}
_RANDOM_RUN = re.compile(r"[A-Za-z0-9_-]{22,}")
_CODE_MAILER = "bastion.mail"
"""The development mailer logs account emails, one-time codes included, by design (their
purpose); passwords, JWTs, API keys and MFA secrets are still refused there."""

_issued: set[str] = set()
"""Every ``secrets.token_urlsafe`` value made in this process: refresh tokens, one-time
codes, session ids (``new_opaque_token``), and the secret keys tests make."""
_token_urlsafe = secrets.token_urlsafe


def _remembered_token_urlsafe(nbytes: int | None = None) -> str:
    token = _token_urlsafe(nbytes)
    _issued.add(token)
    return token


_STANDARD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
_BASTION = "bastion"


def _record_text(record: logging.LogRecord) -> str:
    try:
        parts = [record.getMessage()]
    except Exception:  # a malformed call still shows what it was given
        parts = [str(record.msg), repr(record.args)]
    parts += [
        str(value) for key, value in record.__dict__.items() if key not in _STANDARD_ATTRIBUTES
    ]
    if record.exc_info and record.exc_info[1] is not None:
        parts.append("".join(traceback.format_exception(record.exc_info[1])))
    elif record.exc_text:
        parts.append(record.exc_text)
    if record.stack_info:
        parts.append(record.stack_info)
    return "\n".join(parts)


def secrets_in(text: str, *, logger: str = "") -> list[str]:
    """What kinds of secret ``text`` (a line of ``logger``) holds, e.g. ``["a JWT"]``."""
    found = [f"the test password {p!r}" for p in TEST_PASSWORDS if p in text]
    found += [what for what, pattern in _SECRETS.items() if pattern.search(text)]
    if logger != _CODE_MAILER and any(run in _issued for run in _RANDOM_RUN.findall(text)):
        found.append("an opaque token (refresh token, one-time code, secret key)")
    return found


class LeakFinder(logging.Handler):
    """Remembers each record that holds a secret."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = _record_text(record)
        found = secrets_in(text, logger=record.name)
        if found:
            self.leaks.append(
                f"{record.name} ({record.levelname}) logged {', '.join(found)}: {text[:500]}"
            )


_STATE = pytest.StashKey[tuple[LeakFinder, int]]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "logs_secrets(reason): this test logs a secret on purpose (skip the log guard)"
    )
    # Opaque tokens have no prefix to recognise them by: remember each one made instead.
    secrets.token_urlsafe = _remembered_token_urlsafe


def pytest_unconfigure(config: pytest.Config) -> None:
    secrets.token_urlsafe = _token_urlsafe


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    finder = LeakFinder()
    logging.getLogger().addHandler(finder)
    bastion = logging.getLogger(_BASTION)
    previous = bastion.level
    if previous == logging.NOTSET:
        bastion.setLevel(logging.DEBUG)
    item.stash[_STATE] = (finder, previous)
    return (yield)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    try:
        result = yield
    finally:
        state = item.stash.get(_STATE, None)
        if state is not None:
            logging.getLogger().removeHandler(state[0])
            logging.getLogger(_BASTION).setLevel(state[1])
    if state and state[0].leaks and item.get_closest_marker("logs_secrets") is None:
        pytest.fail(
            "secrets were logged during this test:\n" + "\n".join(state[0].leaks), pytrace=False
        )
    return result


class LogOutput:
    """Bastion's logging configured into memory for one test; see the ``log_output`` fixture."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    def configure(
        self,
        *,
        json: bool = True,
        level: str = "INFO",
        levels: Mapping[str, str] | None = None,
        redact: Collection[str] = (),
    ) -> None:
        """Set up logging as ``bastion serve`` does, writing here."""
        configure_logging(
            level=level, levels=levels or {}, json=json, redact=redact, stream=self.stream
        )

    def text(self) -> str:
        """Everything written so far."""
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        """Every JSON line written so far, parsed."""
        return [json.loads(line) for line in self.text().splitlines() if line.strip()]


_UVICORN = ("uvicorn", "uvicorn.error", "uvicorn.asgi", "uvicorn.access")


def _snapshot(logger: logging.Logger) -> tuple[list[logging.Handler], int, bool]:
    return list(logger.handlers), logger.level, logger.propagate


@pytest.fixture
def log_output() -> Iterator[LogOutput]:
    """Configure Bastion's logging into memory; the process's logging is put back afterwards.

    Bastion's loggers are left at NOTSET for the test (this plugin lowers them to DEBUG),
    so that levels behave as they do in a server.
    """
    root = logging.getLogger()
    saved_root = (list(root.handlers), root.level)
    saved_uvicorn = {name: _snapshot(logging.getLogger(name)) for name in _UVICORN}
    saved_class = logging.getLoggerClass()
    bastion = logging.getLogger(_BASTION)
    saved_bastion = bastion.level
    bastion.setLevel(logging.NOTSET)
    try:
        yield LogOutput()
    finally:
        configure_logging(level="WARNING", levels={}, json=True)  # forgets per-logger levels
        root.handlers[:] = saved_root[0]
        root.setLevel(saved_root[1])
        for name, (handlers, level, propagate) in saved_uvicorn.items():
            lg = logging.getLogger(name)
            lg.handlers[:] = handlers
            lg.setLevel(level)
            lg.propagate = propagate
        bastion.setLevel(saved_bastion)
        logging.setLoggerClass(saved_class)
        structlog.reset_defaults()
