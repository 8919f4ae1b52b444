# Generated from docs/openapi.json by datamodel-codegen. Do not edit:
# run sdks/python/generate (sdks/python/generate --check tells whether it is current).

from __future__ import annotations

from typing import Any, Literal

from contactd._base import ApiModel
from pydantic import AwareDatetime, ConfigDict, Field, RootModel


class ContactCount(ApiModel):
    """
    `GET /v2/contact/count`: `{"total": 42}`.
    """

    total: int = Field(..., examples=[42], ge=0)
    """
    Contacts matching the filters, exactly.
    """


class ContactRef1(RootModel[str]):
    root: str = Field(
        ...,
        examples=["cnt_038ggac0fy000a0wp1kh1adwpwetq", "+14155550123", "john@example.com"],
        max_length=68,
        pattern="^cnt_[0-9a-z]+$",
        title="id",
    )
    """
    A contact id
    """


class ContactRef2(RootModel[str]):
    root: str = Field(
        ...,
        examples=["cnt_038ggac0fy000a0wp1kh1adwpwetq", "+14155550123", "john@example.com"],
        pattern="^\\+[1-9][0-9]{1,14}$",
        title="phone",
    )
    """
    A phone in E.164 form; send `+` as `%2B` (a literal `+` works too)
    """


class ContactRef3(RootModel[str]):
    root: str = Field(
        ...,
        examples=["cnt_038ggac0fy000a0wp1kh1adwpwetq", "+14155550123", "john@example.com"],
        max_length=254,
        pattern="@",
        title="email",
    )
    """
    An email, matched case-insensitively
    """


class ContactRef4(RootModel[str]):
    root: str = Field(
        ...,
        examples=["cnt_038ggac0fy000a0wp1kh1adwpwetq", "+14155550123", "john@example.com"],
        pattern="^(phone|email|whatsapp|instagram|messenger|telegram|external):.+$",
        title="identity",
    )
    """
    An identity, `TYPE:VALUE` (`instagram:17841400000000001`, `whatsapp:+14155550123`)
    """


ContactSort = RootModel[
    Literal[
        "created_at",
        "-created_at",
        "updated_at",
        "-updated_at",
        "last_contacted",
        "-last_contacted",
        "full_name",
        "-full_name",
    ]
]
"""
The order of a contact list: a field, ascending, or with `-` in front, descending. Ties are broken by id in the same direction; null values sort after all others in ascending order and first in descending order; `full_name` sorts case-insensitively.
"""


