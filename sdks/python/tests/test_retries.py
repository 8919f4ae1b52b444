"""Retries: which answers and failures are retried, how long the client waits, and the
one Idempotency-Key per call that makes a retried write run once. With both clients."""

from __future__ import annotations

import time
import uuid

import pytest

from _proxy import DROP, rate_limited, unavailable
from contactd import ContactdConnectionError, RateLimitedError, UnavailableError


def test_a_retried_post_creates_exactly_once(connect, proxy, unique):
    # The server creates the contact, but the client hears 503; its retry carries the same
    # key, so the server replays the first answer instead of creating again.
    proxy.play(unavailable(retry_after="0", forward=True))
    phone = unique.phone()
    contact = connect(base_url=proxy.url).contacts.create(
        {"phone": phone, "metadata": {"run": unique.marker}}
    )

    first, retry = proxy.requests("POST")
    assert first.upstream_status == 201
    key = first.headers["idempotency-key"]
    assert uuid.UUID(key).version == 4 and retry.headers["idempotency-key"] == key
    assert retry.upstream_status == 201 and retry.upstream_headers.get("idempotent-replayed") == "true"

    api = connect()
    assert api.contacts.get(phone).id == contact.id
    assert api.contacts.count(metadata={"run": unique.marker}) == 1


def test_each_call_has_its_own_key(connect, proxy, unique):
    api = connect(base_url=proxy.url)
    contact = api.contacts.create({"phone": unique.phone()})
    api.contacts.update(contact.id, {"first_name": "A"})
    api.contacts.get(contact.id)
    api.contacts.delete(contact.id)
    post, put, get, delete = proxy.requests()
    keys = [r.headers.get("idempotency-key") for r in (post, put, delete)]
    assert all(keys) and len(set(keys)) == 3
    assert "idempotency-key" not in get.headers


def test_a_key_given_by_the_caller_is_sent(connect, proxy, unique):
    connect(base_url=proxy.url).contacts.create(
        {"phone": unique.phone()}, idempotency_key=f"order-{unique.marker}"
    )
    assert proxy.requests("POST")[0].headers["idempotency-key"] == f"order-{unique.marker}"


def test_503_is_retried_until_the_retries_run_out(connect, proxy):
    proxy.play(unavailable(), unavailable(), unavailable())
    with pytest.raises(UnavailableError):
        connect(base_url=proxy.url, max_retries=2).contacts.count()
    assert len(proxy.requests()) == 3


def test_503_without_retry_after_backs_off(connect, proxy):
    proxy.play(unavailable(retry_after=None))
    started = time.monotonic()
    assert connect(base_url=proxy.url, retry_backoff=0.4).contacts.count() >= 0
    assert time.monotonic() - started >= 0.2  # half the first backoff, at least
    assert len(proxy.requests()) == 2


def test_429_waits_for_retry_after(connect, proxy):
    proxy.play(rate_limited(retry_after="1"))
    started = time.monotonic()
    connect(base_url=proxy.url).contacts.count()
    assert time.monotonic() - started >= 0.95
    assert len(proxy.requests()) == 2


def test_a_retry_after_longer_than_the_client_waits_is_raised_at_once(connect, proxy):
    proxy.play(rate_limited(retry_after="3600"))
    started = time.monotonic()
    with pytest.raises(RateLimitedError) as caught:
        connect(base_url=proxy.url).contacts.count()
    assert caught.value.retry_after == 3600 and time.monotonic() - started < 5
    assert len(proxy.requests()) == 1


def test_a_real_rate_limit_is_waited_out(connect, limited_server):
    client = connect(base_url=limited_server.url, api_key=limited_server.key, max_retries=3)
    started = time.monotonic()
    assert [client.contacts.count() for _ in range(3)] == [0, 0, 0]
    assert time.monotonic() - started >= 1.0  # one request a second after the first


def test_a_dropped_connection_is_retried_for_a_get(connect, proxy, unique):
    contact = connect().contacts.create({"phone": unique.phone()})
    proxy.play(DROP)
    assert connect(base_url=proxy.url, retry_backoff=0.01).contacts.get(contact.id).id == contact.id
    assert len(proxy.requests()) == 2


def test_a_dropped_post_is_retried_with_its_key(connect, proxy, unique):
    proxy.play(DROP)
    api = connect(base_url=proxy.url, retry_backoff=0.01)
    api.contacts.create({"email": unique.email(), "metadata": {"run": unique.marker}})
    first, retry = proxy.requests("POST")
    assert first.headers["idempotency-key"] == retry.headers["idempotency-key"]
    assert connect().contacts.count(metadata={"run": unique.marker}) == 1


def test_a_dropped_delete_is_not_retried(connect, proxy, unique):
    # The server may have deleted the contact already; a retry would answer 404.
    contact = connect().contacts.create({"phone": unique.phone()})
    proxy.play(DROP)
    with pytest.raises(ContactdConnectionError):
        connect(base_url=proxy.url, retry_backoff=0.01).contacts.delete(contact.id)
    assert len(proxy.requests()) == 1
