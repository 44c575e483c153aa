"""Structured logs: the line format, levels, secrets masked, uvicorn in the same shape."""

from __future__ import annotations

import json
import logging
import logging.config
import re
import secrets

import pyotp
import pytest
import structlog

from bastion.blueprint import Blueprint, Resource, StringField, with_identity
from bastion.core.identity.opaque import new_api_key
from bastion.ops.logging import (
    REDACTED,
    AccessLog,
    redact_text,
    secret_field_names,
    uvicorn_log_config,
)
from bastion.ops.requests import FinishedRequest
from log_capture import LogOutput

JWT = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiIwMTkwIiwiZXhwIjoxfQ.c2lnbmF0dXJl"
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$")


def test_a_json_line_is_one_object_with_time_level_logger_event_and_fields(
    log_output: LogOutput,
) -> None:
    log_output.configure(json=True)
    logging.getLogger("bastion.shop").warning(
        "order %s is late", "o-1", extra={"order_id": "o-1", "days": 3}
    )
    [line] = log_output.lines()
    assert list(line)[:4] == ["timestamp", "level", "logger", "event"]
    assert ISO_UTC.match(line["timestamp"])
    assert line["level"] == "warning"
    assert line["logger"] == "bastion.shop"
    assert line["event"] == "order o-1 is late"
    assert (line["order_id"], line["days"]) == ("o-1", 3)


def test_an_exception_is_a_formatted_field_of_the_same_json_line(log_output: LogOutput) -> None:
    log_output.configure(json=True)
    try:
        raise ValueError("the disk is full")
    except ValueError:
        logging.getLogger("bastion.store").exception("cannot write")
    assert len(log_output.text().splitlines()) == 1
    [line] = log_output.lines()
    assert line["level"] == "error"
    assert line["event"] == "cannot write"
    assert line["exception"].startswith("Traceback (most recent call last):")
    assert "ValueError: the disk is full" in line["exception"]


def test_structlog_loggers_write_the_same_lines(log_output: LogOutput) -> None:
    log_output.configure(json=True)
    structlog.get_logger("bastion.jobs").info("job done", job="reindex")
    [line] = log_output.lines()
    assert (line["logger"], line["event"], line["job"]) == ("bastion.jobs", "job done", "reindex")
    assert line["level"] == "info"


def test_console_lines_are_readable_and_have_no_colour_codes_off_a_terminal(
    log_output: LogOutput,
) -> None:
    log_output.configure(json=False)
    logging.getLogger("bastion.shop").info("order placed", extra={"order_id": "o-1"})
    text = log_output.text()
    assert "order placed" in text
    assert "order_id=o-1" in text
    assert "bastion.shop" in text
    assert "\x1b[" not in text
    assert not text.lstrip().startswith("{")


def test_levels_per_logger_override_the_root_level(log_output: LogOutput) -> None:
    log_output.configure(level="WARNING", levels={"bastion.sql": "DEBUG", "noisy": "ERROR"})
    logging.getLogger("bastion.sql").debug("select 1")
    logging.getLogger("bastion.shop").info("hidden: below the root level")
    logging.getLogger("bastion.shop").warning("shown")
    logging.getLogger("noisy.module").warning("hidden: below its own level")
    assert [line["event"] for line in log_output.lines()] == ["select 1", "shown"]


def test_configuring_again_replaces_the_set_up_instead_of_adding_to_it(
    log_output: LogOutput,
) -> None:
    log_output.configure(levels={"bastion.sql": "DEBUG"})
    log_output.configure(levels={})
    logging.getLogger("bastion.sql").debug("hidden: its level was forgotten")
    logging.getLogger("bastion.shop").info("once")
    assert [line["event"] for line in log_output.lines()] == ["once"]


def test_values_of_keys_naming_secrets_are_redacted_at_any_depth(log_output: LogOutput) -> None:
    log_output.configure()
    logging.getLogger("bastion.auth").info(
        "signing in",
        extra={
            "password": "hunter2-hunter2",
            "Authorization": "Basic dXNlcjpwYXNz",
            "request": {"headers": {"X-Api-Key": "k-123", "accept": "application/json"}},
            "attempts": [{"new_password": "p", "user": "ada"}],
            "totp": "123456",
            "email": "ada@example.com",
        },
    )
    [line] = log_output.lines()
    assert line["password"] == REDACTED
    assert line["Authorization"] == REDACTED
    assert line["request"]["headers"] == {"X-Api-Key": REDACTED, "accept": "application/json"}
    assert line["attempts"] == [{"new_password": REDACTED, "user": "ada"}]
    assert line["totp"] == REDACTED
    assert line["email"] == "ada@example.com"


def test_the_blueprints_write_only_fields_are_redacted(log_output: LogOutput) -> None:
    blueprint = with_identity(
        Blueprint(
            name="bank",
            resources={
                "cards": Resource(
                    fields={
                        "holder": StringField(max_length=100),
                        "pin": StringField(max_length=8, write_only=True),
                    }
                )
            },
        )
    )
    names = secret_field_names(blueprint)
    assert "pin" in names
    assert "holder" not in names
    log_output.configure(redact=names)
    logging.getLogger("bastion.api").info(
        "card created", extra={"record": {"holder": "Ada", "pin": "4242"}}
    )
    [line] = log_output.lines()
    assert line["record"] == {"holder": "Ada", "pin": REDACTED}


