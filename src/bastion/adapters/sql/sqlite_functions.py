"""SQL functions Bastion adds to every SQLite connection.

``bastion_json_contains(document, candidate)`` answers what PostgreSQL's
``jsonb @> jsonb`` answers, so ``?meta[contains]=...`` finds the same
records on both databases:

* an object contains an object when each of the candidate's keys is present
  and its value is contained (recursively);
* an array contains an array when each candidate element is contained in
  some element (order and repetition do not matter);
* scalars contain equal scalars (numbers compare by value, ``1`` equals
  ``1.0``; ``true`` is not ``1``);
* at the top level only, an array contains a scalar that is one of its
  elements (``["a", "b"] @> "a"``).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

__all__ = ["json_contains"]


def _load(text: str | bytes) -> Any:
    # Decimals, not floats: jsonb compares numbers exactly, as written.
    return json.loads(text, parse_float=Decimal)


def _scalar_equal(left: Any, right: Any) -> bool:
    if isinstance(left, dict | list) or isinstance(right, dict | list):
        return False
    if isinstance(left, bool) or isinstance(right, bool) or left is None or right is None:
        return left is right
    if isinstance(left, str) or isinstance(right, str):
        return type(left) is type(right) and bool(left == right)
    return bool(Decimal(left) == Decimal(right))


def _contains(document: Any, candidate: Any) -> bool:
    if isinstance(candidate, dict):
        return isinstance(document, dict) and all(
            key in document and _contains(document[key], value) for key, value in candidate.items()
        )
    if isinstance(candidate, list):
        return isinstance(document, list) and all(
            any(_contains(element, wanted) for element in document) for wanted in candidate
        )
    return _scalar_equal(document, candidate)


def json_contains(document: str | None, candidate: str | None) -> int | None:
    """1 if ``document`` contains ``candidate`` (both JSON text), 0 if not, NULL for NULL."""
    if document is None or candidate is None:
        return None
    left, right = _load(document), _load(candidate)
    if isinstance(left, list) and not isinstance(right, dict | list):
        return int(any(_scalar_equal(element, right) for element in left))
    return int(_contains(left, right))
