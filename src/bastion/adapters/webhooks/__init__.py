"""Outbound webhooks over HTTP: the SSRF guard and the sender.

Wiring::

    sender = WebhookSender(OutboundPolicy(allow_private=False, allowed_networks=()))
    outcome = await sender.send(url, signed_headers(secret, event_id, body, now), body)
    ...
    await sender.aclose()
"""

from bastion.adapters.webhooks.guard import (
    OutboundPolicy,
    UnsafeWebhookUrl,
    check_url,
    refusal_reason,
    resolve_safe,
)
from bastion.adapters.webhooks.sender import (
    DEFAULT_MAX_RESPONSE_BYTES,
    DeliveryOutcome,
    WebhookSender,
)

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DeliveryOutcome",
    "OutboundPolicy",
    "UnsafeWebhookUrl",
    "WebhookSender",
    "check_url",
    "refusal_reason",
    "resolve_safe",
]
