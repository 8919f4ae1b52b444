"""`Client`: the blocking client, `client.contacts`, `client.merges`, `client.duplicates`,
`client.conversations`, `client.segments`, `client.events`, `client.webhooks`.

Each method sends one operation of docs/openapi.json (see `_operations.py`) and answers
with the generated model of its response; the list methods without `_page` read every
page and hand out the items one at a time.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, TypeVar

import httpx

from . import _operations as ops
from ._generated import (
    BatchResponse,
    Contact,
    ContactList,
    Conversation,
    ConversationList,
    Delivery,
    DeliveryList,
    DuplicateCandidate,
    DuplicatePair,
    DuplicatePairList,
    Event,
    EventList,
    HealthStatus,
    Identity,
    Merge,
    MergeResult,
    Message,
    MessageList,
    Segment,
    SegmentList,
    UndoResult,
    Webhook,
)
from ._operations import Upserted
from ._transport import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, Call, SyncTransport

Item = TypeVar("Item")
Params = list[tuple[str, str]]


def _cursor_items(
    send: Callable[[Call[Any]], Any], page_call: Callable[[Params], Call[Any]], params: Params
) -> Iterator[Any]:
    cursor = None
    while True:
        page = send(page_call(ops.cursor_params(params, cursor)))
        yield from page.data
        if not page.has_more or not page.next_cursor:
            return
        cursor = page.next_cursor


def _offset_items(
    send: Callable[[Call[Any]], Any], page_call: Callable[[Params], Call[Any]], params: Params
) -> Iterator[Any]:
    offset = 0
    while True:
        page = send(page_call(ops.offset_params(params, offset)))
        yield from page.data
        if not page.has_more or not page.data:
            return
        offset += len(page.data)


class Contacts:
    """`client.contacts`: contacts by id, phone (E.164), email or identity (`TYPE:VALUE`, e.g.
    `instagram:17841400000000001`), which the API calls a ref."""

    def __init__(self, transport: SyncTransport) -> None:
        self._send = transport.send

    def get(self, ref: str) -> Contact:
        """The contact with this id, phone, email or identity (`whatsapp:+14155550123`);
        `NotFoundError` when there is none."""
        return self._send(ops.get_contact(ref))

    def create(self, data: dict[str, Any] | Any, *, idempotency_key: str | None = None) -> Contact:
        """Creates a contact from a dict (or a `ContactCreate`); it needs a phone, an email or
        an identity (`"identities": [{"type": "instagram", "value": "…"}]`).
        `DuplicateContactError` when its phone, email or an identity is taken."""
        return self._send(ops.create_contact(data, idempotency_key))

    def update(
        self,
        ref: str,
        data: dict[str, Any] | Any,
        if_match: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Contact:
        """Changes only the fields sent (`None` clears one); metadata is merged, a `None`
        member removes its key; `identities` sent replace the set. With `if_match` (an `.etag`), `PreconditionFailedError`
        when the contact changed since."""
        return self._send(ops.update_contact(ref, data, if_match, idempotency_key))

    def delete(self, ref: str, if_match: str | None = None, *, idempotency_key: str | None = None) -> Contact:
        """Erases the contact with its conversations and messages; answers it as it was,
        with `status` `deleted`."""
        return self._send(ops.delete_contact(ref, if_match, idempotency_key))

    def list(self, **filters: Any) -> Iterator[Contact]:
        """Every contact matching the filters, following `next_cursor` from page to page.

        Filters are the API's query parameters: `status`, `preferred_channel`, `q`,
        `created_after`, `created_before`, `updated_after`, `sort`, and metadata filters as
        `metadata={"plan": "premium", "mrr[gte]": 100}`. `limit` is the page size (100
        unless given), not a cap on the items: stop early with `itertools.islice`."""
        params = ops.list_all_params(filters, "list", cursor_paged=True)
        return _cursor_items(self._send, ops.list_contacts, params)

    def list_page(self, **params: Any) -> ContactList:
        """One page of the list, with `total`, `has_more` and `next_cursor`; takes the
        filters of `list` and `limit`, `offset`, `cursor`, `include_total`."""
        return self._send(ops.list_contacts(ops.query(params)))

    def count(self, **filters: Any) -> int:
        """How many contacts match the filters of `list`, exactly."""
        return self._send(ops.count_contacts(ops.query(filters)))

    def upsert(self, data: dict[str, Any] | Any, *, idempotency_key: str | None = None) -> Upserted:
        """Creates the contact, or updates the one its phone or email finds, in one request:
        `.contact`, and `.result` `created`, `updated` or `unchanged`."""
        return self._send(ops.upsert_contact(data, idempotency_key))

    def batch(
        self,
        contacts: Iterable[dict[str, Any] | Any],
        mode: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> BatchResponse:
        """Up to 1,000 creates (`mode` `create`, the default), upserts or restores in one
        request; a result per item, and an item that fails does not fail the others."""
        return self._send(ops.batch_contacts(contacts, mode, idempotency_key))

    def conversations(self, ref: str, **filters: Any) -> Iterator[Conversation]:
        """All the contact's conversations, newest first; filters `status`, `channel`."""
        params = ops.list_all_params(filters, "conversations", cursor_paged=False)
        return _offset_items(self._send, lambda p: ops.list_contact_conversations(ref, p), params)

    def conversations_page(self, ref: str, **params: Any) -> ConversationList:
        """One page of the contact's conversations (`status`, `channel`, `limit`, `offset`)."""
        return self._send(ops.list_contact_conversations(ref, ops.query(params)))

    def add_identity(
        self,
        ref: str,
        identity: dict[str, str] | Identity | str,
        if_match: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Contact:
        """Adds an identity, `{"type": "instagram", "value": "…"}` (or `"instagram:…"`), and
        answers the contact with it; `DuplicateContactError` when another contact holds it."""
        return self._send(ops.add_identity(ref, identity, if_match, idempotency_key))

    def remove_identity(
        self,
        ref: str,
        identity: dict[str, str] | Identity | str,
        if_match: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Contact:
        """Removes an identity, `"instagram:…"` (or `{"type", "value"}`), and answers the
        contact without it; removing the last way to reach a contact is `InvalidInputError`."""
        return self._send(ops.remove_identity(ref, identity, if_match, idempotency_key))

    def merge(
        self,
        ref: str,
        source: str,
        *,
        dry_run: bool = False,
        if_match: str | None = None,
        idempotency_key: str | None = None,
    ) -> MergeResult:
        """Folds the contact `source` (any ref) into the contact `ref`, which keeps its id and
        fields and takes what it lacks; the source's conversations move over and its id
        becomes a ref to the target. `.contact` is the target after the merge, `.merge` the
        record to undo it by (`client.merges.undo(result.merge.id)`). With `dry_run`, the
        same answer and nothing changes; `if_match` applies to the target."""
        return self._send(ops.merge_contacts(ref, source, dry_run, if_match, idempotency_key))

    def merges(self, ref: str) -> Iterator[Merge]:
        """The merges the contact took part in, kept or folded in, newest first."""
        return iter(self._send(ops.list_contact_merges(ref)).data)

    def duplicates(self, ref: str) -> Iterator[DuplicateCandidate]:
        """The contacts that look like the same person, best first: `.contact`, `.score`
        (0 to 1) and `.reasons` (`email_normalized`, `identity_overlap`,
        `name_and_email_domain`, `name_similar`)."""
        return iter(self._send(ops.list_contact_duplicates(ref)).data)


class Merges:
    """`client.merges`: merges made by `client.contacts.merge`, to undo within 30 days."""

    def __init__(self, transport: SyncTransport) -> None:
        self._send = transport.send

    def undo(self, merge_id: str, *, idempotency_key: str | None = None) -> UndoResult:
        """Brings the source back as it was (id, fields, identities, conversations, also
        messages added since) and the target's fields as before: `.target`, `.source`,
        `.merge`. `MergeConflictError` when undone already or too old; `DuplicateContactError`
        when an identifier of the two went to another contact since."""
        return self._send(ops.undo_merge(merge_id, idempotency_key))


class Duplicates:
    """`client.duplicates`: pairs of contacts of the workspace that look like one person."""

    def __init__(self, transport: SyncTransport) -> None:
        self._send = transport.send

    def list(self, **params: Any) -> Iterator[DuplicatePair]:
        """Every pair (`.a`, `.b`, `.score`, `.reasons`), in the order of their ids, following
        `next_cursor` from page to page (`limit` is the page size)."""
        query = ops.list_all_params(params, "list", cursor_paged=False)
        return _cursor_items(self._send, ops.list_duplicates, query)

    def list_page(self, **params: Any) -> DuplicatePairList:
        """One page of pairs (`limit`, `cursor`), with `has_more` and `next_cursor`."""
        return self._send(ops.list_duplicates(ops.query(params)))


class Conversations:
    """`client.conversations`: a contact's conversations on one channel, and their messages."""

    def __init__(self, transport: SyncTransport) -> None:
        self._send = transport.send

    def create(self, data: dict[str, Any] | Any, *, idempotency_key: str | None = None) -> Conversation:
        """Starts a conversation: `{"contact_id": <any contact ref>, "channel": "sms"}`."""
        return self._send(ops.create_conversation(data, idempotency_key))

    def get(self, conversation_id: str) -> Conversation:
        return self._send(ops.get_conversation(conversation_id))

    def update(
        self, conversation_id: str, data: dict[str, Any] | Any, *, idempotency_key: str | None = None
    ) -> Conversation:
        """Changes the status: `{"status": "closed"}`."""
        return self._send(ops.update_conversation(conversation_id, data, idempotency_key))

    def messages(self, conversation_id: str, **params: Any) -> Iterator[Message]:
        """All the conversation's messages, oldest first."""
        query = ops.list_all_params(params, "messages", cursor_paged=False)
        return _offset_items(self._send, lambda p: ops.list_messages(conversation_id, p), query)

    def messages_page(self, conversation_id: str, **params: Any) -> MessageList:
        """One page of messages (`limit`, `offset`)."""
        return self._send(ops.list_messages(conversation_id, ops.query(params)))

    def create_message(
        self, conversation_id: str, data: dict[str, Any] | Any, *, idempotency_key: str | None = None
    ) -> Message:
        """Adds a message: `{"direction": "outbound", "text": "Hi John"}`."""
        return self._send(ops.create_message(conversation_id, data, idempotency_key))


class Segments:
    """`client.segments`: saved contact filters, with their count and their contacts."""

    def __init__(self, transport: SyncTransport) -> None:
        self._send = transport.send

    def create(self, data: dict[str, Any] | Any, *, idempotency_key: str | None = None) -> Segment:
        """`{"name": "Premium", "filter": {"metadata.plan": "premium"}}`: filter values are strings."""
        return self._send(ops.create_segment(data, idempotency_key))

    def get(self, segment_id: str) -> Segment:
        return self._send(ops.get_segment(segment_id))

    def update(
        self, segment_id: str, data: dict[str, Any] | Any, *, idempotency_key: str | None = None
    ) -> Segment:
        """A new `name` and/or `filter` (replaced whole)."""
        return self._send(ops.update_segment(segment_id, data, idempotency_key))

    def delete(self, segment_id: str, *, idempotency_key: str | None = None) -> Segment:
        """Deletes the segment (not its contacts); answers it as it was."""
        return self._send(ops.delete_segment(segment_id, idempotency_key))

    def list(self, **params: Any) -> Iterator[Segment]:
        """All segments, oldest first, each with its current count."""
        query = ops.list_all_params(params, "list", cursor_paged=False)
        return _offset_items(self._send, ops.list_segments, query)

    def list_page(self, **params: Any) -> SegmentList:
        """One page of segments (`limit`, `offset`)."""
        return self._send(ops.list_segments(ops.query(params)))

    def contacts(self, segment_id: str, **params: Any) -> Iterator[Contact]:
        """Every contact the segment's filter matches now (`sort`, `limit` as page size)."""
        query = ops.list_all_params(params, "contacts", cursor_paged=True)
        return _cursor_items(self._send, lambda p: ops.list_segment_contacts(segment_id, p), query)

    def contacts_page(self, segment_id: str, **params: Any) -> ContactList:
        """One page of the segment's contacts (`sort`, `limit`, `offset`, `cursor`, `include_total`)."""
        return self._send(ops.list_segment_contacts(segment_id, ops.query(params)))


class EventFeed:
    """The change feed as an iterator of events, oldest first (`client.events.follow()` and
    `client.events.list()`).

    `cursor` is where to resume: every event before it has been handed out. It moves at the
    end of each page, so a reader that stops in the middle of a page and resumes from
    `cursor` sees the rest of that page again (at least once, never a gap)."""

    def __init__(
        self,
        send: Callable[[Call[Any]], Any],
        after: str | None,
        types: Iterable[str] | str | None,
        limit: int | None,
        wait: int | None,
        follow: bool,
    ) -> None:
        self._send = send
        self.cursor = after
        self._types, self._limit, self._wait, self._follow = types, limit, wait, follow
        self._items: Iterator[Event] = self._read()

    def _read(self) -> Iterator[Event]:
        while True:
            page = self._send(
                ops.list_events(ops.event_params(self.cursor, self._types, self._limit, self._wait))
            )
            yield from page.data
            self.cursor = page.next_cursor
            if not page.has_more and not self._follow:
                return

    def __iter__(self) -> EventFeed:
        return self

    def __next__(self) -> Event:
        return next(self._items)


class Events:
    """`client.events`: every change to contacts, conversations and messages, in the order
    the workspace committed them, resumable from a cursor."""

    def __init__(self, transport: SyncTransport) -> None:
        self._send = transport.send

    def list(
        self, *, after: str | None = None, types: Iterable[str] | str | None = None, limit: int | None = None
    ) -> EventFeed:
        """The events after `after` (from the oldest kept when left out) up to the newest
        now; `types` keeps only those types (`["contact.created", "contact.deleted"]`)."""
        return EventFeed(self._send, after, types, limit, None, follow=False)

    def follow(
        self,
        *,
        after: str | None = None,
        types: Iterable[str] | str | None = None,
        limit: int | None = None,
        wait: int = 30,
    ) -> EventFeed:
        """The events after `after`, then each new one as it comes, without end: an empty
        page waits up to `wait` seconds (0–30) on the server for the next event."""
        return EventFeed(self._send, after, types, limit, wait, follow=True)

    def list_page(
        self,
        *,
        after: str | None = None,
        types: Iterable[str] | str | None = None,
        limit: int | None = None,
        wait: int | None = None,
    ) -> EventList:
        """One page of the feed; its `next_cursor` is the `after` of the next."""
        return self._send(ops.list_events(ops.event_params(after, types, limit, wait)))


class Webhooks:
    """`client.webhooks`: endpoints that receive the events, signed as Standard Webhooks
    (check them with `verify_webhook_signature`), and their delivery log."""

    def __init__(self, transport: SyncTransport) -> None:
        self._send = transport.send

    def create(self, data: dict[str, Any] | Any, *, idempotency_key: str | None = None) -> Webhook:
        """`{"url": "https://…", "event_types": ["contact.created"]}`; the answer's `secret`
        is shown this once (and by `rotate_secret`)."""
        return self._send(ops.create_webhook(data, idempotency_key))

    def get(self, webhook_id: str) -> Webhook:
        return self._send(ops.get_webhook(webhook_id))

    def update(
        self, webhook_id: str, data: dict[str, Any] | Any, *, idempotency_key: str | None = None
    ) -> Webhook:
        """Changes `url`, `event_types`, `description` or `status` (`enabled`/`disabled`)."""
        return self._send(ops.update_webhook(webhook_id, data, idempotency_key))

    def delete(self, webhook_id: str, *, idempotency_key: str | None = None) -> Webhook:
        return self._send(ops.delete_webhook(webhook_id, idempotency_key))

    def list(self) -> Iterator[Webhook]:
        """Every endpoint of the workspace, oldest first."""
        return iter(self._send(ops.list_webhooks()).data)

    def rotate_secret(self, webhook_id: str, *, idempotency_key: str | None = None) -> Webhook:
        """A new secret (in the answer); the old one keeps signing alongside for 24 hours."""
        return self._send(ops.rotate_webhook_secret(webhook_id, idempotency_key))

    def deliveries(self, webhook_id: str, **params: Any) -> Iterator[Delivery]:
        """The endpoint's deliveries, newest first (`limit` as page size)."""
        query = ops.list_all_params(params, "deliveries", cursor_paged=False)
        return _cursor_items(self._send, lambda p: ops.list_webhook_deliveries(webhook_id, p), query)

    def deliveries_page(self, webhook_id: str, **params: Any) -> DeliveryList:
        """One page of deliveries (`limit`, `cursor`)."""
        return self._send(ops.list_webhook_deliveries(webhook_id, ops.query(params)))

    def retry_delivery(
        self, webhook_id: str, delivery_id: str, *, idempotency_key: str | None = None
    ) -> Delivery:
        """Makes the delivery due now, whatever its state (a failed one starts its retries
        again)."""
        return self._send(ops.retry_webhook_delivery(webhook_id, delivery_id, idempotency_key))


class Client:
    """A blocking contactd client.

    `Client(api_key=KEY, base_url=URL)`; without them, `CONTACTD_API_KEY` and
    `CONTACTD_URL` (then `http://127.0.0.1:8080`). 429 and 503 answers and failed
    connections are retried `max_retries` times (see the README). Close it, or use it as a
    context manager, to release its connections; an `http_client` passed in stays open.
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_backoff: float = 0.5,
        http_client: httpx.Client | None = None,
    ) -> None:
        self._transport = SyncTransport(api_key, base_url, timeout, max_retries, retry_backoff, http_client)
        self.base_url = self._transport.base_url
        self.contacts = Contacts(self._transport)
        self.merges = Merges(self._transport)
        self.duplicates = Duplicates(self._transport)
        self.conversations = Conversations(self._transport)
        self.segments = Segments(self._transport)
        self.events = Events(self._transport)
        self.webhooks = Webhooks(self._transport)

    def health(self) -> HealthStatus:
        """`GET /healthz`: the server process is up."""
        return self._transport.send(ops.check_health())

    def ready(self) -> HealthStatus:
        """`GET /readyz`: the server reaches its database (`UnavailableError` when not)."""
        return self._transport.send(ops.check_readiness())

    def metrics(self, token: str | None = None) -> str:
        """`GET /metrics` in Prometheus' text format; `token` when the server requires one."""
        return self._transport.send(ops.get_metrics(token))

    def openapi(self) -> dict[str, Any]:
        """The server's OpenAPI document."""
        return self._transport.send(ops.get_openapi())

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
