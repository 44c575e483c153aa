"""The webhook admin API in the document: ``/v1/admin/webhooks``, ``/v1/admin/deliveries``
and their bodies.

Included by :mod:`.admin_paths` (paths) and :mod:`.security` (schemas). The
request bodies are derived from the models the admin service validates them
with, so the document cannot drift from what is accepted.
"""

from __future__ import annotations

from bastion.api.rest.openapi.auth_bodies import model_schema
from bastion.api.rest.openapi.auth_operations import (
    ID_PARAMETER,
    JSON_MEDIA,
    NO_STORE,
    WRITE,
    empty_response,
    json_response,
    operation,
    query_parameter,
    request_body,
)
from bastion.api.rest.openapi.auth_schemas import UUID_SCHEMA
from bastion.api.rest.openapi.fields import Schema
from bastion.api.rest.openapi.responses import header_ref
from bastion.api.rest.openapi.schemas import ref
from bastion.core.webhooks.delivery_log import (
    DELIVERY_STATUSES,
    MAX_DELIVERIES_PER_PAGE,
    TARGET_KINDS,
)
from bastion.core.webhooks.subscriptions import (
    SecretRotation,
    SubscriptionChanges,
    SubscriptionCreate,
)

__all__ = ["webhook_paths", "webhook_schemas"]

_WHEN: Schema = {"type": ["string", "null"], "format": "date-time"}
_AT: Schema = {"type": "string", "format": "date-time"}
_EVENT_TYPES: Schema = {
    "description": "Which events to send: `*`, `<resource>.*`, `*.<kind>` or "
    "`<resource>.<kind>` (kind: `created`, `updated`, `deleted`); resources served with "
    "their event log on."
}
_URL: Schema = {
    "format": "uri",
    "description": "Where to POST the events (https). Addresses in private, loopback and "
    "link-local networks are refused unless `BASTION_WEBHOOK_ALLOW_PRIVATE` or "
    "`BASTION_WEBHOOK_ALLOWED_NETWORKS` allow them.",
}


def _object(properties: Schema, *required: str, description: str = "") -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if description:
        schema["description"] = description
    return schema


def _page(item: str, description: str) -> Schema:
    return _object(
        {
            "data": {"type": "array", "items": ref(item)},
            "next_before": {
                "type": ["string", "null"],
                "format": "uuid",
                "description": "Pass as `before` for older deliveries.",
            },
            "has_more": {"type": "boolean"},
        },
        "data",
        "next_before",
        "has_more",
        description=description,
    )


