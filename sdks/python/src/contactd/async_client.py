"""`AsyncClient`: the asyncio twin of `Client`, method for method.

Each method is a coroutine; the list methods without `_page` are async iterators
(`async for contact in client.contacts.list(...)`). The behaviour of each method is
described on its `Client` counterpart.
"""

from __future__ import annotations

from typing import Any, AsyncIterator, Awaitable, Callable, Iterable

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
from ._transport import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, AsyncTransport, Call

Params = list[tuple[str, str]]
Send = Callable[[Call[Any]], Awaitable[Any]]


async def _cursor_items(
    send: Send, page_call: Callable[[Params], Call[Any]], params: Params
) -> AsyncIterator[Any]:
    cursor = None
    while True:
        page = await send(page_call(ops.cursor_params(params, cursor)))
        for item in page.data:
            yield item
        if not page.has_more or not page.next_cursor:
            return
        cursor = page.next_cursor


async def _offset_items(
    send: Send, page_call: Callable[[Params], Call[Any]], params: Params
) -> AsyncIterator[Any]:
    offset = 0
    while True:
        page = await send(page_call(ops.offset_params(params, offset)))
        for item in page.data:
            yield item
        if not page.has_more or not page.data:
            return
        offset += len(page.data)


class AsyncContacts:
    """`client.contacts` of an `AsyncClient`; see `contactd.client.Contacts`."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._send = transport.send

    async def get(self, ref: str) -> Contact:
        return await self._send(ops.get_contact(ref))

    async def create(self, data: dict[str, Any] | Any, *, idempotency_key: str | None = None) -> Contact:
        return await self._send(ops.create_contact(data, idempotency_key))

    async def update(
        self,
        ref: str,
        data: dict[str, Any] | Any,
        if_match: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Contact:
        return await self._send(ops.update_contact(ref, data, if_match, idempotency_key))

    async def delete(
        self, ref: str, if_match: str | None = None, *, idempotency_key: str | None = None
    ) -> Contact:
        return await self._send(ops.delete_contact(ref, if_match, idempotency_key))

    def list(self, **filters: Any) -> AsyncIterator[Contact]:
        params = ops.list_all_params(filters, "list", cursor_paged=True)
        return _cursor_items(self._send, ops.list_contacts, params)

    async def list_page(self, **params: Any) -> ContactList:
        return await self._send(ops.list_contacts(ops.query(params)))

    async def count(self, **filters: Any) -> int:
        return await self._send(ops.count_contacts(ops.query(filters)))

    async def upsert(self, data: dict[str, Any] | Any, *, idempotency_key: str | None = None) -> Upserted:
        return await self._send(ops.upsert_contact(data, idempotency_key))

    async def batch(
        self,
        contacts: Iterable[dict[str, Any] | Any],
        mode: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> BatchResponse:
        return await self._send(ops.batch_contacts(contacts, mode, idempotency_key))

    def conversations(self, ref: str, **filters: Any) -> AsyncIterator[Conversation]:
        params = ops.list_all_params(filters, "conversations", cursor_paged=False)
        return _offset_items(self._send, lambda p: ops.list_contact_conversations(ref, p), params)

    async def conversations_page(self, ref: str, **params: Any) -> ConversationList:
        return await self._send(ops.list_contact_conversations(ref, ops.query(params)))

    async def add_identity(
        self,
        ref: str,
        identity: dict[str, str] | Identity | str,
        if_match: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Contact:
        return await self._send(ops.add_identity(ref, identity, if_match, idempotency_key))

    async def remove_identity(
        self,
        ref: str,
        identity: dict[str, str] | Identity | str,
        if_match: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Contact:
        return await self._send(ops.remove_identity(ref, identity, if_match, idempotency_key))

    async def merge(
        self,
        ref: str,
        source: str,
        *,
        dry_run: bool = False,
        if_match: str | None = None,
        idempotency_key: str | None = None,
    ) -> MergeResult:
        return await self._send(ops.merge_contacts(ref, source, dry_run, if_match, idempotency_key))

    async def merges(self, ref: str) -> AsyncIterator[Merge]:
        for merge in (await self._send(ops.list_contact_merges(ref))).data:
            yield merge

    async def duplicates(self, ref: str) -> AsyncIterator[DuplicateCandidate]:
        for candidate in (await self._send(ops.list_contact_duplicates(ref))).data:
            yield candidate


class AsyncMerges:
    """`client.merges` of an `AsyncClient`; see `contactd.client.Merges`."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._send = transport.send

    async def undo(self, merge_id: str, *, idempotency_key: str | None = None) -> UndoResult:
        return await self._send(ops.undo_merge(merge_id, idempotency_key))


