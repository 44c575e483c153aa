"""Errors raised by Bastion's core, independent of HTTP.

Every error has a stable ``code`` (documented in ``docs/errors.md``); the REST
and GraphQL layers own the mapping from code to status::

    BastionError
    ├── NotFound                 no such resource or record          (not_found)
    ├── InvalidInput             a body or query that fails its rules (validation_failed)
    │   └── InvalidQuery         a query-string value that is wrong   (invalid_query)
    ├── Conflict                 the change clashes with stored data  (conflict)
    │   ├── UniqueViolation      a unique field or index is taken     (unique_violation)
    │   ├── DeleteRestricted     other records still refer to it      (delete_restricted)
    │   └── IdempotencyInFlight  the key's first request is running   (idempotency_in_flight)
    ├── IdempotencyKeyReused     the key was used for another request (idempotency_key_reused)
    ├── PreconditionFailed       If-Match names an older version      (precondition_failed)
    ├── PreconditionRequired     the resource wants If-Match          (precondition_required)
    ├── Rejected                 a hook refused the change            (rejected)
    ├── StoreUnavailable         the database cannot be reached       (store_unavailable)
    ├── NotAuthenticated         no valid credentials were sent       (not_authenticated)
    ├── Forbidden                the caller may not do this           (forbidden)
    ├── OAuthError               an RFC 6749 token-endpoint error     (oauth_<error>)
    └── TooManyAttempts          sign-in throttled; retry later       (too_many_attempts)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BastionError",
    "Conflict",
    "DeleteRestricted",
    "FieldError",
    "Forbidden",
    "IdempotencyInFlight",
    "IdempotencyKeyReused",
    "InvalidInput",
    "InvalidQuery",
    "NotAuthenticated",
    "NotFound",
    "OAuthError",
    "PreconditionFailed",
    "PreconditionRequired",
    "Rejected",
    "StoreUnavailable",
    "TooManyAttempts",
    "UniqueViolation",
]


@dataclass(frozen=True, slots=True)
class FieldError:
    """One invalid part of an input, located by a JSON pointer (``/price``)."""

    pointer: str
    detail: str


class BastionError(Exception):
    """The root of every error Bastion raises on purpose."""

    code: str = "error"
    title: str = "Error"

    def __init__(self, detail: str, *, errors: tuple[FieldError, ...] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class NotFound(BastionError):
    """The resource or record does not exist (or the caller may not know it does)."""

    code = "not_found"
    title = "Not found"


class InvalidInput(BastionError):
    """The input breaks the blueprint's rules; ``errors`` points at each bad part."""

    code = "validation_failed"
    title = "Invalid input"


class InvalidQuery(InvalidInput):
    """A query-string parameter has a value that cannot be used."""

    code = "invalid_query"
    title = "Invalid query"


class Conflict(BastionError):
    """The change cannot be applied to the data as it stands."""

    code = "conflict"
    title = "Conflict"


class UniqueViolation(Conflict):
    """A value that must be unique is already used by another record."""

    code = "unique_violation"
    title = "Already exists"


class DeleteRestricted(Conflict):
    """Other records still refer to this one through a ``restrict`` relation."""

    code = "delete_restricted"
    title = "Still referenced"


class IdempotencyInFlight(Conflict):
    """Another request with the same idempotency key has not finished yet."""

    code = "idempotency_in_flight"
    title = "Request in progress"


class IdempotencyKeyReused(BastionError):
    """The idempotency key was first used for a different request (body or endpoint)."""

    code = "idempotency_key_reused"
    title = "Idempotency key reused"


class PreconditionFailed(BastionError):
    """``If-Match`` named a version that is no longer current."""

    code = "precondition_failed"
    title = "Precondition failed"

    def __init__(self, detail: str, *, current_version: int) -> None:
        super().__init__(detail)
        self.current_version = current_version


class PreconditionRequired(BastionError):
    """The resource requires ``If-Match`` on writes and none was sent."""

    code = "precondition_required"
    title = "Precondition required"


class Rejected(BastionError):
    """A hook refused the change; raise it from a hook to answer with a problem.

    Example::

        async def before_create(event: HookEvent) -> None:
            if event.record["total"] <= 0:
                raise Rejected("an order needs a positive total",
                               errors=(FieldError("/total", "must be positive"),))
    """

    code = "rejected"
    title = "Rejected"

    def __init__(
        self, detail: str, *, errors: tuple[FieldError, ...] = (), status: int = 422
    ) -> None:
        super().__init__(detail, errors=errors)
        self.status = status


class StoreUnavailable(BastionError):
    """The database did not answer in time or refused the connection."""

    code = "store_unavailable"
    title = "Service unavailable"


class NotAuthenticated(BastionError):
    """The request needs credentials, or the ones it sent are invalid, expired or revoked.

    ``reason`` is a short machine word (``expired``, ``revoked``...) for logs and
    the ``WWW-Authenticate`` header; the detail never says more than a client may know.
    """

    code = "not_authenticated"
    title = "Not authenticated"

    def __init__(self, detail: str, *, reason: str = "invalid_token") -> None:
        super().__init__(detail)
        self.reason = reason


class Forbidden(BastionError):
    """The caller is known but may not take this action (a missing role or scope)."""

    code = "forbidden"
    title = "Forbidden"


class OAuthError(BastionError):
    """An error of the token endpoint (RFC 6749 section 5.2): ``error`` is its code.

    The problem document carries ``error`` and ``error_description`` beside the
    usual members, so OAuth clients and problem-document clients both understand it.
    """

    title = "Token request refused"

    def __init__(self, error: str, description: str, *, status: int = 400, **extra: str) -> None:
        super().__init__(description)
        self.error = error
        self.code = f"oauth_{error}"
        self.status = status
        self.extra = extra
        """More RFC members to send (e.g. ``mfa_token``)."""


class TooManyAttempts(BastionError):
    """Too many failed sign-ins for the account or the address; retry after a delay."""

    code = "too_many_attempts"
    title = "Too many attempts"

    def __init__(self, detail: str, *, retry_after: float) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