def webhook_schemas() -> dict[str, Schema]:
    """The bodies of the webhook admin API, for ``components.schemas``."""
    subscription = _object(
        {
            "id": UUID_SCHEMA,
            "url": {"type": "string"},
            "event_types": {"type": "array", "items": {"type": "string"}},
            "description": {"type": ["string", "null"]},
            "enabled": {"type": "boolean"},
            "breaker": ref("WebhookBreaker"),
            "created_at": _AT,
            "updated_at": _AT,
        },
        "id",
        "url",
        "event_types",
        "description",
        "enabled",
        "breaker",
        "created_at",
        "updated_at",
        description="A webhook subscription (never with its secret).",
    )
    return {
        "WebhookSubscriptionCreate": model_schema(
            SubscriptionCreate,
            "A new webhook subscription.",
            {"url": _URL, "event_types": _EVENT_TYPES},
        ),
        "WebhookSubscriptionUpdate": model_schema(
            SubscriptionChanges,
            "Changes of a subscription (a JSON merge patch). A new `url`, or `enabled` "
            "set to `true` again, closes its circuit breaker.",
            {"url": _URL, "event_types": _EVENT_TYPES},
        ),
        "WebhookBreaker": _object(
            {
                "state": {"enum": ["closed", "open", "half_open"]},
                "consecutive_failures": {"type": "integer", "minimum": 0},
                "opened_at": _WHEN,
                "open_until": {
                    **_WHEN,
                    "description": "When the open breaker lets one probe delivery out.",
                },
            },
            "state",
            "consecutive_failures",
            "opened_at",
            "open_until",
            description="The endpoint's circuit breaker, shared by every worker.",
        ),
        "WebhookSecretRotation": model_schema(
            SecretRotation,
            "An optional secret rotation: how long the previous secret keeps signing too.",
        ),
        "WebhookSecretRotated": {
            "allOf": [
                ref("WebhookSubscriptionCreated"),
                _object(
                    {
                        "previous_secret_expires_at": {
                            **_WHEN,
                            "description": "Until when the previous secret signs too; "
                            "null: it stopped at once.",
                        }
                    },
                    "previous_secret_expires_at",
                ),
            ]
        },
        "WebhookSubscription": subscription,
        "WebhookSubscriptionCreated": {
            "allOf": [
                ref("WebhookSubscription"),
                _object(
                    {
                        "secret": {
                            "type": "string",
                            "pattern": "^whsec_",
                            "description": "The signing secret (Standard Webhooks). "
                            "Shown only now.",
                        }
                    },
                    "secret",
                ),
            ]
        },
        "WebhookSubscriptionList": _object(
            {"data": {"type": "array", "items": ref("WebhookSubscription")}}, "data"
        ),
        "EventDeliveryAttempt": _object(
            {
                "attempt": {"type": "integer", "minimum": 1},
                "ok": {"type": "boolean"},
                "status": {"type": ["integer", "null"], "description": "The HTTP status."},
                "error": {"type": ["string", "null"]},
                "duration_ms": {"type": ["integer", "null"]},
                "at": _AT,
            },
            "attempt",
            "ok",
            "status",
            "error",
            "duration_ms",
            "at",
        ),
        "EventDelivery": _object(
            {
                "id": UUID_SCHEMA,
                "target_kind": {"enum": list(TARGET_KINDS)},
                "target": {
                    "type": "string",
                    "description": "The subscription id, or the consumer's name.",
                },
                "event": UUID_SCHEMA,
                "event_type": {"type": "string"},
                "subject": {"type": "string", "description": "`<resource>/<record id>`."},
                "sequence": {"type": "integer"},
                "status": {"enum": list(DELIVERY_STATUSES)},
                "attempt_count": {"type": "integer", "minimum": 0},
                "next_attempt_at": _WHEN,
                "last_status": {"type": ["integer", "null"]},
                "last_error": {"type": ["string", "null"]},
                "delivered_at": _WHEN,
                "created_at": _AT,
                "updated_at": _AT,
                "attempts": {
                    "type": "array",
                    "items": ref("EventDeliveryAttempt"),
                    "description": "The attempts, oldest first (the latest 100).",
                },
            },
            "id",
            "target_kind",
            "target",
            "event",
            "event_type",
            "status",
            "attempt_count",
            "attempts",
            description="One event owed to one target, and how delivering it went.",
        ),
        "EventDeliveryPage": _page("EventDelivery", "Deliveries, newest first."),
    }


def _log_parameters(*, every_kind: bool) -> list[Schema]:
    parameters = [
        query_parameter("status", {"enum": list(DELIVERY_STATUSES)}, "Only in this state."),
    ]
    if every_kind:
        parameters += [
            query_parameter(
                "target_kind", {"enum": list(TARGET_KINDS)}, "Only to this kind of target."
            ),
            query_parameter(
                "target",
                {"type": "string"},
                "Only to this target (a subscription id, a consumer's name).",
            ),
        ]
    return [
        *parameters,
        query_parameter(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": MAX_DELIVERIES_PER_PAGE, "default": 50},
            "Page size.",
        ),
        query_parameter(
            "before", UUID_SCHEMA, "Only deliveries older than this one (`next_before`)."
        ),
    ]