class ConversationUpdate(ApiModel):
    """
    `PUT /v2/conversation/{conversation_id}`: only the status can change.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    status: Literal["open", "closed", "archived"] | None = None
    """
    The new status; cannot be null.
    """


class Delivery(ApiModel):
    """
    One event on its way to one endpoint, with its last attempt.
    """

    id: str = Field(..., examples=["dlv_038ggac0fy000a0wp1kh1adwpwetq"])
    """
    `dlv_` and lowercase letters and digits.
    """
    event_id: str
    """
    The event delivered.
    """
    event_type: str
    """
    Its type.
    """
    sequence: int
    """
    Its sequence.
    """
    state: str = Field(..., examples=["succeeded"])
    """
    `pending` (waiting for its next attempt), `succeeded` or `failed` (retries ran out).
    """
    attempt: int = Field(..., ge=0)
    """
    Attempts made so far.
    """
    attempted_at: AwareDatetime | None
    """
    When the last attempt was made; null before the first.
    """
    response_status: int | None = Field(..., examples=[200], ge=0)
    """
    The HTTP status the endpoint answered; null when it did not answer.
    """
    error: str | None
    """
    Why the last attempt failed, when it did.
    """
    response_body: str | None
    """
    The first 1 KB of the endpoint's answer.
    """
    latency_ms: int | None = Field(..., examples=[42], ge=0)
    """
    How long the last attempt took, in milliseconds.
    """
    next_attempt_at: AwareDatetime | None
    """
    When the next attempt is due; null when none is.
    """
    created_at: AwareDatetime
    """
    When the delivery was queued.
    """


class DeliveryList(ApiModel):
    """
    A page of an endpoint's deliveries, newest first.
    """

    data: list[Delivery]
    """
    The deliveries, newest first.
    """
    has_more: bool
    """
    Whether older deliveries follow.
    """
    next_cursor: str | None
    """
    The `cursor` of the next page; null on the last page.
    """


class DuplicatePair(ApiModel):
    """
    Two contacts suggested as one person; `a` sorts before `b`.
    """

    a: str
    """
    A contact id.
    """
    b: str
    """
    The other contact's id.
    """
    score: float
    """
    0 to 1: how sure the suggestion is; reasons add up.
    """
    reasons: list[str]
    """
    `email_normalized`, `identity_overlap`, `name_and_email_domain`, `name_similar`.
    """


class DuplicatePairList(ApiModel):
    """
    A page of the tenant's duplicate pairs, in the order of their ids.
    """

    data: list[DuplicatePair]
    """
    The pairs.
    """
    limit: int = Field(..., ge=0)
    """
    The page size.
    """
    has_more: bool
    """
    Whether more pairs follow.
    """
    next_cursor: str | None
    """
    Pass as `cursor` for the next page; null on the last.
    """


class ErrorDetails(ApiModel):
    """
    The members `details` can have; which ones depends on `error`.
    """

    field: str | None = None
    """
    `invalid_input`: the field (dotted for nested, e.g. `metadata`, `ref`, a query
    parameter, `contacts[3]`); `duplicate_contact`: `phone` or `email` (`id` for a
    restore).
    """
    received: Any | None = None
    """
    `invalid_input`: the value received, shortened when long.
    """
    expected: Any | None = None
    """
    `invalid_input`: what would have been accepted, a corrected value (the E.164 form
    of a phone) or a description.
    """
    existing_contact_id: str | None = Field(None, pattern="^cnt_[0-9a-z]+$")
    """
    `duplicate_contact`: the contact that holds the phone or email.
    """
    phone_contact_id: str | None = Field(None, pattern="^cnt_[0-9a-z]+$")
    """
    `duplicate_contact` of an upsert: the contact the phone belongs to.
    """
    email_contact_id: str | None = Field(None, pattern="^cnt_[0-9a-z]+$")
    """
    `duplicate_contact` of an upsert: the contact the email belongs to.
    """
    current_etag: str | None = None
    """
    `precondition_failed`: the contact's current `ETag`.
    """
    limit_bytes: int | None = Field(None, ge=0)
    """
    `payload_too_large`: the body limit in bytes.
    """
    retry_after: int | None = Field(None, ge=0)
    """
    `rate_limited`: seconds to wait, as in `Retry-After`.
    """


class Event(ApiModel):
    """
    A change, as the feed serves it and webhooks deliver it.
    """

    id: str = Field(..., examples=["evt_038ggac0fy000a0wp1kh1adwpwetq"])
    """
    `evt_` and lowercase letters and digits; the `webhook-id` of its deliveries.
    """
    type: str = Field(..., examples=["contact.updated"])
    """
    `contact.created`, `contact.updated`, `contact.deleted`, `contact.merged`,
    `conversation.created`, `conversation.updated` or `message.created`.
    """
    sequence: int = Field(..., examples=[1042])
    """
    The event's place in its workspace and mode: grows by commit order.
    """
    created_at: AwareDatetime = Field(..., examples=["2026-01-25T10:30:00.000000Z"])
    """
    When the change was made.
    """
    data: dict[str, Any]
    """
    `object` (the contact, conversation or message after the change; ids only once its
    contact is erased), and for updates `changed_fields` and `previous`.
    """


class EventList(ApiModel):
    """
    A page of the feed, oldest first.
    """

    data: list[Event]
    """
    The events after the cursor, oldest first.
    """
    next_cursor: str
    """
    The `after` of the next request; never null, also when no event came.
    """
    has_more: bool
    """
    Whether more events follow right away.
    """


class HealthStatus(ApiModel):
    """
    `{"status": "ok"}` or `{"status": "ready"}`.
    """

    status: str


class Identity(ApiModel):
    """
    One way a contact is known on a channel: `{"type": "instagram", "value": "17841400000000001"}`.
    `phone` and `whatsapp` values are E.164, `email` values addresses, the others 1–128
    printable characters without spaces. Unique per workspace, mode and type; `phone` and
    `email` identities share their uniqueness with the primary `phone` and `email`. Its ref
    form is `TYPE:VALUE`.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    type: str = Field(..., examples=["instagram"])
    """
    `phone`, `email`, `whatsapp`, `instagram`, `messenger`, `telegram` or `external`.
    """
    value: str = Field(..., examples=["17841400000000001"])
    """
    The identifier on that channel.
    """


