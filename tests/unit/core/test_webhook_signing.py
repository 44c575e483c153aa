"""Webhook signatures verify with the reference Standard Webhooks library, and only when intact."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from bastion.core.webhooks import new_secret, sign, signed_headers

BODY = json.dumps({"type": "orders.created", "data": {"id": "o-1", "total": "9.50"}}).encode()


def test_webhook_signing_new_secrets_are_random_whsec_keys() -> None:
    first, second = new_secret(), new_secret()
    assert first != second
    assert first.startswith("whsec_")
    assert 24 <= len(base64.b64decode(first.removeprefix("whsec_"))) <= 32


def test_webhook_signing_headers_verify_with_the_reference_library() -> None:
    secret = new_secret()
    headers = signed_headers(secret, "evt_1", BODY, datetime.now(UTC))

    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)
    assert headers["webhook-id"] == "evt_1"
    assert headers["content-type"] == "application/json"
    assert headers["webhook-signature"].startswith("v1,")


@given(
    message_id=st.text(min_size=1, max_size=40).filter(lambda s: s.isprintable()),
    body=st.text(max_size=200),
)
def test_webhook_signing_matches_the_reference_for_any_message(message_id: str, body: str) -> None:
    secret = new_secret()
    now = datetime.now(UTC)
    headers = signed_headers(secret, message_id, body.encode(), now)
    Webhook(secret).verify(body.encode(), headers, json_parse=False)


def test_webhook_signing_sign_is_the_documented_hmac() -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 24).decode()
    signature = sign(secret, "msg_1", 1_700_000_000, b"{}")
    reference = Webhook(secret).sign("msg_1", datetime.fromtimestamp(1_700_000_000, UTC), "{}")
    assert signature == reference


def test_webhook_signing_a_tampered_body_fails_verification() -> None:
    secret = new_secret()
    headers = signed_headers(secret, "evt_1", BODY, datetime.now(UTC))
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"9.50", b"0.01"), headers)


def test_webhook_signing_a_wrong_secret_fails_verification() -> None:
    headers = signed_headers(new_secret(), "evt_1", BODY, datetime.now(UTC))
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)


def test_webhook_signing_an_old_timestamp_fails_verification() -> None:
    secret = new_secret()
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    headers = signed_headers(secret, "evt_1", BODY, an_hour_ago)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(BODY, headers)


def test_webhook_signing_a_rotated_out_secret_still_verifies() -> None:
    old, new = new_secret(), new_secret()
    headers = signed_headers(new, "evt_1", BODY, datetime.now(UTC), previous_secrets=[old])
    Webhook(old).verify(BODY, headers)
    Webhook(new).verify(BODY, headers)


@pytest.mark.parametrize("secret", ["whsec_", "whsec_not base64!", ""])
def test_webhook_signing_refuses_a_malformed_secret(secret: str) -> None:
    with pytest.raises(ValueError, match="whsec_") as caught:
        sign(secret, "evt_1", 1, b"{}")
    if secret.removeprefix("whsec_"):
        assert secret not in str(caught.value)


def test_webhook_signing_needs_an_aware_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        signed_headers(new_secret(), "evt_1", BODY, datetime(2026, 1, 1))
