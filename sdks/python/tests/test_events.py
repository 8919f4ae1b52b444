"""The change feed (`client.events`) and webhook endpoints (`client.webhooks`) against a
real server: events in commit order, resumable cursors, a long poll woken by a write, and
deliveries to a receiver on loopback that verifies each with `verify_webhook_signature`."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest

from contactd import InvalidInputError, NotFoundError, verify_webhook_signature

from conftest import _connect


@pytest.fixture
def fresh_key(server) -> str:
    """A key of a workspace of its own, so its feed holds this test's events only."""
    return server.new_key(f"events-{time.monotonic_ns()}")


@pytest.fixture
def fresh(connect, fresh_key):
    return connect(api_key=fresh_key)


def test_the_feed_lists_changes_in_order_and_resumes_from_its_cursor(fresh, unique):
    contact = fresh.contacts.create({"phone": unique.phone(), "first_name": "Zoë"})
    fresh.contacts.update(contact.id, {"last_name": "Doe"})
    updated = list(fresh.events.list(types="contact.updated"))
    assert updated[0].data["changed_fields"] == ["last_name"]
    assert updated[0].data["object"]["first_name"] == "Zoë"
    fresh.contacts.delete(contact.id)

    feed = fresh.events.list()
    events = list(feed)
    assert [e.type for e in events] == ["contact.created", "contact.updated", "contact.deleted"]
    assert [e.sequence for e in events] == sorted(e.sequence for e in events)
    # After the delete no event carries the contact's personal data.
    assert "Zo" not in json.dumps([e.data for e in events])

    assert list(fresh.events.list(after=feed.cursor)) == []
    second = fresh.contacts.create({"phone": unique.phone()})
    resumed = list(fresh.events.list(after=feed.cursor))
    assert [(e.type, e.data["object"]["id"]) for e in resumed] == [("contact.created", second.id)]


def test_types_and_pages(fresh, unique):
    for _ in range(3):
        c = fresh.contacts.create({"email": unique.email()})
        fresh.contacts.delete(c.id)
    deleted = list(fresh.events.list(types=["contact.deleted"], limit=2))
    assert [e.type for e in deleted] == ["contact.deleted"] * 3
    page = fresh.events.list_page(types="contact.created", limit=2)
    assert len(page.data) == 2 and page.has_more
    rest = fresh.events.list_page(after=page.next_cursor, types="contact.created")
    assert len(rest.data) == 1 and not rest.has_more


def test_a_bad_cursor_is_invalid_input(fresh):
    with pytest.raises(InvalidInputError) as err:
        fresh.events.list_page(after="not a cursor")
    assert err.value.field == "after"


def test_follow_waits_for_the_next_event(fresh, fresh_key, unique, server):
    feed = fresh.events.follow(wait=10)
    phone = unique.phone()

    def later() -> None:
        time.sleep(0.5)
        from contactd import Client

        with Client(api_key=fresh_key, base_url=server.url) as other:
            other.contacts.create({"phone": phone})

    threading.Thread(target=later).start()
    started = time.monotonic()
    event = next(iter(feed))
    assert event.type == "contact.created" and event.data["object"]["phone"] == phone
    assert time.monotonic() - started < 9


class Receiver:
    """An HTTP endpoint on loopback that records what it is sent."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, dict[str, str]]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
                body = self.rfile.read(int(self.headers["content-length"]))
                received.append((body, {k.lower(): v for k, v in self.headers.items()}))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/hooks"

    def wait_for(self, count: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} of {count} deliveries came"
            time.sleep(0.05)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.http.shutdown()


@pytest.fixture
def hooks(kind, webhook_server):
    """A client of the test's kind on the server that may deliver to loopback, in a
    workspace of its own."""
    key = webhook_server.new_key(f"hooks-{time.monotonic_ns()}")
    made = _connect(kind, webhook_server)
    connect = next(made)
    yield connect(api_key=key)
    next(made, None)


def test_a_webhook_receives_signed_events_and_logs_its_deliveries(hooks, receiver, unique):
    webhook = hooks.webhooks.create(
        {"url": receiver.url, "event_types": ["contact.created"], "description": "CRM sync"}
    )
    assert webhook.secret.startswith("whsec_") and webhook.status == "enabled"
    assert [w.id for w in hooks.webhooks.list()] == [webhook.id]
    assert hooks.webhooks.get(webhook.id).secret is None

    contact = hooks.contacts.create({"phone": unique.phone(), "first_name": "Ana"})
    hooks.contacts.update(contact.id, {"last_name": "Lima"})  # not a subscribed type
    receiver.wait_for(1)
    body, headers = receiver.received[0]
    event = verify_webhook_signature(body, headers, webhook.secret)
    assert event["type"] == "contact.created" and event["data"]["object"]["id"] == contact.id
    assert headers["webhook-id"] == event["id"]

    deadline = time.monotonic() + 10
    while True:
        deliveries = list(hooks.webhooks.deliveries(webhook.id))
        if deliveries and deliveries[0].state == "succeeded":
            break
        assert time.monotonic() < deadline, deliveries
        time.sleep(0.1)
    assert [d.event_id for d in deliveries] == [event["id"]]
    assert deliveries[0].response_status == 204

    retried = hooks.webhooks.retry_delivery(webhook.id, deliveries[0].id)
    assert retried.id == deliveries[0].id
    receiver.wait_for(2)
    assert verify_webhook_signature(*receiver.received[1], webhook.secret)["id"] == event["id"]

    rotated = hooks.webhooks.rotate_secret(webhook.id)
    assert rotated.secret.startswith("whsec_") and rotated.secret != webhook.secret
    hooks.contacts.create({"phone": unique.phone()})
    receiver.wait_for(3)
    # Signed with both secrets while the old one overlaps.
    verify_webhook_signature(*receiver.received[2], rotated.secret)
    verify_webhook_signature(*receiver.received[2], webhook.secret)

    disabled = hooks.webhooks.update(webhook.id, {"status": "disabled"})
    assert disabled.status == "disabled"
    hooks.webhooks.delete(webhook.id)
    with pytest.raises(NotFoundError):
        hooks.webhooks.get(webhook.id)


def test_a_private_address_is_refused_without_the_flag(api):
    with pytest.raises(InvalidInputError) as err:
        api.webhooks.create({"url": "http://127.0.0.1:9/hooks"})
    assert err.value.field == "url"
