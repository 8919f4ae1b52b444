"""Every operation of docs/openapi.json as a `Call`: its method, path, query, body and
the generated model its answer is read into. The blocking and asyncio clients both send
these, so each operation is written once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Literal, Mapping, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from ._base import ApiModel
from ._generated import (
    BatchResponse,
    Contact,
    ContactCount,
    ContactList,
    Conversation,
    ConversationList,
    Delivery,
    DeliveryList,
    DuplicateCandidateList,
    DuplicatePairList,
    EventList,
    HealthStatus,
    Identity,
    MergeList,
    MergeResult,
    Message,
    MessageList,
    Segment,
    SegmentList,
    UndoResult,
    Webhook,
    WebhookList,
)
from ._transport import Call

M = TypeVar("M", bound=ApiModel)


@dataclass(frozen=True)
class Upserted:
    """The answer of an upsert: the contact, and whether it was created, updated or unchanged."""

    contact: Contact
    result: Literal["created", "updated", "unchanged"]

    @property
    def created(self) -> bool:
        return self.result == "created"


# Paths ---------------------------------------------------------------------------------


def _segment(value: str, what: str) -> str:
    """One path segment: `+` becomes `%2B` and `/` `%2F`, so a ref stays one segment."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string, not {value!r}")
    return quote(value, safe="@")


def _contact(ref: str, suffix: str = "") -> str:
    return f"/v2/contact/{_segment(ref, 'ref')}{suffix}"


def _conversation(conversation_id: str, suffix: str = "") -> str:
    return f"/v2/conversation/{_segment(conversation_id, 'conversation_id')}{suffix}"


def _merge_path(merge_id: str, suffix: str = "") -> str:
    return f"/v2/merge/{_segment(merge_id, 'merge_id')}{suffix}"


def _segment_path(segment_id: str, suffix: str = "") -> str:
    return f"/v2/segment/{_segment(segment_id, 'segment_id')}{suffix}"


def _webhook_path(webhook_id: str, suffix: str = "") -> str:
    return f"/v2/webhook/{_segment(webhook_id, 'webhook_id')}{suffix}"


# Bodies and queries --------------------------------------------------------------------


def body(value: Any) -> Any:
    """A request body as JSON: a dict as given, a model with only the fields set on it."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return to_jsonable_python(value)


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def query(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Query parameters: `None` is left out, booleans are `true`/`false`, and the members of
    `metadata={...}` become metadata filters (`{"plan": "premium"}` → `metadata.plan=premium`,
    `{"score[gte]": 5}` → `metadata.score[gte]=5`). Other names pass as they are, so a
    parameter written `**{"metadata.plan": "premium"}` works too."""
    pairs: list[tuple[str, str]] = []
    for name, value in params.items():
        if value is None:
            continue
        if name == "metadata":
            if not isinstance(value, Mapping):
                raise TypeError("metadata= takes a dict of filters, e.g. {'plan': 'premium'}")
            pairs.extend((f"metadata.{path}", _query_value(v)) for path, v in value.items())
        else:
            pairs.append((name, _query_value(value)))
    return pairs


def identity_ref(identity: Any) -> str:
    """An identity in its ref form, `TYPE:VALUE`: given so, or as `{"type", "value"}` (a
    dict or an `Identity`)."""
    if isinstance(identity, str):
        return identity
    if isinstance(identity, Identity):
        return f"{identity.type}:{identity.value}"
    if isinstance(identity, Mapping) and {"type", "value"} <= identity.keys():
        return f"{identity['type']}:{identity['value']}"
    raise TypeError(f"an identity is 'TYPE:VALUE' or {{'type': ..., 'value': ...}}, not {identity!r}")


def identity_body(identity: Any) -> Any:
    """An identity as the body of an add: `{"type", "value"}`; `TYPE:VALUE` is split at its
    first colon."""
    if isinstance(identity, str):
        kind, colon, value = identity.partition(":")
        if not colon:
            raise ValueError(
                f"an identity ref is TYPE:VALUE, e.g. 'instagram:17841400000000001', not {identity!r}"
            )
        return {"type": kind, "value": value}
    return body(identity)


def _headers(if_match: str | None = None) -> dict[str, str]:
    return {"If-Match": if_match} if if_match is not None else {}


# Reading answers -----------------------------------------------------------------------


def _model(cls: type[M]):
    def parse(response: httpx.Response) -> M:
        model = cls.model_validate(response.json())
        model._etag = response.headers.get("etag")
        return model

    return parse


def _count(response: httpx.Response) -> int:
    return ContactCount.model_validate(response.json()).total


def _upserted(response: httpx.Response) -> Upserted:
    contact = _model(Contact)(response)
    result = response.headers.get("x-upsert-result") or (
        "created" if response.status_code == 201 else "updated"
    )
    return Upserted(contact=contact, result=result)  # type: ignore[arg-type]


def _text(response: httpx.Response) -> str:
    return response.text


def _json(response: httpx.Response) -> Any:
    return response.json()


# Contacts ------------------------------------------------------------------------------