def webhook_paths() -> dict[str, Schema]:
    """The webhook admin API's paths (the caller marks them admin-only)."""
    denied = (403,)
    with_secret = json_response(
        "WebhookSubscriptionCreated",
        "The subscription and its secret.",
        headers={**NO_STORE, "Location": header_ref("Location")},
    )
    return {
        "/v1/admin/webhooks": {
            "get": operation(
                "admin",
                "admin_list_webhooks",
                "Every webhook subscription, with its circuit breaker",
                {
                    "200": json_response(
                        "WebhookSubscriptionList", "The subscriptions, oldest first."
                    )
                },
                *denied,
            ),
            "post": operation(
                "admin",
                "admin_create_webhook",
                "Subscribe an endpoint to events; its signing secret is shown once "
                "(audited as webhook.created)",
                {"201": with_secret},
                *WRITE,
                *denied,
                body=request_body("WebhookSubscriptionCreate"),
            ),
        },
        "/v1/admin/webhooks/{id}": {
            "parameters": [ID_PARAMETER],
            "get": operation(
                "admin",
                "admin_get_webhook",
                "One webhook subscription",
                {"200": json_response("WebhookSubscription", "The subscription.")},
                *denied,
                404,
            ),
            "patch": operation(
                "admin",
                "admin_update_webhook",
                "Change a subscription's URL, event types, description or state "
                "(audited as webhook.updated)",
                {"200": json_response("WebhookSubscription", "The subscription.")},
                *WRITE,
                *denied,
                404,
                body=request_body(
                    "WebhookSubscriptionUpdate", JSON_MEDIA, "application/merge-patch+json"
                ),
            ),
            "delete": operation(
                "admin",
                "admin_delete_webhook",
                "Delete a subscription; its pending deliveries become dead letters "
                "(audited as webhook.deleted)",
                {"204": empty_response("Deleted.")},
                *denied,
                404,
            ),
        },
        "/v1/admin/webhooks/{id}:rotate-secret": {
            "parameters": [ID_PARAMETER],
            "post": operation(
                "admin",
                "admin_rotate_webhook_secret",
                "Give a subscription a new signing secret, shown once; the previous one "
                "keeps signing until previous_secret_expires_at (audited as "
                "webhook.secret_rotated)",
                {
                    "200": json_response(
                        "WebhookSecretRotated",
                        "The subscription, its new secret and the previous one's end.",
                        headers=NO_STORE,
                    )
                },
                *WRITE,
                *denied,
                404,
                body=request_body("WebhookSecretRotation", required=False),
            ),
        },
        "/v1/admin/webhooks/{id}/deliveries": {
            "parameters": [ID_PARAMETER],
            "get": operation(
                "admin",
                "admin_webhook_deliveries",
                "A subscription's delivery log, newest first, with each attempt",
                {"200": json_response("EventDeliveryPage", "A page of deliveries.")},
                400,
                *denied,
                404,
                parameters=_log_parameters(every_kind=False),
            ),
        },
        "/v1/admin/deliveries": {
            "get": operation(
                "admin",
                "admin_list_deliveries",
                "Deliveries to webhooks and in-app consumers, newest first "
                "(`status=dead`: the dead letters)",
                {"200": json_response("EventDeliveryPage", "A page of deliveries.")},
                400,
                *denied,
                parameters=_log_parameters(every_kind=True),
            ),
        },
        "/v1/admin/deliveries/{id}": {
            "parameters": [ID_PARAMETER],
            "get": operation(
                "admin",
                "admin_get_delivery",
                "One delivery, with each attempt",
                {"200": json_response("EventDelivery", "The delivery.")},
                *denied,
                404,
            ),
        },
        "/v1/admin/deliveries/{id}:replay": {
            "parameters": [ID_PARAMETER],
            "post": operation(
                "admin",
                "admin_replay_delivery",
                "Send a dead (or delivered) delivery again from attempt 1 "
                "(audited as delivery.replayed)",
                {"202": json_response("EventDelivery", "The delivery, pending again.")},
                *denied,
                404,
                409,
            ),
        },
    }