class MergeMoved(ApiModel):
    """
    What a merge moved from the source to the target.
    """

    conversations: int = Field(..., ge=0)
    """
    Conversations moved.
    """
    messages: int = Field(..., ge=0)
    """
    Messages in them.
    """


class MergeRequest(ApiModel):
    """
    The body of `POST /v2/contact/{ref}/merge`: the contact to fold into the one the path
    names.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    source: str
    """
    The source: any contact ref (id, phone, email, `TYPE:VALUE`).
    """
    dry_run: bool | None = None
    """
    Answer what the merge would do, and change nothing. `false` unless sent.
    """


class Message(ApiModel):
    """
    A message of a conversation.
    """

    id: str = Field(
        ..., examples=["msg_038ggac0fy000c3m5p8r1vwx7yzb"], pattern="^msg_[0-9a-z]+$"
    )
    """
    `msg_` and lowercase letters and digits.
    """
    conversation_id: str = Field(
        ..., examples=["conv_038ggac0fy000b7n2k4t9qzdx1mr"], pattern="^conv_[0-9a-z]+$"
    )
    """
    The conversation's id.
    """
    direction: Literal["inbound", "outbound"]
    """
    `inbound` or `outbound`.
    """
    text: str = Field(..., examples=["Hi John"])
    """
    The text.
    """
    created_at: AwareDatetime = Field(..., examples=["2026-01-25T10:30:00.000000Z"])
    """
    When the message was created.
    """


class MessageCreate(ApiModel):
    """
    `POST /v2/conversation/{conversation_id}/messages`.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    direction: Literal["inbound", "outbound"]
    """
    `inbound` (from the contact) or `outbound` (to the contact).
    """
    text: str = Field(..., max_length=65536, min_length=1)
    """
    Not blank, at most 65,536 characters.
    """


class MessageList(ApiModel):
    """
    A page of a list paged by offset only:
    `{"data": [...], "total": 42, "limit": 20, "offset": 0, "has_more": true}`.
    """

    data: list[Message]
    """
    The items of this page.
    """
    total: int = Field(..., examples=[42], ge=0)
    """
    All the items matching the filters.
    """
    limit: int = Field(..., examples=[20], ge=0)
    """
    The page size asked for.
    """
    offset: int = Field(..., examples=[0], ge=0)
    """
    Where this page starts.
    """
    has_more: bool
    """
    Whether more items follow.
    """


class Segment(ApiModel):
    """
    A saved segment (`/v2/segment`): a name and a contact filter, with the number of
    contacts it matches, computed when it was read.
    """

    id: str = Field(
        ..., examples=["seg_038ggac0fy000a0wp1kh1adwpwetq"], pattern="^seg_[0-9a-z]+$"
    )
    """
    `seg_` and lowercase letters and digits.
    """
    name: str = Field(..., examples=["Premium DE"])
    """
    The name, e.g. `Premium DE`.
    """
    filter: dict[str, str] = Field(
        ..., examples=[{"metadata.plan": "premium", "status": "active"}]
    )
    """
    The filter: the list's query parameters, as strings.
    """
    count: int = Field(..., examples=[1042], ge=0)
    """
    Contacts matching the filter now, exactly.
    """
    created_at: AwareDatetime = Field(..., examples=["2026-01-25T10:30:00.000000Z"])
    """
    When the segment was created.
    """
    updated_at: AwareDatetime = Field(..., examples=["2026-01-25T10:30:00.000000Z"])
    """
    When its name or filter last changed.
    """


