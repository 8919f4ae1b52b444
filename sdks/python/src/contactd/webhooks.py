"""Checking that a webhook delivery comes from contactd, per the Standard Webhooks
specification: `webhook-signature` holds `v1,<base64 HMAC-SHA256>` entries over
`{webhook-id}.{webhook-timestamp}.{body}`, keyed with the base64 part of the endpoint's
`whsec_…` secret. Any entry may match: while a secret is rotated, contactd signs with
the old and the new one."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from typing import Any, Iterable, Mapping

DEFAULT_TOLERANCE = 300
"""Seconds a delivery's timestamp may be away from now (replays are refused past it)."""


class WebhookVerificationError(ValueError):
    """The delivery's signature, headers or timestamp do not check out."""


def verify_webhook_signature(
    payload: bytes | str,
    headers: Mapping[str, str],
    secret: str | bytes | Iterable[str | bytes],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> Any:
    """The delivered event (its JSON, parsed) when the delivery is signed with `secret`;
    `WebhookVerificationError` otherwise.

    `payload` is the raw request body, exactly as received (bytes; a `str` is read as
    UTF-8); `headers` any mapping of the request's headers (names in any case). `secret`
    is the endpoint's `whsec_…` secret, or several (say, old and new during a rotation).
    """
    body = payload.encode() if isinstance(payload, str) else bytes(payload)
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = lowered.get("webhook-id")
    timestamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not (msg_id and timestamp and signatures):
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise WebhookVerificationError(f"webhook-timestamp is not a Unix time: {timestamp!r}") from None
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance:
        raise WebhookVerificationError("webhook-timestamp is too far from now")

    signed = f"{msg_id}.{sent_at}.".encode() + body
    expected = [hmac.new(key, signed, hashlib.sha256).digest() for key in _keys(secret)]
    for entry in signatures.split():
        version, _, encoded = entry.partition(",")
        if version != "v1":
            continue
        try:
            given = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            continue
        if any(hmac.compare_digest(given, digest) for digest in expected):
            return json.loads(body)
    raise WebhookVerificationError("no signature matches the secret")


def _keys(secret: str | bytes | Iterable[str | bytes]) -> list[bytes]:
    secrets = [secret] if isinstance(secret, (str, bytes)) else list(secret)
    if not secrets:
        raise ValueError("no webhook secret given")
    return [_key(s) for s in secrets]


def _key(secret: str | bytes) -> bytes:
    if isinstance(secret, bytes):
        key = secret
    else:
        encoded = secret.removeprefix("whsec_")
        try:
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except binascii.Error:
            raise ValueError("a webhook secret is whsec_ followed by base64") from None
    if not key:
        raise ValueError("the webhook secret is empty")
    return key
