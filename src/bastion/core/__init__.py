"""What Bastion does, independent of HTTP and of any database."""

from bastion.core.access import AccessRules, CallerAccess, RowScope
from bastion.core.aggregation import AGGREGATE_FUNCTIONS, Aggregate, AggregateSpec
from bastion.core.context import ANONYMOUS, RequestContext
from bastion.core.cursor import decode_cursor, encode_cursor
from bastion.core.errors import (
    BastionError,
    Conflict,
    DeleteRestricted,
    FieldError,
    Forbidden,
    IdempotencyInFlight,
    IdempotencyKeyReused,
    InvalidInput,
    InvalidQuery,
    NotAuthenticated,
    NotFound,
    OAuthError,
    PreconditionFailed,
    PreconditionRequired,
    Rejected,
    StoreUnavailable,
    TooManyAttempts,
    UniqueViolation,
)
from bastion.core.hooks import HookEvent, Hooks
from bastion.core.idempotency import (
    IdempotencyPolicy,
    IdempotentOutcome,
    IdempotentRecords,
    IdempotentRequest,
    caller_scope,
)
from bastion.core.ids import new_id, parse_id
from bastion.core.query import Cursor, Filter, HasManyLink, Page, QuerySpec, SortKey
from bastion.core.query_rules import QueryRules
from bastion.core.reading import select_fields
from bastion.core.records import ExpectedVersion, RecordService, TransactionRecords

__all__ = [
    "AGGREGATE_FUNCTIONS",
    "ANONYMOUS",
    "AccessRules",
    "Aggregate",
    "AggregateSpec",
    "BastionError",
    "CallerAccess",
    "Conflict",
    "Cursor",
    "DeleteRestricted",
    "ExpectedVersion",
    "FieldError",
    "Filter",
    "Forbidden",
    "HasManyLink",
    "HookEvent",
    "Hooks",
    "IdempotencyInFlight",
    "IdempotencyKeyReused",
    "IdempotencyPolicy",
    "IdempotentOutcome",
    "IdempotentRecords",
    "IdempotentRequest",
    "InvalidInput",
    "InvalidQuery",
    "NotAuthenticated",
    "NotFound",
    "OAuthError",
    "Page",
    "PreconditionFailed",
    "PreconditionRequired",
    "QueryRules",
    "QuerySpec",
    "RecordService",
    "Rejected",
    "RequestContext",
    "RowScope",
    "SortKey",
    "StoreUnavailable",
    "TooManyAttempts",
    "TransactionRecords",
    "UniqueViolation",
    "caller_scope",
    "decode_cursor",
    "encode_cursor",
    "new_id",
    "parse_id",
    "select_fields",
]
