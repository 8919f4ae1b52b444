"""verify_webhook_signature checks deliveries signed by the Standard Webhooks reference
library (the `standardwebhooks` package), as contactd signs them."""

from __future__ import annotations

import base64
import json
import os
import time
from datetime import datetime, timezone

import pytest
from standardwebhooks import Webhook

from contactd import WebhookVerificationError, verify_webhook_signature

SECRET = "whsec_" + base64.b64encode(os.urandom(24)).decode()
EVENT = {
    "id": "evt_01",
    "type": "contact.created",
    "sequence": 1,
    "data": {"object": {"id": "cnt_01", "first_name": "Zoë"}},
}


def delivery(
    secret: str = SECRET, body: bytes | None = None, at: float | None = None, msg_id: str = "evt_01"
):
    """Body and headers of a delivery, signed by the reference library."""
    body = json.dumps(EVENT, ensure_ascii=False).encode() if body is None else body
    at = time.time() if at is None else at
    signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(at, tz=timezone.utc), body.decode())
    return body, {"webhook-id": msg_id, "webhook-timestamp": str(int(at)), "webhook-signature": signature}


def test_a_signed_delivery_gives_its_event():
    body, headers = delivery()
    assert verify_webhook_signature(body, headers, SECRET) == EVENT
    assert verify_webhook_signature(body.decode(), headers, SECRET) == EVENT


def test_header_names_in_any_case():
    body, headers = delivery()
    assert verify_webhook_signature(body, {k.title(): v for k, v in headers.items()}, SECRET) == EVENT


def test_the_reference_library_agrees():
    body, headers = delivery()
    assert Webhook(SECRET).verify(body, headers) == verify_webhook_signature(body, headers, SECRET)


def test_a_changed_body_is_refused():
    body, headers = delivery()
    with pytest.raises(WebhookVerificationError):
        verify_webhook_signature(body.replace(b"cnt_01", b"cnt_02"), headers, SECRET)


def test_another_secret_is_refused():
    body, headers = delivery()
    other = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    with pytest.raises(WebhookVerificationError, match="no signature"):
        verify_webhook_signature(body, headers, other)


def test_a_changed_id_or_timestamp_is_refused():
    body, headers = delivery()
    with pytest.raises(WebhookVerificationError):
        verify_webhook_signature(body, {**headers, "webhook-id": "evt_02"}, SECRET)
    with pytest.raises(WebhookVerificationError):
        verify_webhook_signature(
            body, {**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) + 1)}, SECRET
        )


def test_an_old_or_future_delivery_is_refused():
    for at in (time.time() - 600, time.time() + 600):
        body, headers = delivery(at=at)
        with pytest.raises(WebhookVerificationError, match="too far"):
            verify_webhook_signature(body, headers, SECRET)
    body, headers = delivery(at=time.time() - 600)
    assert verify_webhook_signature(body, headers, SECRET, tolerance=900) == EVENT


def test_any_of_several_signatures_may_match():
    # During a secret rotation contactd signs with the old and the new secret.
    old = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    body, headers = delivery()
    _, with_old = delivery(secret=old, at=int(headers["webhook-timestamp"]))
    both = {
        **headers,
        "webhook-signature": f"v1a,garbage {with_old['webhook-signature']} {headers['webhook-signature']}",
    }
    assert verify_webhook_signature(body, both, SECRET) == EVENT
    assert verify_webhook_signature(body, both, old) == EVENT
    assert verify_webhook_signature(body, headers, [old, SECRET]) == EVENT


def test_missing_headers_are_refused():
    body, headers = delivery()
    for name in headers:
        with pytest.raises(WebhookVerificationError, match="missing"):
            verify_webhook_signature(body, {k: v for k, v in headers.items() if k != name}, SECRET)


def test_a_malformed_secret_is_a_value_error():
    body, headers = delivery()
    with pytest.raises(ValueError):
        verify_webhook_signature(body, headers, "whsec_***")