class AsyncDuplicates:
    """`client.duplicates` of an `AsyncClient`; see `contactd.client.Duplicates`."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._send = transport.send

    def list(self, **params: Any) -> AsyncIterator[DuplicatePair]:
        query = ops.list_all_params(params, "list", cursor_paged=False)
        return _cursor_items(self._send, ops.list_duplicates, query)

    async def list_page(self, **params: Any) -> DuplicatePairList:
        return await self._send(ops.list_duplicates(ops.query(params)))


class AsyncConversations:
    """`client.conversations` of an `AsyncClient`; see `contactd.client.Conversations`."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._send = transport.send

    async def create(self, data: dict[str, Any] | Any, *, idempotency_key: str | None = None) -> Conversation:
        return await self._send(ops.create_conversation(data, idempotency_key))

    async def get(self, conversation_id: str) -> Conversation:
        return await self._send(ops.get_conversation(conversation_id))

    async def update(
        self, conversation_id: str, data: dict[str, Any] | Any, *, idempotency_key: str | None = None
    ) -> Conversation:
        return await self._send(ops.update_conversation(conversation_id, data, idempotency_key))

    def messages(self, conversation_id: str, **params: Any) -> AsyncIterator[Message]:
        query = ops.list_all_params(params, "messages", cursor_paged=False)
        return _offset_items(self._send, lambda p: ops.list_messages(conversation_id, p), query)

    async def messages_page(self, conversation_id: str, **params: Any) -> MessageList:
        return await self._send(ops.list_messages(conversation_id, ops.query(params)))

    async def create_message(
        self, conversation_id: str, data: dict[str, Any] | Any, *, idempotency_key: str | None = None
    ) -> Message:
        return await self._send(ops.create_message(conversation_id, data, idempotency_key))


class AsyncSegments:
    """`client.segments` of an `AsyncClient`; see `contactd.client.Segments`."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._send = transport.send

    async def create(self, data: dict[str, Any] | Any, *, idempotency_key: str | None = None) -> Segment:
        return await self._send(ops.create_segment(data, idempotency_key))

    async def get(self, segment_id: str) -> Segment:
        return await self._send(ops.get_segment(segment_id))

    async def update(
        self, segment_id: str, data: dict[str, Any] | Any, *, idempotency_key: str | None = None
    ) -> Segment:
        return await self._send(ops.update_segment(segment_id, data, idempotency_key))

    async def delete(self, segment_id: str, *, idempotency_key: str | None = None) -> Segment:
        return await self._send(ops.delete_segment(segment_id, idempotency_key))

    def list(self, **params: Any) -> AsyncIterator[Segment]:
        query = ops.list_all_params(params, "list", cursor_paged=False)
        return _offset_items(self._send, ops.list_segments, query)

    async def list_page(self, **params: Any) -> SegmentList:
        return await self._send(ops.list_segments(ops.query(params)))

    def contacts(self, segment_id: str, **params: Any) -> AsyncIterator[Contact]:
        query = ops.list_all_params(params, "contacts", cursor_paged=True)
        return _cursor_items(self._send, lambda p: ops.list_segment_contacts(segment_id, p), query)

    async def contacts_page(self, segment_id: str, **params: Any) -> ContactList:
        return await self._send(ops.list_segment_contacts(segment_id, ops.query(params)))


class AsyncEventFeed:
    """The change feed as an async iterator of events; see `contactd.client.EventFeed`."""

    def __init__(
        self,
        send: Send,
        after: str | None,
        types: Iterable[str] | str | None,
        limit: int | None,
        wait: int | None,
        follow: bool,
    ) -> None:
        self._send = send
        self.cursor = after
        self._types, self._limit, self._wait, self._follow = types, limit, wait, follow
        self._items: AsyncIterator[Event] = self._read()

    async def _read(self) -> AsyncIterator[Event]:
        while True:
            params = ops.event_params(self.cursor, self._types, self._limit, self._wait)
            page = await self._send(ops.list_events(params))
            for event in page.data:
                yield event
            self.cursor = page.next_cursor
            if not page.has_more and not self._follow:
                return

    def __aiter__(self) -> AsyncEventFeed:
        return self

    async def __anext__(self) -> Event:
        return await self._items.__anext__()


class AsyncEvents:
    """`client.events` of an `AsyncClient`; see `contactd.client.Events`."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._send = transport.send

    def list(
        self, *, after: str | None = None, types: Iterable[str] | str | None = None, limit: int | None = None
    ) -> AsyncEventFeed:
        return AsyncEventFeed(self._send, after, types, limit, None, follow=False)

    def follow(
        self,
        *,
        after: str | None = None,
        types: Iterable[str] | str | None = None,
        limit: int | None = None,
        wait: int = 30,
    ) -> AsyncEventFeed:
        return AsyncEventFeed(self._send, after, types, limit, wait, follow=True)

    async def list_page(
        self,
        *,
        after: str | None = None,
        types: Iterable[str] | str | None = None,
        limit: int | None = None,
        wait: int | None = None,
    ) -> EventList:
        return await self._send(ops.list_events(ops.event_params(after, types, limit, wait)))


