"""The exceptions the SDK raises: one class per error of the API's envelope.

Every failed call raises a `ContactdError` carrying the envelope
(`{"error", "message", "code", "details"}`): `.code` is the HTTP status (as in the
seed's `error.code === 404`), `.error` the error's name, `.details` the rest. The
subclasses lift the details that matter for their error into attributes.
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from datetime import datetime, timezone
from typing import Any

import httpx


class ContactdError(Exception):
    """An error answer of the API (or, for `ContactdConnectionError`, no answer at all)."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        error: str | None = None,
        details: dict[str, Any] | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.error = error
        self.details: dict[str, Any] = details or {}
        self.request_id = request_id

    def __str__(self) -> str:
        if self.code is None:
            return self.message
        return f"{self.message} ({self.error or 'error'}, HTTP {self.code})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, error={self.error!r}, message={self.message!r})"


class InvalidInputError(ContactdError):
    """400 `invalid_input`: `.field` names what was wrong, `.received` and `.expected` say how."""

    @property
    def field(self) -> str | None:
        return self.details.get("field")

    @property
    def received(self) -> Any:
        return self.details.get("received")

    @property
    def expected(self) -> Any:
        return self.details.get("expected")


class UnauthorizedError(ContactdError):
    """401 `unauthorized`: the API key is missing, unknown or revoked."""


class NotFoundError(ContactdError):
    """404 `not_found`: no such contact, conversation or segment for this key."""


class DuplicateContactError(ContactdError):
    """409 `duplicate_contact`: another contact holds the phone, email or identity.

    `.existing_contact_id` is that contact; an upsert whose phone and email belong to two
    different contacts also names both (`.phone_contact_id`, `.email_contact_id`).
    """

    @property
    def field(self) -> str | None:
        return self.details.get("field")

    @property
    def existing_contact_id(self) -> str | None:
        return self.details.get("existing_contact_id")

    @property
    def phone_contact_id(self) -> str | None:
        return self.details.get("phone_contact_id")

    @property
    def email_contact_id(self) -> str | None:
        return self.details.get("email_contact_id")


class IdempotencyConflictError(ContactdError):
    """409 `idempotency_conflict`: the `Idempotency-Key` was used for another request."""


class MergeConflictError(ContactdError):
    """409 `merge_conflict`: the merge cannot be undone (undone already, older than 30 days,
    or the contact it kept was deleted or merged since). Nothing changed."""


class PreconditionFailedError(ContactdError):
    """412 `precondition_failed`: `If-Match` named an older version; `.current_etag` is the current one."""

    @property
    def current_etag(self) -> str | None:
        return self.details.get("current_etag")


class PayloadTooLargeError(ContactdError):
    """413 `payload_too_large`: the body is over the server's limit (`.limit_bytes`)."""

    @property
    def limit_bytes(self) -> int | None:
        return self.details.get("limit_bytes")


class _RetryAfter(ContactdError):
    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        """Seconds the server asked to wait (`Retry-After`), or None."""


class RateLimitedError(_RetryAfter):
    """429 `rate_limited`, still so after the retries; `.retry_after` is in seconds."""


class UnavailableError(_RetryAfter):
    """503 `unavailable`, still so after the retries: the server could not reach its database."""


class ContactdConnectionError(ContactdError):
    """No answer: the connection failed or broke, still so after the retries. `.code` is None."""


_BY_ERROR: dict[str, type[ContactdError]] = {
    "invalid_input": InvalidInputError,
    "unauthorized": UnauthorizedError,
    "not_found": NotFoundError,
    "duplicate_contact": DuplicateContactError,
    "idempotency_conflict": IdempotencyConflictError,
    "merge_conflict": MergeConflictError,
    "precondition_failed": PreconditionFailedError,
    "payload_too_large": PayloadTooLargeError,
    "rate_limited": RateLimitedError,
    "unavailable": UnavailableError,
}

# For answers without the envelope (a proxy's own page, say).
_BY_STATUS: dict[int, type[ContactdError]] = {
    400: InvalidInputError,
    401: UnauthorizedError,
    404: NotFoundError,
    412: PreconditionFailedError,
    413: PayloadTooLargeError,
    429: RateLimitedError,
    503: UnavailableError,
}


def retry_after_seconds(response: httpx.Response) -> float | None:
    """`Retry-After` in seconds: a number of seconds or an HTTP date; None when absent or unreadable."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def error_from_response(response: httpx.Response) -> ContactdError:
    """The exception for an error answer, from its envelope when it has one."""
    try:
        body = response.json()
    except ValueError:
        body = None
    status = response.status_code
    request_id = response.headers.get("x-request-id")
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        error = body["error"]
        message = body.get("message") or response.reason_phrase or error
        details = body.get("details") if isinstance(body.get("details"), dict) else {}
        cls = _BY_ERROR.get(error, ContactdError)
    else:
        error = None
        text = response.text.strip()[:200]
        message = f"HTTP {status} {response.reason_phrase}" + (f": {text}" if text else "")
        details = {}
        cls = _BY_STATUS.get(status, ContactdError)
    kwargs: dict[str, Any] = dict(code=status, error=error, details=details, request_id=request_id)
    if issubclass(cls, _RetryAfter):
        retry_after = retry_after_seconds(response)
        if retry_after is None and isinstance(details.get("retry_after"), (int, float)):
            retry_after = float(details["retry_after"])
        kwargs["retry_after"] = retry_after
    return cls(message, **kwargs)
