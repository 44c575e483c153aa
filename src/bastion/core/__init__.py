"""What Bastion does, independent of HTTP and of any database."""

from bastion.core.context import ANONYMOUS, RequestContext
from bastion.core.errors import (
    BastionError,
    Conflict,
    DeleteRestricted,
    FieldError,
    InvalidInput,
    InvalidQuery,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    Rejected,
    StoreUnavailable,
    UniqueViolation,
)
from bastion.core.hooks import HookEvent, Hooks
from bastion.core.ids import new_id, parse_id
from bastion.core.query import Page, QuerySpec, decode_cursor, encode_cursor
from bastion.core.records import ExpectedVersion, RecordService, TransactionRecords

__all__ = [
    "ANONYMOUS",
    "BastionError",
    "Conflict",
    "DeleteRestricted",
    "ExpectedVersion",
    "FieldError",
    "HookEvent",
    "Hooks",
    "InvalidInput",
    "InvalidQuery",
    "NotFound",
    "Page",
    "PreconditionFailed",
    "PreconditionRequired",
    "QuerySpec",
    "RecordService",
    "Rejected",
    "RequestContext",
    "StoreUnavailable",
    "TransactionRecords",
    "UniqueViolation",
    "decode_cursor",
    "encode_cursor",
    "new_id",
    "parse_id",
]
