"""Test support: what a test does when a server it needs is absent."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

__all__ = ["REQUIRE_SERVICES", "service_missing"]

REQUIRE_SERVICES = os.environ.get("BASTION_REQUIRE_SERVICES") == "1"
"""Set in CI: a missing server fails the test instead of skipping it."""


def service_missing(message: str) -> NoReturn:
    """Skip the test, loudly, because ``message`` (a server or tool is absent); fail it
    instead under ``BASTION_REQUIRE_SERVICES=1``."""
    if REQUIRE_SERVICES:
        pytest.fail(f"BASTION_REQUIRE_SERVICES=1 but {message}")
    pytest.skip(f"SKIPPED LOUDLY: {message}")
