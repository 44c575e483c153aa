"""Test support: settings for an application served as in production, made fast for tests."""

from __future__ import annotations

import secrets
from typing import Any

from bastion.settings import Settings


def production_settings(database_url: str, **overrides: Any) -> Settings:
    """Production settings (deny by default, a real secret) with cheap password hashing."""
    values: dict[str, Any] = {
        "env": "production",
        "secret_key": secrets.token_urlsafe(48),
        "database_url": database_url,
        "argon2_time_cost": 1,
        "argon2_memory_kib": 8192,
        **overrides,
    }
    return Settings(**values)
