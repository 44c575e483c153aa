"""The built-in resources of the event log, the outbox and event delivery.

Like the identity bookkeeping (:mod:`bastion.blueprint.identity`), they are
``internal`` resources: stored and migrated like the blueprint's own, never
served. :func:`bastion.blueprint.identity.with_identity` adds them.

- ``bastion_events``: the audit/event log, one row per change of a record,
  append-only (on PostgreSQL a trigger refuses updates and deletes) and
  hash-chained per record (``prev_hash`` -> ``hash``).
- ``bastion_outbox``: events not yet published to the broker, deleted once
  published; the relay claims the oldest event of each record's stream.
- ``bastion_subject_keys``: one encryption key per record whose personal
  fields appear in the log; deleting it erases them without breaking the chain.
- ``bastion_deliveries`` / ``bastion_delivery_attempts``: every event owed to a
  webhook subscription or an in-app consumer, its retries, its dead letter.
- ``bastion_webhooks``: webhook subscriptions (admin API); during a secret rotation's
  overlap, also the previous secret and when it stops signing.
- ``bastion_processed_events``: which consumer handled which event (idempotency).
"""

from __future__ import annotations

from bastion.blueprint.model import (
    BooleanField,
    CacheSpec,
    DateTimeField,
    Index,
    IntegerField,
    JsonField,
    Resource,
    StringField,
    TextField,
    UuidField,
)

__all__ = [
    "DELIVERIES",
    "DELIVERY_ATTEMPTS",
    "EVENTS",
    "EVENT_RESOURCES",
    "OUTBOX",
    "PROCESSED_EVENTS",
    "SUBJECT_KEYS",
    "WEBHOOKS",
    "event_resources",
]

EVENTS = "bastion_events"
OUTBOX = "bastion_outbox"
SUBJECT_KEYS = "bastion_subject_keys"
DELIVERIES = "bastion_deliveries"
DELIVERY_ATTEMPTS = "bastion_delivery_attempts"
WEBHOOKS = "bastion_webhooks"
PROCESSED_EVENTS = "bastion_processed_events"


def _internal(description: str, fields: dict[str, object], indexes: list[Index]) -> Resource:
    return Resource.model_validate(
        {
            "fields": fields,
            "indexes": indexes,
            "internal": True,
            "description": description,
            "cache": CacheSpec(enabled=False),
        }
    )


def event_resources() -> dict[str, Resource]:
    """The internal resources of the event log and its delivery, by name."""
    # Every change writes an event and an outbox row: their tables carry only the indexes
    # their queries read (a record's stream; the oldest pending event of each stream).
    stream = StringField(max_length=200, required=True)
    return {
        EVENTS: _internal(
            "Audit/event log: one row per change of a record, append-only, hash-chained.",
            {
                "resource": StringField(max_length=63, required=True),
                "record_id": UuidField(required=True),
                "seq": IntegerField(required=True),
                "type": StringField(max_length=127, required=True),
                "record_version": IntegerField(required=True),
                "changes": TextField(required=True),
                "sealed": TextField(),
                "actor_kind": StringField(max_length=16, required=True),
                "actor_id": StringField(max_length=128),
                "request_id": StringField(max_length=128),
                "trace_id": StringField(max_length=64),
                "prev_hash": StringField(max_length=64, required=True),
                "hash": StringField(max_length=64, required=True),
            },
            [Index(fields=["resource", "record_id", "seq"], unique=True)],
        ),
        OUTBOX: _internal(
            "Events not yet published to the broker (the transactional outbox).",
            {"stream": stream, "seq": IntegerField(required=True)},
            [Index(fields=["stream", "seq"])],
        ),
        SUBJECT_KEYS: _internal(
            "Per-record keys of personal data in the event log; deleting one erases it.",
            {
                "subject": StringField(max_length=200, required=True, unique=True, filterable=True),
                "key": TextField(required=True),
            },
            [],
        ),
        DELIVERIES: _internal(
            "Events owed to webhook subscriptions and in-app consumers, with dead letters.",
            {
                "target_kind": StringField(max_length=16, required=True, filterable=True),
                "target": StringField(max_length=200, required=True, filterable=True),
                "event": UuidField(required=True, filterable=True),
                "event_type": StringField(max_length=127, required=True, filterable=True),
                "stream": StringField(max_length=200, required=True),
                "seq": IntegerField(required=True),
                "status": StringField(max_length=16, required=True, filterable=True),
                "attempts": IntegerField(default=0),
                "next_attempt_at": DateTimeField(filterable=True, sortable=True),
                "last_status": IntegerField(),
                "last_error": TextField(),
                "delivered_at": DateTimeField(),
            },
            [
                Index(fields=["status", "next_attempt_at"]),
                Index(fields=["target_kind", "target", "event"], unique=True),
            ],
        ),
        DELIVERY_ATTEMPTS: _internal(
            "The delivery log: one row per attempt to deliver an event.",
            {
                "delivery": UuidField(required=True, filterable=True),
                "attempt": IntegerField(required=True),
                "ok": BooleanField(default=False),
                "status": IntegerField(),
                "error": TextField(),
                "duration_ms": IntegerField(),
            },
            [],
        ),
        WEBHOOKS: _internal(
            "Webhook subscriptions: where to send which events, and each endpoint's breaker.",
            {
                "url": StringField(max_length=2048, required=True),
                "event_types": JsonField(required=True),
                "secret": TextField(required=True),
                "previous_secret": TextField(),
                "previous_secret_expires_at": DateTimeField(),
                "description": StringField(max_length=500),
                "enabled": BooleanField(default=True),
                "breaker": JsonField(),
            },
            [],
        ),
        PROCESSED_EVENTS: _internal(
            "Events each in-app consumer has handled (so a redelivery is skipped).",
            {
                "consumer": StringField(max_length=200, required=True, filterable=True),
                "event": UuidField(required=True, filterable=True),
            },
            [Index(fields=["consumer", "event"], unique=True)],
        ),
    }


EVENT_RESOURCES: tuple[str, ...] = tuple(event_resources())
"""Every resource :func:`event_resources` defines."""