class SegmentCreate(ApiModel):
    """
    `POST /v2/segment`: a name and a contact filter.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    name: str = Field(..., max_length=255, min_length=1)
    """
    Not blank, at most 255 characters.
    """
    filter: dict[str, str]
    """
    The list's filter parameters (`status`, `preferred_channel`, `q`, `created_after`,
    `created_before`, `updated_after`, `metadata.PATH[OP]`) and their values, as
    strings; at most 20.
    """


class SegmentList(ApiModel):
    """
    A page of a list paged by offset only:
    `{"data": [...], "total": 42, "limit": 20, "offset": 0, "has_more": true}`.
    """

    data: list[Segment]
    """
    The items of this page.
    """
    total: int = Field(..., examples=[42], ge=0)
    """
    All the items matching the filters.
    """
    limit: int = Field(..., examples=[20], ge=0)
    """
    The page size asked for.
    """
    offset: int = Field(..., examples=[0], ge=0)
    """
    Where this page starts.
    """
    has_more: bool
    """
    Whether more items follow.
    """


class SegmentUpdate(ApiModel):
    """
    A change of a segment's name, filter or both (`PUT /v2/segment/{id}`); the filter is
    replaced whole.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    name: str | None = Field(None, max_length=255, min_length=1)
    """
    The new name; cannot be null.
    """
    filter: dict[str, str] | None = None
    """
    The new filter, replacing the old one; cannot be null.
    """


UpsertResult = RootModel[Literal["created", "updated", "unchanged"]]
"""
What `X-Upsert-Result` and a batch item's `status` say happened.
"""


class Webhook(ApiModel):
    """
    A webhook endpoint. Its secret is shown when it is created and when it is rotated only.
    """

    id: str = Field(..., examples=["wh_038ggac0fy000a0wp1kh1adwpwetq"])
    """
    `wh_` and lowercase letters and digits.
    """
    url: str = Field(..., examples=["https://crm.example.com/hooks/contactd"])
    """
    Where events are POSTed (`http` or `https`).
    """
    event_types: list[str] | None = Field(
        ..., examples=[["contact.created", "contact.deleted"]]
    )
    """
    The event types delivered; null for all.
    """
    description: str | None = Field(..., examples=["CRM sync"])
    """
    What the endpoint is for.
    """
    status: str = Field(..., examples=["enabled"])
    """
    `enabled` or `disabled`.
    """
    disabled_reason: str | None
    """
    Why contactd disabled the endpoint (after 3 days of failures); null otherwise.
    """
    secret: str | None = Field(
        None, examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
    )
    """
    `whsec_` and the base64 key: only in the answers of create and rotate-secret.
    """
    created_at: AwareDatetime = Field(..., examples=["2026-01-25T10:30:00.000000Z"])
    """
    When it was created.
    """
    updated_at: AwareDatetime = Field(..., examples=["2026-01-25T10:30:00.000000Z"])
    """
    When it last changed.
    """


class WebhookCreate(ApiModel):
    """
    `POST /v2/webhook`.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    url: str
    """
    `http` or `https`; must not resolve to a loopback, private, link-local or cloud
    metadata address.
    """
    event_types: list[str] | None = None
    """
    The event types to deliver; left out or null for all.
    """
    description: str | None = None
    """
    What the endpoint is for (at most 255 characters).
    """


class WebhookList(ApiModel):
    """
    The endpoints of a workspace and mode, oldest first.
    """

    data: list[Webhook]
    """
    Every endpoint.
    """


class WebhookUpdate(ApiModel):
    """
    `PUT /v2/webhook/{id}`: only the fields sent change.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    url: str | None = None
    """
    A new URL, checked as on create.
    """
    event_types: list[str] | None = Field(
        None, examples=[["contact.created", "contact.deleted"]]
    )
    """
    New event types; `null` for all types, including any added later (an empty list
    is not accepted).
    """
    description: str | None = Field(None, max_length=255)
    """
    A new description; `null` removes it.
    """
    status: str | None = Field(None, examples=["disabled"])
    """
    `enabled` or `disabled`; enabling clears `disabled_reason`.
    """


