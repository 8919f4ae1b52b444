"""Sending one API call: headers, retries, and turning error answers into exceptions.

An operation is described once as a `Call` (`_operations.py`); `SyncTransport` and
`AsyncTransport` send it, the same way, with httpx's blocking or asyncio client.

Retries: answers 429 and 503 (which change nothing on the server) are retried after
their `Retry-After`, or after an exponential backoff with jitter; a connection that
could not be opened is retried for every method; a connection that broke after the
request went out is retried only where running the request twice is harmless (GET, a
POST, which carries an `Idempotency-Key`, and a PUT without `If-Match`). Every write
gets one `Idempotency-Key` per call, the same on each of its retries, so the server
replays the first answer instead of running the request again (the server honours the
key on POST; PUT and DELETE are idempotent by nature).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, TypeVar

import httpx

from ._version import __version__
from .errors import ContactdConnectionError, ContactdError, error_from_response

T = TypeVar("T")

DEFAULT_BASE_URL = "http://127.0.0.1:8080"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 2
WRITE_METHODS = frozenset({"POST", "PUT", "DELETE"})
RETRIED_STATUSES = frozenset({429, 503})
# Failures that happen before any byte of the request reached the server.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class Call(Generic[T]):
    """One API request and how to read its success answer."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: list[tuple[str, str]] = field(default_factory=list)
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    idempotency_key: str | None = None


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = DEFAULT_MAX_RETRIES
    backoff: float = 0.5
    """Wait before the first retry when the server names none; doubles on each retry."""
    max_backoff: float = 8.0
    max_retry_after: float = 60.0
    """A `Retry-After` longer than this is not waited for: the error is raised at once."""

    def delay_after_answer(self, error: ContactdError, attempt: int) -> float | None:
        if attempt >= self.max_retries or error.code not in RETRIED_STATUSES:
            return None
        retry_after = getattr(error, "retry_after", None)
        if retry_after is None:
            return self._backoff(attempt)
        return retry_after if retry_after <= self.max_retry_after else None

    def delay_after_transport_error(
        self, exc: httpx.TransportError, call: Call[Any], attempt: int
    ) -> float | None:
        if attempt >= self.max_retries:
            return None
        if isinstance(exc, _NOT_SENT) or _safe_to_repeat(call):
            return self._backoff(attempt)
        return None

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.max_backoff, self.backoff * (2**attempt))
        return random.uniform(ceiling / 2, ceiling)


def _safe_to_repeat(call: Call[Any]) -> bool:
    if call.method in ("GET", "POST"):
        return True
    return call.method == "PUT" and "If-Match" not in call.headers


class _Base:
    def __init__(
        self,
        api_key: str | None,
        base_url: str | None,
        timeout: float | httpx.Timeout | None,
        max_retries: int,
        retry_backoff: float,
    ) -> None:
        api_key = api_key or os.environ.get("CONTACTD_API_KEY")
        if not api_key:
            raise ValueError("no API key: pass api_key= or set CONTACTD_API_KEY")
        base_url = (base_url or os.environ.get("CONTACTD_URL") or DEFAULT_BASE_URL).rstrip("/")
        if base_url.endswith("/v2"):
            base_url = base_url[: -len("/v2")]
        self.base_url = base_url
        self.timeout = timeout
        self.retry = RetryPolicy(max_retries=max_retries, backoff=retry_backoff)
        self._headers = {
            "X-API-Key": api_key,
            "Accept": "application/json",
            "User-Agent": f"contactd-python/{__version__}",
        }

    def _request_kwargs(self, call: Call[Any], idempotency_key: str | None) -> dict[str, Any]:
        headers = {**self._headers, **call.headers}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        kwargs: dict[str, Any] = {
            "method": call.method,
            "url": self.base_url + call.path,
            "params": call.params or None,
            "headers": headers,
            "timeout": self.timeout,
        }
        if call.json is not None:
            kwargs["json"] = call.json
        return kwargs

    @staticmethod
    def _idempotency_key(call: Call[Any]) -> str | None:
        if call.method not in WRITE_METHODS:
            return None
        return call.idempotency_key or str(uuid.uuid4())


def _connection_error(exc: httpx.TransportError) -> ContactdConnectionError:
    return ContactdConnectionError(f"no answer from contactd: {type(exc).__name__}: {exc}")


class SyncTransport(_Base):
    def __init__(
        self,
        api_key: str | None,
        base_url: str | None,
        timeout: float | httpx.Timeout | None,
        max_retries: int,
        retry_backoff: float,
        http_client: httpx.Client | None,
    ) -> None:
        super().__init__(api_key, base_url, timeout, max_retries, retry_backoff)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client()

    def send(self, call: Call[T]) -> T:
        key = self._idempotency_key(call)
        attempt = 0
        while True:
            try:
                response = self._http.request(**self._request_kwargs(call, key))
            except httpx.TransportError as exc:
                delay = self.retry.delay_after_transport_error(exc, call, attempt)
                if delay is None:
                    raise _connection_error(exc) from exc
            else:
                if response.is_success:
                    return call.parse(response)
                error = error_from_response(response)
                delay = self.retry.delay_after_answer(error, attempt)
                if delay is None:
                    raise error
            time.sleep(delay)
            attempt += 1

    def close(self) -> None:
        if self._owns_http:
            self._http.close()


class AsyncTransport(_Base):
    def __init__(
        self,
        api_key: str | None,
        base_url: str | None,
        timeout: float | httpx.Timeout | None,
        max_retries: int,
        retry_backoff: float,
        http_client: httpx.AsyncClient | None,
    ) -> None:
        super().__init__(api_key, base_url, timeout, max_retries, retry_backoff)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient()

    async def send(self, call: Call[T]) -> T:
        key = self._idempotency_key(call)
        attempt = 0
        while True:
            try:
                response = await self._http.request(**self._request_kwargs(call, key))
            except httpx.TransportError as exc:
                delay = self.retry.delay_after_transport_error(exc, call, attempt)
                if delay is None:
                    raise _connection_error(exc) from exc
            else:
                if response.is_success:
                    return call.parse(response)
                error = error_from_response(response)
                delay = self.retry.delay_after_answer(error, attempt)
                if delay is None:
                    raise error
            await asyncio.sleep(delay)
            attempt += 1

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()
