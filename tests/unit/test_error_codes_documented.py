"""Every stable error code Bastion can answer with is documented in docs/errors.md.

Codes come from two places: the ``code`` of every error class in the package
(core errors, adapter and migration errors, the blueprint's own error), and
the problems the REST layer raises itself (bad JSON, wrong media type, ...).
The documentation table must list each of them, with the status the REST
layer really gives, and nothing that no longer exists.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request

import bastion
from bastion.api.rest import http_exception_handler, problem_for_error
from bastion.core.errors import BastionError, PreconditionFailed, Rejected

ROOT = Path(__file__).resolve().parents[2]
ERRORS_DOC = ROOT / "docs" / "errors.md"
PROBLEM_SOURCES = (ROOT / "src" / "bastion" / "api" / "rest", ROOT / "src" / "bastion" / "app")
"""Where ``Problem``s are raised: the REST layer, and the app layer's operations routes."""

REST_PROBLEM_CODES = frozenset(
    {
        "malformed_json",
        "unsupported_media_type",
        "payload_too_large",
        "method_not_allowed",
        "internal_error",
        "not_found",
        "http_error",
        "invalid_idempotency_key",
        "batch_too_large",
        "not_ready",
        "not_authenticated",  # a scrape of /metrics without its token
    }
)
"""Codes of the problems the REST layer raises itself (``Problem(status, code, ...)``)."""

_TABLE_ROW = re.compile(r"^\|\s*`(?P<code>[a-z_]+)`\s*\|\s*(?P<status>[^|]*?)\s*\|")


def _import_every_module() -> None:
    for module in pkgutil.walk_packages(bastion.__path__, "bastion."):
        importlib.import_module(module.name)


def _subclasses(root: type) -> set[type]:
    found: set[type] = set()
    pending = [root]
    while pending:
        for subclass in pending.pop().__subclasses__():
            if subclass not in found:
                found.add(subclass)
                pending.append(subclass)
    return found


def _error_classes() -> dict[str, type[Exception]]:
    """Every exception class defined in ``bastion`` that carries a ``code``, by code."""
    _import_every_module()
    classes: dict[str, type[Exception]] = {}
    for cls in _subclasses(Exception):
        code = cls.__dict__.get("code")
        if cls.__module__.startswith("bastion.") and isinstance(code, str):
            assert code not in classes, f"{cls.__name__} reuses the code {code!r}"
            classes[code] = cls
    return classes


def _problem_calls_in_source() -> dict[str, int | None]:
    """Code -> status of every ``Problem(status, "code", ...)`` call in the REST layer."""
    calls: dict[str, int | None] = {}
    for path in (path for source in PROBLEM_SOURCES for path in source.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "Problem"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
            ):
                status = node.args[0]
                calls[str(node.args[1].value)] = (
                    int(status.value) if isinstance(status, ast.Constant) else None
                )
    return calls


def _oauth_codes_in_source() -> set[str]:
    """``oauth_<error>`` for every ``OAuthError("<error>", ...)`` raised anywhere in Bastion."""
    codes = set()
    for path in (ROOT / "src" / "bastion").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "OAuthError"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                codes.add(f"oauth_{node.args[0].value}")
    return codes


async def _http_exception_codes() -> set[str]:
    """The codes Starlette's own HTTP errors become, for every error status."""
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/nowhere",
        "query_string": b"",
        "headers": [],
    }
    request = Request(scope)
    codes = set()
    for status in range(400, 600):
        response = await http_exception_handler(request, HTTPException(status))
        codes.add(orjson.loads(bytes(response.body))["code"])
    return codes


def _documented() -> dict[str, str]:
    """Code -> the status column, from the tables of the "Every code" section of docs/errors.md."""
    text = ERRORS_DOC.read_text(encoding="utf-8")
    section = text.split("\n## Every code\n", 1)[1].split("\n## ", 1)[0]
    documented: dict[str, str] = {}
    for line in section.splitlines():
        if match := _TABLE_ROW.match(line):
            documented[match["code"]] = match["status"]
    return documented


def _status_of(cls: type[BastionError]) -> int:
    """The status the REST layer answers an instance of ``cls`` with."""
    error = cls.__new__(cls)
    BastionError.__init__(error, "detail")
    if issubclass(cls, PreconditionFailed):
        error.current_version = 1
    if issubclass(cls, Rejected):
        error.status = 422
    return problem_for_error(error).status


async def test_rest_problem_code_list_matches_the_rest_source() -> None:
    assert set(_problem_calls_in_source()) | await _http_exception_codes() == REST_PROBLEM_CODES


def test_every_error_class_code_is_in_the_errors_doc_table() -> None:
    missing = sorted(set(_error_classes()) - set(_documented()))
    assert not missing, f"docs/errors.md does not list: {', '.join(missing)}"


def test_every_rest_problem_code_is_in_the_errors_doc_table() -> None:
    missing = sorted(REST_PROBLEM_CODES - set(_documented()))
    assert not missing, f"docs/errors.md does not list: {', '.join(missing)}"


def test_every_token_endpoint_error_is_in_the_errors_doc_table() -> None:
    missing = sorted(_oauth_codes_in_source() - set(_documented()))
    assert not missing, f"docs/errors.md does not list: {', '.join(missing)}"


def test_errors_doc_lists_no_code_that_does_not_exist() -> None:
    known = set(_error_classes()) | REST_PROBLEM_CODES | _oauth_codes_in_source()
    stale = sorted(set(_documented()) - known)
    assert not stale, f"docs/errors.md lists codes Bastion never uses: {', '.join(stale)}"


def test_documented_statuses_are_the_statuses_the_rest_layer_answers() -> None:
    # Codes documented with a status other than a number (e.g. "— (CLI)") never reach HTTP.
    documented = _documented()
    wrong = {
        code: (documented[code], _status_of(cls))
        for code, cls in _error_classes().items()
        if issubclass(cls, BastionError)
        and documented.get(code, "").isdigit()
        and _status_of(cls) != int(documented[code])
    }
    assert not wrong, f"documented vs real status: {wrong}"


def test_documented_statuses_of_rest_problems_are_the_statuses_raised() -> None:
    documented = _documented()
    wrong = {
        code: (documented.get(code), status)
        for code, status in _problem_calls_in_source().items()
        if status is not None and documented.get(code) != str(status)
    }
    assert not wrong, f"documented vs raised status: {wrong}"