class Contact(ApiModel):
    """
    A contact as the API answers it. Every field is always present; unset ones are `null`.

    Timestamps are RFC 3339 strings in UTC with microseconds (`2026-01-25T10:30:00.000000Z`).
    """

    id: str = Field(
        ..., examples=["cnt_038ggac0fy000a0wp1kh1adwpwetq"], pattern="^cnt_[0-9a-z]+$"
    )
    """
    `cnt_` and 29 characters of `[0-9a-z]`; sorts by creation.
    """
    phone: str | None = Field(
        ..., examples=["+1234567890"], pattern="^\\+[1-9][0-9]{1,14}$"
    )
    """
    E.164, unique in the workspace and mode.
    """
    email: str | None = Field(..., examples=["john@example.com"])
    """
    As sent; unique in the workspace and mode, matched case-insensitively.
    """
    first_name: str | None = Field(..., examples=["John"])
    """
    The first name.
    """
    last_name: str | None = Field(..., examples=["Doe"])
    """
    The last name.
    """
    full_name: str | None = Field(..., examples=["John Doe"])
    """
    `first_name` and `last_name` joined by one space; null when both are. Read-only.
    """
    preferred_channel: Literal["whatsapp", "instagram", "sms", "email"] | None
    metadata: dict[str, Any] = Field(..., examples=[{"plan": "premium"}])
    """
    A JSON object of any shape; `{}` when empty.
    """
    status: Literal["active", "inactive", "deleted"]
    """
    `active`, `inactive`, or `deleted` in the answer of a delete.
    """
    created_at: AwareDatetime = Field(..., examples=["2026-01-25T10:30:00.000000Z"])
    """
    When the contact was created: RFC 3339, UTC, microseconds.
    """
    updated_at: AwareDatetime = Field(..., examples=["2026-01-25T10:30:00.000000Z"])
    """
    When the contact last changed; moves forward on every change, and only on a change.
    """
    last_contacted: AwareDatetime | None
    """
    When the newest outbound message to the contact was sent.
    """
    identities: list[Identity]
    """
    How the contact is known on each channel, beside `phone` and `email`; `[]` when none.
    """


class ContactCreate(ApiModel):
    """
    The body of a create (`POST /v2/contact`), of an upsert and of a batch item. A contact needs a phone, an email, or both; a field sent as `null` stays unset.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    phone: str | None = Field(None, examples=["+1234567890"])
    """
    E.164 (`+`, then 2–15 digits, the first not 0), unique in the workspace and mode.
    With `default_country`, also a national number of that country.
    """
    email: str | None = Field(None, examples=["john@example.com"], max_length=254)
    """
    A syntactically valid ASCII address, kept as sent; unique in the workspace and
    mode, matched case-insensitively.
    """
    first_name: str | None = Field(
        None, examples=["John"], max_length=255, min_length=1
    )
    """
    The first name: not blank, at most 255 characters.
    """
    last_name: str | None = Field(None, examples=["Doe"], max_length=255, min_length=1)
    """
    The last name: not blank, at most 255 characters.
    """
    preferred_channel: Literal["whatsapp", "instagram", "sms", "email"] | None = None
    metadata: dict[str, Any] | None = None
    """
    A JSON object of any shape, at most 16 KiB serialized and 10 levels deep (the object itself is level 1)
    """
    identities: list[Identity] | None = None
    """
    Channel identities (at most 20); each is unique in the workspace and mode.
    """
    status: Literal["active", "inactive"] | None = None
    """
    `active` unless sent; cannot be null.
    """
    default_country: str | None = Field(None, examples=["GB"], pattern="^[A-Z]{2}$")
    """
    ISO 3166 alpha-2 (e.g. `GB`), not stored: a `phone` that is not E.164 is then read
    the way that country writes numbers (`07911 123456` → `+447911123456`).
    """


class ContactList(ApiModel):
    """
    A page of a list: `{"data", "total", "limit", "offset", "has_more", "next_cursor"}`.

    Contact lists page by offset or by cursor; the conversation, message and segment lists
    by offset only ([`OffsetList`]), which this type reads too.
    """

    data: list[Contact]
    """
    The items of this page.
    """
    total: int | None = Field(..., examples=[42], ge=0)
    """
    All the items matching the filters, exactly; null on cursor pages unless
    `include_total=true`, and on a first page with `include_total=false`.
    """
    limit: int = Field(..., examples=[20], ge=0)
    """
    The page size asked for.
    """
    offset: int | None = Field(..., examples=[0], ge=0)
    """
    Where this page starts; null on cursor pages.
    """
    has_more: bool
    """
    Whether more items follow.
    """
    next_cursor: str | None
    """
    The `cursor` of the next page; null on the last page (and absent from lists that
    page by offset only).
    """


class ContactUpdate(ApiModel):
    """
    The body of a partial update (`PUT /v2/contact/{ref}`): only the fields sent change; a field sent as `null` is cleared (phone and email cannot both end up null).
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    phone: str | None = Field(None, examples=["+1234567890"])
    """
    E.164; with `default_country`, also a national number of that country.
    """
    email: str | None = Field(None, examples=["john@example.com"], max_length=254)
    """
    An email address; phone and email cannot both be cleared.
    """
    first_name: str | None = Field(None, max_length=255, min_length=1)
    """
    The first name.
    """
    last_name: str | None = Field(None, max_length=255, min_length=1)
    """
    The last name.
    """
    preferred_channel: Literal["whatsapp", "instagram", "sms", "email"] | None = None
    metadata: dict[str, Any] | None = None
    """
    A JSON object of any shape, at most 16 KiB serialized and 10 levels deep (the object itself is level 1)
    """
    identities: list[Identity] | None = None
    """
    The contact's identities: the list sent replaces the set; `null` or `[]` removes
    them all (a contact keeps a phone, an email or an identity).
    """
    status: Literal["active", "inactive"] | None = None
    """
    `active` or `inactive`; cannot be null.
    """
    default_country: str | None = Field(None, examples=["GB"], pattern="^[A-Z]{2}$")
    """
    ISO 3166 alpha-2, not stored: how to read a national `phone` (see `ContactCreate`).
    """


