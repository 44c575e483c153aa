"""Events as messages: CloudEvents 1.0, structured JSON mode.

The document is what brokers carry, webhooks receive and consumers are given::

    {"specversion": "1.0", "id": "<event id>", "source": "/v1/orders",
     "type": "orders.updated", "subject": "orders/<record id>",
     "time": "2026-11-25T10:00:00.123456Z", "datacontenttype": "application/json",
     "sequence": "2",
     "data": {"resource": "orders", "id": "<record id>", "version": 2,
              "changes": {"total": {"before": "9.50", "after": "12.00"}},
              "actor": {"kind": "user", "id": "<user id>"},
              "request_id": "...", "trace_id": "..."}}

``sequence`` (the CloudEvents sequence extension) is the event's position in
its record's stream: a consumer that sees sequence 5 after 3 knows it missed
one, and one that sees 3 again has a duplicate (``id`` says the same).
"""

from __future__ import annotations

from typing import Any

import orjson
from cryptography.fernet import Fernet

from bastion.core.events.changes import read_changes
from bastion.core.events.personal import reveal, subject_of
from bastion.core.ports import Row
from bastion.core.ports.broker import OutboundMessage

__all__ = ["CONTENT_TYPE", "cloud_event", "outbound_message"]

CONTENT_TYPE = "application/cloudevents+json"


def cloud_event(event: Row, key: Fernet | None = None) -> dict[str, Any]:
    """The CloudEvents document of a stored event; personal fields decrypted with the
    record's ``key`` (``"[erased]"`` without it)."""
    changes = reveal(
        read_changes(event["changes"]), key, event.get("sealed"), event_type=event["type"]
    )
    resource = event["resource"]
    return {
        "specversion": "1.0",
        "id": str(event["id"]),
        "source": f"/v1/{resource}",
        "type": event["type"],
        "subject": subject_of(resource, event["record_id"]),
        "time": event["created_at"],
        "datacontenttype": "application/json",
        "sequence": str(event["seq"]),
        "data": {
            "resource": resource,
            "id": str(event["record_id"]),
            "version": event["record_version"],
            "changes": changes,
            "actor": {"kind": event["actor_kind"], "id": event.get("actor_id")},
            "request_id": event.get("request_id"),
            "trace_id": event.get("trace_id"),
        },
    }


def outbound_message(document: dict[str, Any]) -> OutboundMessage:
    """``document`` (a :func:`cloud_event`) ready for a broker."""
    return OutboundMessage(
        id=document["id"],
        type=document["type"],
        subject=document["subject"],
        body=orjson.dumps(document, option=orjson.OPT_UTC_Z),
    )