def create_contact(data: Any, idempotency_key: str | None) -> Call[Contact]:
    return Call("POST", "/v2/contact", _model(Contact), json=body(data), idempotency_key=idempotency_key)


def get_contact(ref: str) -> Call[Contact]:
    return Call("GET", _contact(ref), _model(Contact))


def update_contact(ref: str, data: Any, if_match: str | None, idempotency_key: str | None) -> Call[Contact]:
    return Call(
        "PUT",
        _contact(ref),
        _model(Contact),
        json=body(data),
        headers=_headers(if_match),
        idempotency_key=idempotency_key,
    )


def delete_contact(ref: str, if_match: str | None, idempotency_key: str | None) -> Call[Contact]:
    return Call(
        "DELETE", _contact(ref), _model(Contact), headers=_headers(if_match), idempotency_key=idempotency_key
    )


def list_contacts(params: list[tuple[str, str]]) -> Call[ContactList]:
    return Call("GET", "/v2/contact", _model(ContactList), params=params)


def count_contacts(params: list[tuple[str, str]]) -> Call[int]:
    return Call("GET", "/v2/contact/count", _count, params=params)


def upsert_contact(data: Any, idempotency_key: str | None) -> Call[Upserted]:
    return Call("POST", "/v2/contact/upsert", _upserted, json=body(data), idempotency_key=idempotency_key)


def batch_contacts(
    contacts: Iterable[Any], mode: str | None, idempotency_key: str | None
) -> Call[BatchResponse]:
    payload: dict[str, Any] = {"contacts": [body(c) for c in contacts]}
    if mode is not None:
        payload["mode"] = mode
    return Call(
        "POST", "/v2/contact/batch", _model(BatchResponse), json=payload, idempotency_key=idempotency_key
    )


def list_contact_conversations(ref: str, params: list[tuple[str, str]]) -> Call[ConversationList]:
    return Call("GET", _contact(ref, "/conversations"), _model(ConversationList), params=params)


def add_identity(ref: str, identity: Any, if_match: str | None, idempotency_key: str | None) -> Call[Contact]:
    return Call(
        "POST",
        _contact(ref, "/identities"),
        _model(Contact),
        json=identity_body(identity),
        headers=_headers(if_match),
        idempotency_key=idempotency_key,
    )


def remove_identity(
    ref: str, identity: Any, if_match: str | None, idempotency_key: str | None
) -> Call[Contact]:
    path = _contact(ref, f"/identities/{_segment(identity_ref(identity), 'identity')}")
    return Call("DELETE", path, _model(Contact), headers=_headers(if_match), idempotency_key=idempotency_key)


# Merges --------------------------------------------------------------------------------


def merge_contacts(
    ref: str, source: str, dry_run: bool, if_match: str | None, idempotency_key: str | None
) -> Call[MergeResult]:
    payload: dict[str, Any] = {"source": source}
    if dry_run:
        payload["dry_run"] = True
    return Call(
        "POST",
        _contact(ref, "/merge"),
        _model(MergeResult),
        json=payload,
        headers=_headers(if_match),
        idempotency_key=idempotency_key,
    )


def list_contact_merges(ref: str) -> Call[MergeList]:
    return Call("GET", _contact(ref, "/merges"), _model(MergeList))


def undo_merge(merge_id: str, idempotency_key: str | None) -> Call[UndoResult]:
    return Call("POST", _merge_path(merge_id, "/undo"), _model(UndoResult), idempotency_key=idempotency_key)


# Duplicates ----------------------------------------------------------------------------


def list_contact_duplicates(ref: str) -> Call[DuplicateCandidateList]:
    return Call("GET", _contact(ref, "/duplicates"), _model(DuplicateCandidateList))


def list_duplicates(params: list[tuple[str, str]]) -> Call[DuplicatePairList]:
    return Call("GET", "/v2/duplicates", _model(DuplicatePairList), params=params)


# Conversations and messages ------------------------------------------------------------


def create_conversation(data: Any, idempotency_key: str | None) -> Call[Conversation]:
    return Call(
        "POST", "/v2/conversation", _model(Conversation), json=body(data), idempotency_key=idempotency_key
    )


def get_conversation(conversation_id: str) -> Call[Conversation]:
    return Call("GET", _conversation(conversation_id), _model(Conversation))


def update_conversation(conversation_id: str, data: Any, idempotency_key: str | None) -> Call[Conversation]:
    return Call(
        "PUT",
        _conversation(conversation_id),
        _model(Conversation),
        json=body(data),
        idempotency_key=idempotency_key,
    )


def list_messages(conversation_id: str, params: list[tuple[str, str]]) -> Call[MessageList]:
    return Call("GET", _conversation(conversation_id, "/messages"), _model(MessageList), params=params)


def create_message(conversation_id: str, data: Any, idempotency_key: str | None) -> Call[Message]:
    return Call(
        "POST",
        _conversation(conversation_id, "/messages"),
        _model(Message),
        json=body(data),
        idempotency_key=idempotency_key,
    )


# Segments ------------------------------------------------------------------------------