class Conversation(ApiModel):
    """
    A conversation with a contact on one channel.
    """

    id: str = Field(
        ..., examples=["conv_038ggac0fy000b7n2k4t9qzdx1mr"], pattern="^conv_[0-9a-z]+$"
    )
    """
    `conv_` and lowercase letters and digits.
    """
    contact_id: str = Field(
        ..., examples=["cnt_038ggac0fy000a0wp1kh1adwpwetq"], pattern="^cnt_[0-9a-z]+$"
    )
    """
    The contact's id, whatever reference created the conversation.
    """
    channel: Literal["whatsapp", "instagram", "sms", "email"]
    """
    The channel.
    """
    status: Literal["open", "closed", "archived"]
    """
    `open`, `closed` or `archived`.
    """
    created_at: AwareDatetime = Field(..., examples=["2026-01-25T10:30:00.000000Z"])
    """
    When the conversation was created.
    """
    updated_at: AwareDatetime = Field(..., examples=["2026-01-25T10:30:00.000000Z"])
    """
    When it last changed (a status change or a new message).
    """
    last_message_at: AwareDatetime | None
    """
    The `created_at` of the newest message.
    """
    message_count: int = Field(..., examples=[0], ge=0)
    """
    How many messages it holds.
    """


class ConversationCreate(ApiModel):
    """
    A conversation to create.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    contact_id: ContactRef1 | ContactRef2 | ContactRef3 | ContactRef4 = Field(
        ...,
        examples=["cnt_038ggac0fy000a0wp1kh1adwpwetq", "+14155550123", "john@example.com"],
    )
    """
    A contact id (`cnt_…`), a phone in E.164 form (`+14155550123`), an email or an identity (`TYPE:VALUE`). The id of a contact merged into another names that one. Anything else is `invalid_input` with `details.field` `ref`; a phone written without `+` gets the E.164 form in `details.expected`.
    """
    channel: Literal["whatsapp", "instagram", "sms", "email"]
    """
    The channel.
    """
    status: Literal["open", "closed", "archived"] | None = None
    """
    `open` (the default), `closed` or `archived`; cannot be null.
    """


class ConversationList(ApiModel):
    """
    A page of a list paged by offset only:
    `{"data": [...], "total": 42, "limit": 20, "offset": 0, "has_more": true}`.
    """

    data: list[Conversation]
    """
    The items of this page.
    """
    total: int = Field(..., examples=[42], ge=0)
    """
    All the items matching the filters.
    """
    limit: int = Field(..., examples=[20], ge=0)
    """
    The page size asked for.
    """
    offset: int = Field(..., examples=[0], ge=0)
    """
    Where this page starts.
    """
    has_more: bool
    """
    Whether more items follow.
    """


class DuplicateCandidate(ApiModel):
    """
    A contact suggested as a duplicate of another.
    """

    contact: Contact
    """
    The other contact.
    """
    score: float
    """
    0 to 1: how sure the suggestion is; reasons add up.
    """
    reasons: list[str]
    """
    `email_normalized`, `identity_overlap`, `name_and_email_domain`, `name_similar`.
    """


class DuplicateCandidateList(ApiModel):
    """
    A contact's duplicate suggestions, best first.
    """

    data: list[DuplicateCandidate]
    """
    The suggestions (at most 100).
    """


class Error(ApiModel):
    """
    The error envelope: every failure answers with it, and a failed batch item holds one.
    """

    error: Literal["invalid_input", "unauthorized", "not_found", "method_not_allowed", "duplicate_contact", "idempotency_conflict", "merge_conflict", "precondition_failed", "request_timeout", "payload_too_large", "rate_limited", "internal_error", "unavailable"]
    """
    The error's name, e.g. `invalid_input`, `duplicate_contact`.
    """
    message: str
    """
    A sentence safe to show to people; never internals.
    """
    code: int = Field(..., ge=400, le=599)
    """
    The HTTP status, as a number.
    """
    details: ErrorDetails
    """
    What there is to add about the error (`field`, `received`, `expected`,
    `existing_contact_id`, …); `{}` when nothing.
    """


class Merge(ApiModel):
    """
    A merge: the target kept, the source folded into it.
    """

    id: str = Field(..., pattern="^mrg_[0-9a-z]+$")
    """
    `mrg_…`.
    """
    target_id: str
    """
    The contact kept.
    """
    source_id: str
    """
    The contact folded into it; its id stays a ref to the target until an undo.
    """
    moved: MergeMoved
    """
    What moved.
    """
    created_at: AwareDatetime
    """
    When the merge happened.
    """
    undone_at: AwareDatetime | None
    """
    When it was undone; null while it stands.
    """


class MergeList(ApiModel):
    """
    The merges a contact took part in, newest first.
    """

    data: list[Merge]
    """
    The merges.
    """


class MergeResult(ApiModel):
    """
    The answer to a merge (or its dry run).
    """

    contact: Contact
    """
    The surviving contact.
    """
    merge: Merge
    """
    The merge.
    """


class UndoResult(ApiModel):
    """
    The answer to an undo: both contacts as they are again.
    """

    target: Contact
    """
    The target, with its fields as before the merge.
    """
    source: Contact
    """
    The source, back with its id, fields, identities and conversations.
    """
    merge: Merge
    """
    The merge, with `undone_at` set.
    """


class BatchItemResult(ApiModel):
    """
    A batch item as JSON: `contact` when it was created, updated or found unchanged,
    `error` (an error envelope) when it failed.
    """

    index: int = Field(..., ge=0)
    """
    The item's position in `contacts`, from 0.
    """
    status: Literal["created", "updated", "unchanged", "error"]
    """
    What happened to one item of a batch; the creates, updates and unchanged ones also
    say so in `X-Upsert-Result` when sent alone.
    """
    contact: Contact | None = None
    error: Error | None = None


class BatchRequest(ApiModel):
    """
    `POST /v2/contact/batch`: up to 1,000 creates, upserts or restores.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    mode: Literal["create", "upsert", "restore"] | None = None
    """
    `create` unless sent; cannot be null.
    """
    contacts: list[ContactCreate | Contact] = Field(..., max_length=1000, min_length=1)
    """
    1 to 1,000 contact bodies, each processed as its own create, upsert or restore, in
    order: `ContactCreate` bodies, or contacts as exported in `restore` mode.
    """


class BatchResponse(ApiModel):
    """
    The answer to a batch: one result per item, in order, and the counts.
    """

    results: list[BatchItemResult]
    """
    One per item, in the order sent.
    """
    created: int = Field(..., ge=0)
    """
    Items that created a contact.
    """
    updated: int = Field(..., ge=0)
    """
    Items that changed a contact.
    """
    unchanged: int = Field(..., ge=0)
    """
    Upserts that found their contact already as sent.
    """
    errors: int = Field(..., ge=0)
    """
    Items that failed.
    """
