"""Settings: one frozen object read once at start-up from ``BASTION_*`` variables and ``.env``.

Nothing in Bastion reads the environment anywhere else; the wiring point
(:func:`bastion.app.create_app`) and the command line pass values down.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["Environment", "LogFormat", "Settings", "UnsafeSettings"]


class Environment(StrEnum):
    """Where Bastion runs; production refuses unsafe defaults."""

    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class LogFormat(StrEnum):
    """How log lines are written."""

    AUTO = "auto"
    JSON = "json"
    CONSOLE = "console"


_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_BROKER_SCHEMES = ("amqp", "amqps", "nats", "tls", "redis", "rediss", "memory")
"""RabbitMQ, NATS JetStream, Redis Streams (each with its TLS form), the in-process bus."""


class UnsafeSettings(ValueError):
    """A setting that is acceptable in development but not in production."""


class Settings(BaseSettings):
    """Every setting, with the default a new user on a laptop wants.

    Each field is read from ``BASTION_<NAME>`` (e.g. ``BASTION_DATABASE_URL``)
    or from a ``.env`` file in the working directory.
    """

    model_config = SettingsConfigDict(
        env_prefix="BASTION_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        # URLs carry passwords: a validation error must never print the value given.
        hide_input_in_errors=True,
    )

    env: Environment = Environment.DEVELOPMENT
    """``development`` migrates on ``serve``; ``production`` makes migrating an explicit step."""
    blueprint: Path = Path("bastion.yaml")
    """The blueprint file served when no path is given on the command line."""
    database_url: str = "sqlite+aiosqlite:///./bastion.db"
    """Where records live: ``sqlite+aiosqlite:///file.db`` or ``postgresql://user@host/db``."""
    migrate_database_url: str | None = None
    """The owner role's URL, used by ``bastion migrate`` and by ``serve``'s development
    auto-apply; defaults to ``database_url``. On PostgreSQL, when its user differs from
    ``database_url``'s, each apply grants that user only what the server needs."""
    migrations_dir: Path | None = None
    """Where revision files live; defaults to ``migrations/`` beside the blueprint."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1)

    db_pool_min: int = Field(default=1, ge=0)
    """Connections opened at start-up (PostgreSQL) per worker."""
    db_pool_max: int = Field(default=10, ge=1)
    """Most connections a worker holds at once."""
    db_connect_timeout: float = Field(default=5.0, gt=0)
    """Seconds to wait for a new database connection."""
    db_statement_timeout: float = Field(default=30.0, gt=0)
    """Seconds a single statement may run before it is cancelled."""
    db_acquire_timeout: float = Field(default=5.0, gt=0)
    """Seconds a request waits for a free pooled connection before a 503."""
    sqlite_busy_timeout: float = Field(default=5.0, gt=0)
    """Seconds SQLite waits for another writer's lock before giving up."""

    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    """Largest request body accepted (413 beyond)."""
    batch_max: int = Field(default=100, ge=1)
    """Most records one ``POST /v1/{resource}:batch`` creates (413 beyond)."""
    idempotency_ttl_seconds: int = Field(default=86_400, ge=1)
    """Seconds an ``Idempotency-Key`` replays its first response; then it may be reused."""

    cors_origins: list[str] = Field(default_factory=list)
    """Origins allowed to call the API from a browser (``*`` for any)."""
    cors_methods: list[str] = Field(
        default_factory=lambda: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    )
    cors_headers: list[str] = Field(
        default_factory=lambda: [
            "Authorization",
            "Content-Type",
            "If-Match",
            "If-None-Match",
            "Idempotency-Key",
            "X-Request-ID",
        ]
    )
    cors_credentials: bool = False
    cors_max_age: int = Field(default=600, ge=0)

    redis_url: str | None = None
    """Redis for state shared between workers (login throttling, the read cache);
    in-process when unset."""
    redis_prefix: str = "bastion:"
    """Prefix of every Redis key Bastion writes (several applications may share a Redis)."""

    cache_enabled: bool = True
    """Cache records and list pages (in process, and in Redis when ``redis_url`` is set).
    On PostgreSQL without Redis the cache stays off: workers could not tell each other
    about their writes."""
    cache_ttl_seconds: int = Field(default=300, ge=1, le=86_400)
    """Longest life of a cache entry, for resources whose blueprint sets no ``cache.ttl``
    (writes invalidate entries at once; this only bounds memory)."""
    cache_local_size: int = Field(default=10_000, ge=0)
    """Entries each worker keeps in memory (``0``: none; Redis alone, when set)."""

    auth_issuer: str = "bastion"
    """The ``iss`` claim of access tokens (usually the API's public URL)."""
    auth_audience: str = "bastion"
    """The ``aud`` claim access tokens carry and must carry."""
    access_token_ttl_seconds: int = Field(default=900, ge=30, le=86_400)
    """Lifetime of an access token (short: revocation is checked, but clients cache)."""
    refresh_token_ttl_seconds: int = Field(default=30 * 86_400, ge=60)
    """Lifetime of a refresh token family from its sign-in."""
    mfa_token_ttl_seconds: int = Field(default=300, ge=30, le=3600)
    """Time to complete a login with the second factor."""
    verify_email_ttl_seconds: int = Field(default=86_400, ge=60)
    reset_password_ttl_seconds: int = Field(default=3600, ge=60)
    invitation_ttl_seconds: int = Field(default=7 * 86_400, ge=60)
    require_verified_email: bool = False
    """Refuse password sign-in until the email address is verified."""
    password_min_length: int = Field(default=10, ge=8, le=128)
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65_536, ge=8_192)
    argon2_parallelism: int = Field(default=1, ge=1)
    argon2_max_concurrency: int = Field(default=2, ge=1)
    """Password hashes computed at once per worker (each uses ``argon2_memory_kib``)."""
    trusted_proxies: list[str] = Field(default_factory=list)
    """Proxies (IPs or CIDRs) whose ``X-Forwarded-For`` is believed for the client address."""
    email_sender: str | None = None
    """``package.module:attribute`` of an async callable ``(message) -> None`` that sends
    account emails; unset writes them to the log (development only)."""
    oidc_issuer: str | None = None
    """Accept access tokens from this external OpenID Connect issuer too."""
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    oidc_roles_claim: str = "roles"
    """Claim (dotted path, e.g. ``realm_access.roles``) holding the external user's roles."""
    oidc_tenant_claim: str | None = "tenant"

    secret_key: SecretStr = SecretStr("change-me-development-only")
    """Encrypts signing keys and MFA secrets at rest; production refuses the placeholder."""

    log_level: str = "INFO"
    """Level of every logger without an entry in ``log_levels``."""
    log_levels: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    """Level per logger (module), e.g. ``{"bastion.access": "WARNING", "uvicorn.error": "INFO"}``
    (JSON) or ``bastion.access=WARNING,uvicorn.error=INFO``."""
    log_format: LogFormat = LogFormat.AUTO
    """``json`` (one object per line), ``console`` (readable) or ``auto``: JSON in
    production, console in development."""
    access_log: bool = True
    """One line per request (method, route, status, duration, user, request and trace id)."""

    metrics_enabled: bool = True
    """Serve Prometheus metrics (``GET /metrics``)."""
    metrics_token: SecretStr | None = None
    """When set, ``/metrics`` answers only ``Authorization: Bearer <token>``."""
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    """Serve metrics on this port instead of the API's (``/metrics`` on the API port is off)."""
    metrics_host: str | None = None
    """Interface the metrics port listens on; defaults to ``host``. With the API on
    ``0.0.0.0``, e.g. the address of a network only monitoring reaches."""
    metrics_dir: Path | None = None
    """Where worker processes share metric files (Prometheus multiprocess mode); ``serve``
    makes a fresh private directory when unset."""

    tracing: bool = False
    """Export OpenTelemetry traces; the exporter is configured by the standard ``OTEL_*``
    variables (``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_SERVICE_NAME``...)."""

    flags_refresh_seconds: float = Field(default=1.0, gt=0, le=300)
    """How stale a worker's copy of the feature flags may get where no change feed tells
    it of another worker's change (PostgreSQL without Redis); elsewhere changes apply at once."""

    readiness_timeout: float = Field(default=1.0, gt=0, le=30)
    """Seconds each dependency check of ``/readyz`` may take."""
    readiness_optional: list[str] = Field(default_factory=list)
    """Dependencies (``redis``) whose failure degrades ``/readyz`` instead of failing it."""
    shutdown_grace_seconds: float = Field(default=5.0, ge=0)
    """On SIGTERM: seconds a worker keeps serving while ``/readyz`` answers 503, so load
    balancers take it out of rotation before it stops accepting connections."""
    shutdown_timeout_seconds: float = Field(default=30.0, gt=0)
    """Then: seconds in-flight requests have to finish before they are cut."""
    max_requests: int | None = Field(default=None, ge=1)
    """Recycle a worker after this many requests (bounds slow memory growth); off when unset."""
    max_requests_jitter: int = Field(default=0, ge=0)
    """Up to this many requests more per worker, so workers do not recycle together."""
    event_log: bool = True
    """Append an event per change to the audit/event log and the outbox (see events.md)."""
    broker_url: str | None = None
    """Where ``bastion worker`` publishes events: ``amqp://`` (RabbitMQ), ``nats://``
    (NATS JetStream), ``redis://`` (Redis Streams); unset: the in-process bus."""
    broker_channel: str = "bastion.events"
    """The RabbitMQ exchange, NATS subject prefix and (``.`` as ``:``) Redis stream."""
    broker_publish_timeout: float = Field(default=5.0, gt=0)
    """Seconds a batch may take to be accepted by the broker before it is retried."""
    relay_in_server: bool | None = None
    """Run the outbox relay inside ``bastion serve`` (each worker); default: only when no
    broker is configured, so the embedded setup needs no ``bastion worker``."""
    worker_batch_size: int = Field(default=200, ge=1, le=10_000)
    """Events the relay claims per transaction."""
    worker_poll_seconds: float = Field(default=0.5, gt=0)
    """How often an idle relay looks for new events (a commit in the same process wakes
    it at once)."""
    worker_host: str = "127.0.0.1"
    worker_port: int = Field(default=8001, ge=0, le=65535)
    """``bastion worker``'s health and metrics endpoint (``/healthz``, ``/readyz``,
    ``/metrics``); ``0`` turns it off."""
    consumer_max_attempts: int = Field(default=5, ge=1, le=100)
    """Attempts an in-app consumer gets per event before the event is dead-lettered."""
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    """Seconds a webhook endpoint has to answer one delivery."""
    webhook_retry_seconds: float = Field(default=86_400.0, gt=0)
    """How long a failing delivery is retried (exponential backoff with jitter) before
    it is dead-lettered."""
    webhook_failure_threshold: int = Field(default=5, ge=1)
    """Consecutive failures that open an endpoint's circuit breaker."""
    webhook_open_seconds: float = Field(default=60.0, gt=0)
    """Seconds an open breaker waits before one probe delivery (half-open)."""
    webhook_secret_overlap_seconds: int = Field(default=86_400, ge=0, le=30 * 86_400)
    """After a secret rotation, seconds deliveries are still signed with the previous
    secret too (receivers switch over meanwhile); ``0`` stops the old secret at once.
    One call may ask for another period (``{"overlap_seconds": N}``), up to 30 days."""
    webhook_allow_private: bool = False
    """Allow webhook URLs on private, loopback and link-local addresses (SSRF
    protection refuses them by default)."""
    webhook_allowed_networks: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Networks allowed despite the SSRF protection (``10.1.0.0/16,fd00::/8`` or JSON)."""

    @field_validator("webhook_allowed_networks", mode="before")
    @classmethod
    def _parse_networks(cls, value: object) -> object:
        """Accept ``10.0.0.0/8,fd00::/8`` besides a JSON list."""
        if isinstance(value, str) and value.lstrip().startswith("["):
            return json.loads(value)
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, value: str | None) -> str | None:
        """A URL of a broker ``bastion worker`` publishes to; blank means none."""
        if value is None or not value.strip():
            return None
        scheme = urlsplit(value.strip()).scheme.lower() if "://" in value else ""
        if scheme not in _BROKER_SCHEMES:
            # Only the scheme is repeated: the rest of the URL may hold a password.
            given = f"the scheme {scheme + '://'}" if scheme else "no scheme"
            raise ValueError(
                f"a broker URL starts with {', '.join(s + '://' for s in _BROKER_SCHEMES)} "
                f"(got {given}); e.g. amqp://user:password@rabbitmq:5672/, nats://nats:4222 "
                "or redis://redis:6379/0; leave it unset for the in-process bus"
            )
        return value.strip()

    @field_validator("log_levels", mode="before")
    @classmethod
    def _parse_log_levels(cls, value: object) -> object:
        """Accept ``name=LEVEL,name=LEVEL`` besides a JSON object."""
        if isinstance(value, str) and value.lstrip().startswith("{"):
            return json.loads(value)
        if isinstance(value, str):
            pairs = [item.strip() for item in value.split(",") if item.strip()]
            parsed: dict[str, str] = {}
            for pair in pairs:
                name, sep, level = pair.partition("=")
                if not sep or not name.strip() or not level.strip():
                    raise ValueError(
                        f"{pair!r} is not logger=LEVEL; e.g. bastion.access=WARNING,uvicorn=INFO"
                    )
                parsed[name.strip()] = level.strip()
            return parsed
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.upper() not in _LEVELS:
            raise ValueError(f"{value!r} is not a log level; use one of {', '.join(_LEVELS)}")
        return value.upper()

    @field_validator("log_levels")
    @classmethod
    def _known_levels(cls, value: dict[str, str]) -> dict[str, str]:
        for name, level in value.items():
            if level.upper() not in _LEVELS:
                raise ValueError(
                    f"{level!r} (for {name}) is not a log level; use one of {', '.join(_LEVELS)}"
                )
        return {name: level.upper() for name, level in value.items()}

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.env is Environment.PRODUCTION:
            if self.secret_key.get_secret_value().startswith("change-me"):
                raise UnsafeSettings(
                    "BASTION_SECRET_KEY still has its development placeholder; "
                    "set a long random value (e.g. `python -c 'import secrets; "
                    "print(secrets.token_urlsafe(48))'`) before running in production"
                )
            if "*" in self.cors_origins and self.cors_credentials:
                raise UnsafeSettings(
                    "BASTION_CORS_ORIGINS='*' with BASTION_CORS_CREDENTIALS=true lets any site "
                    "act as your users; list the allowed origins instead"
                )
        if self.oidc_issuer and not (self.oidc_audience and self.oidc_jwks_url):
            raise ValueError(
                "BASTION_OIDC_ISSUER needs BASTION_OIDC_AUDIENCE and BASTION_OIDC_JWKS_URL too"
            )
        if self.db_pool_min > self.db_pool_max:
            raise ValueError("BASTION_DB_POOL_MIN must not exceed BASTION_DB_POOL_MAX")
        return self

    @property
    def effective_migrate_url(self) -> str:
        """The URL migrations run with."""
        return self.migrate_database_url or self.database_url

    def migrations_dir_for(self, blueprint_path: Path) -> Path:
        """Where revision files for ``blueprint_path`` live."""
        return self.migrations_dir or blueprint_path.resolve().parent / "migrations"

    @property
    def effective_log_format(self) -> LogFormat:
        """JSON in production, console in development, unless ``log_format`` says."""
        if self.log_format is LogFormat.AUTO:
            return LogFormat.CONSOLE if self.is_development else LogFormat.JSON
        return self.log_format

    @property
    def is_development(self) -> bool:
        """Whether development conveniences (auto-migrate, open access) apply."""
        return self.env is not Environment.PRODUCTION
