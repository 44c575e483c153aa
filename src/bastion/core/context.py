"""Who is asking, and on behalf of which request."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ANONYMOUS", "RequestContext"]


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Passed to every command and hook: the actor and the request's identifiers.

    The identity layer fills ``actor``, ``roles`` and ``tenant``; until a
    caller authenticates it is anonymous.
    """

    actor: str | None = None
    """The user or service account id; ``None`` for anonymous callers."""
    roles: frozenset[str] = field(default_factory=frozenset)
    tenant: str | None = None
    """The caller's tenant id (the token's ``tenant`` claim)."""
    scopes: frozenset[str] | None = None
    """What the credential may do (``orders:read``...); ``None``: everything the roles allow."""
    credential: str | None = None
    """How the caller authenticated: ``token``, ``api_key``, ``external`` or ``None``."""
    actor_kind: str | None = None
    """What the actor is: ``person`` or ``service`` (a service account); ``None`` when
    unknown or anonymous. The event log records it."""
    client_ip: str | None = None
    request_id: str | None = None
    trace_id: str | None = None

    @property
    def is_admin(self) -> bool:
        """Whether the caller holds the built-in ``admin`` role."""
        return "admin" in self.roles

    @property
    def is_anonymous(self) -> bool:
        """Whether no one has authenticated."""
        return self.actor is None


ANONYMOUS = RequestContext()
"""The context of a caller who has not authenticated and of internal work."""