@pytest.mark.logs_secrets("it logs credentials to see them masked in the output")
def test_credentials_inside_text_are_masked_in_the_event_and_in_exceptions(
    log_output: LogOutput,
) -> None:
    api_key, _ = new_api_key()
    refresh_token = secrets.token_urlsafe(32)
    mfa_secret = pyotp.random_base32(length=32)
    log_output.configure()
    log = logging.getLogger("bastion.auth")
    log.warning("rejected Authorization: Bearer %s", JWT)
    log.warning("key %s, refresh %s, totp %s", api_key, refresh_token, mfa_secret)
    log.warning("connecting to postgresql://app:s3cr3t-pw@db:5432/shop")
    try:
        raise RuntimeError(f"token {JWT} was refused; api_key={api_key}")
    except RuntimeError:
        log.exception("verification failed")
    text = log_output.text()
    for secret in (JWT, api_key, refresh_token, mfa_secret, "s3cr3t-pw"):
        assert secret not in text
    events = [line["event"] for line in log_output.lines()]
    assert events[0] == f"rejected Authorization: Bearer {REDACTED}"
    assert events[1] == f"key {REDACTED}, refresh {REDACTED}, totp {REDACTED}"
    assert events[2] == f"connecting to postgresql://app:{REDACTED}@db:5432/shop"
    exception = log_output.lines()[3]["exception"]
    assert f"RuntimeError: token {REDACTED} was refused; api_key={REDACTED}" in exception


def test_text_that_only_looks_long_is_left_alone() -> None:
    untouched = [
        "GET /v1/orders/0190a0b2-7c1e-7d3e-8f00-123456789abc 200",
        'WWW-Authenticate: Bearer realm="api", error="invalid_token"',
        "bastion.adapters.sql.store.SqlStore.list_records_by_cursor",
        "refresh token reuse: family revoked (request 4bf92f3577b34da6a3ce929d0e0e4736)",
    ]
    for text in untouched:
        assert redact_text(text) == text


@pytest.mark.logs_secrets("it logs a JWT to see it masked in the output")
def test_the_development_mailer_keeps_its_one_time_codes_but_not_other_secrets(
    log_output: LogOutput,
) -> None:
    code = secrets.token_urlsafe(32)
    log_output.configure()
    logging.getLogger("bastion.mail").info("mail to ada: your code is %s", code)
    logging.getLogger("bastion.mail").info("mail to ada: Bearer %s", JWT)
    events = [line["event"] for line in log_output.lines()]
    assert events == [f"mail to ada: your code is {code}", f"mail to ada: Bearer {REDACTED}"]


def test_request_ids_bound_in_the_context_appear_on_standard_library_lines(
    log_output: LogOutput,
) -> None:
    log_output.configure()
    with structlog.contextvars.bound_contextvars(request_id="req-1", trace_id="a" * 32):
        logging.getLogger("bastion.store").info("inside")
    logging.getLogger("bastion.store").info("outside")
    inside, outside = log_output.lines()
    assert (inside["request_id"], inside["trace_id"]) == ("req-1", "a" * 32)
    assert "request_id" not in outside


def _finished(route: str, status: int) -> FinishedRequest:
    return FinishedRequest(
        method="GET",
        route=route,
        path=route,
        status=status,
        seconds=0.012345,
        request_id="req-1",
        trace_id=None,
        user_id=None,
        client_ip="203.0.113.7",
    )


def test_access_lines_for_probes_are_debug_and_server_errors_warnings(
    log_output: LogOutput,
) -> None:
    log_output.configure(level="INFO")
    access = AccessLog()
    access.finished(_finished("/healthz", 200))
    access.finished(_finished("/readyz", 503))
    access.finished(_finished("/v1/orders", 200))
    access.finished(_finished("/v1/orders", 404))
    access.finished(_finished("/v1/orders", 500))
    lines = log_output.lines()
    assert [(line["event"], line["level"]) for line in lines] == [
        ("GET /v1/orders 200", "info"),
        ("GET /v1/orders 404", "info"),
        ("GET /v1/orders 500", "warning"),
    ]
    assert lines[0]["duration_ms"] == 12.35


def test_uvicorn_lines_take_the_same_format_and_its_access_log_is_off(
    log_output: LogOutput, capsys: pytest.CaptureFixture[str]
) -> None:
    # What uvicorn applies in the server and in each worker, before the app is built.
    logging.config.dictConfig(
        uvicorn_log_config(level="INFO", levels={"bastion.sql": "DEBUG"}, json=True)
    )
    logging.getLogger("uvicorn.error").info(
        "Uvicorn running on %s", "http://127.0.0.1:8000", extra={"color_message": "\x1b[1m..."}
    )
    logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET /v1/x?token=abc HTTP/1.1" 200')
    logging.getLogger("bastion.sql").debug("select 1")
    [started, sql] = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert started["logger"] == "uvicorn.error"
    assert started["event"] == "Uvicorn running on http://127.0.0.1:8000"
    assert "color_message" not in started
    assert (sql["logger"], sql["level"]) == ("bastion.sql", "debug")

    # The application's own set-up keeps uvicorn's lines in the stream and its access log off.
    log_output.configure()
    logging.getLogger("uvicorn.error").warning("shutting down")
    logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET /v1/x?token=abc HTTP/1.1" 200')
    assert [line["event"] for line in log_output.lines()] == ["shutting down"]