class AsyncWebhooks:
    """`client.webhooks` of an `AsyncClient`; see `contactd.client.Webhooks`."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._send = transport.send

    async def create(self, data: dict[str, Any] | Any, *, idempotency_key: str | None = None) -> Webhook:
        return await self._send(ops.create_webhook(data, idempotency_key))

    async def get(self, webhook_id: str) -> Webhook:
        return await self._send(ops.get_webhook(webhook_id))

    async def update(
        self, webhook_id: str, data: dict[str, Any] | Any, *, idempotency_key: str | None = None
    ) -> Webhook:
        return await self._send(ops.update_webhook(webhook_id, data, idempotency_key))

    async def delete(self, webhook_id: str, *, idempotency_key: str | None = None) -> Webhook:
        return await self._send(ops.delete_webhook(webhook_id, idempotency_key))

    async def list(self) -> AsyncIterator[Webhook]:
        for webhook in (await self._send(ops.list_webhooks())).data:
            yield webhook

    async def rotate_secret(self, webhook_id: str, *, idempotency_key: str | None = None) -> Webhook:
        return await self._send(ops.rotate_webhook_secret(webhook_id, idempotency_key))

    def deliveries(self, webhook_id: str, **params: Any) -> AsyncIterator[Delivery]:
        query = ops.list_all_params(params, "deliveries", cursor_paged=False)
        return _cursor_items(self._send, lambda p: ops.list_webhook_deliveries(webhook_id, p), query)

    async def deliveries_page(self, webhook_id: str, **params: Any) -> DeliveryList:
        return await self._send(ops.list_webhook_deliveries(webhook_id, ops.query(params)))

    async def retry_delivery(
        self, webhook_id: str, delivery_id: str, *, idempotency_key: str | None = None
    ) -> Delivery:
        return await self._send(ops.retry_webhook_delivery(webhook_id, delivery_id, idempotency_key))


class AsyncClient:
    """An asyncio contactd client; arguments as for `Client`. Use `async with`, or
    `await client.close()`."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_backoff: float = 0.5,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._transport = AsyncTransport(api_key, base_url, timeout, max_retries, retry_backoff, http_client)
        self.base_url = self._transport.base_url
        self.contacts = AsyncContacts(self._transport)
        self.merges = AsyncMerges(self._transport)
        self.duplicates = AsyncDuplicates(self._transport)
        self.conversations = AsyncConversations(self._transport)
        self.segments = AsyncSegments(self._transport)
        self.events = AsyncEvents(self._transport)
        self.webhooks = AsyncWebhooks(self._transport)

    async def health(self) -> HealthStatus:
        return await self._transport.send(ops.check_health())

    async def ready(self) -> HealthStatus:
        return await self._transport.send(ops.check_readiness())

    async def metrics(self, token: str | None = None) -> str:
        return await self._transport.send(ops.get_metrics(token))

    async def openapi(self) -> dict[str, Any]:
        return await self._transport.send(ops.get_openapi())

    async def close(self) -> None:
        await self._transport.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