def create_segment(data: Any, idempotency_key: str | None) -> Call[Segment]:
    return Call("POST", "/v2/segment", _model(Segment), json=body(data), idempotency_key=idempotency_key)


def list_segments(params: list[tuple[str, str]]) -> Call[SegmentList]:
    return Call("GET", "/v2/segment", _model(SegmentList), params=params)


def get_segment(segment_id: str) -> Call[Segment]:
    return Call("GET", _segment_path(segment_id), _model(Segment))


def update_segment(segment_id: str, data: Any, idempotency_key: str | None) -> Call[Segment]:
    return Call(
        "PUT", _segment_path(segment_id), _model(Segment), json=body(data), idempotency_key=idempotency_key
    )


def delete_segment(segment_id: str, idempotency_key: str | None) -> Call[Segment]:
    return Call("DELETE", _segment_path(segment_id), _model(Segment), idempotency_key=idempotency_key)


def list_segment_contacts(segment_id: str, params: list[tuple[str, str]]) -> Call[ContactList]:
    return Call("GET", _segment_path(segment_id, "/contacts"), _model(ContactList), params=params)


# Events and webhooks -------------------------------------------------------------------


def list_events(params: list[tuple[str, str]]) -> Call[EventList]:
    return Call("GET", "/v2/events", _model(EventList), params=params)


def event_params(
    after: str | None, types: Iterable[str] | str | None, limit: int | None, wait: int | None
) -> list[tuple[str, str]]:
    """The feed's query: `types` as a list or a comma-separated string."""
    if types is not None and not isinstance(types, str):
        types = ",".join(types)
    return query({"after": after, "types": types, "limit": limit, "wait": wait})


def create_webhook(data: Any, idempotency_key: str | None) -> Call[Webhook]:
    return Call("POST", "/v2/webhook", _model(Webhook), json=body(data), idempotency_key=idempotency_key)


def list_webhooks() -> Call[WebhookList]:
    return Call("GET", "/v2/webhook", _model(WebhookList))


def get_webhook(webhook_id: str) -> Call[Webhook]:
    return Call("GET", _webhook_path(webhook_id), _model(Webhook))


def update_webhook(webhook_id: str, data: Any, idempotency_key: str | None) -> Call[Webhook]:
    return Call(
        "PUT", _webhook_path(webhook_id), _model(Webhook), json=body(data), idempotency_key=idempotency_key
    )


def delete_webhook(webhook_id: str, idempotency_key: str | None) -> Call[Webhook]:
    return Call("DELETE", _webhook_path(webhook_id), _model(Webhook), idempotency_key=idempotency_key)


def rotate_webhook_secret(webhook_id: str, idempotency_key: str | None) -> Call[Webhook]:
    return Call(
        "POST", _webhook_path(webhook_id, "/rotate-secret"), _model(Webhook), idempotency_key=idempotency_key
    )


def list_webhook_deliveries(webhook_id: str, params: list[tuple[str, str]]) -> Call[DeliveryList]:
    return Call("GET", _webhook_path(webhook_id, "/deliveries"), _model(DeliveryList), params=params)


def retry_webhook_delivery(webhook_id: str, delivery_id: str, idempotency_key: str | None) -> Call[Delivery]:
    path = _webhook_path(webhook_id, f"/deliveries/{_segment(delivery_id, 'delivery_id')}/retry")
    return Call("POST", path, _model(Delivery), idempotency_key=idempotency_key)


# Service -------------------------------------------------------------------------------


def check_health() -> Call[HealthStatus]:
    return Call("GET", "/healthz", _model(HealthStatus))


def check_readiness() -> Call[HealthStatus]:
    return Call("GET", "/readyz", _model(HealthStatus))


def get_metrics(token: str | None) -> Call[str]:
    headers = (
        {"Authorization": f"Bearer {token}", "Accept": "text/plain"} if token else {"Accept": "text/plain"}
    )
    return Call("GET", "/metrics", _text, headers=headers)


def get_openapi() -> Call[dict[str, Any]]:
    return Call("GET", "/v2/openapi.json", _json)


# Paging --------------------------------------------------------------------------------


def cursor_params(params: list[tuple[str, str]], cursor: str | None) -> list[tuple[str, str]]:
    return params + [("cursor", cursor)] if cursor else params


def offset_params(params: list[tuple[str, str]], offset: int) -> list[tuple[str, str]]:
    return params + [("offset", str(offset))] if offset else params


def list_all_params(filters: Mapping[str, Any], method: str, *, cursor_paged: bool) -> list[tuple[str, str]]:
    """The query of a list that reads all its pages: 100 items a page unless `limit` says
    otherwise, and, for cursor pages, without the `total` that nobody reads here."""
    if "offset" in filters or "cursor" in filters:
        raise TypeError(
            f"{method}() reads every page itself; for one page use {method}_page(offset=... or cursor=...)"
        )
    defaults: dict[str, Any] = {"limit": 100}
    if cursor_paged:
        defaults["include_total"] = False
    return query({**defaults, **filters})
