"""The seed's workflow through the client openapi-python-client generates from
docs/openapi.json, with the generator's default settings (contract §10). Run by
.ci/clients against a real server: python3 workflow.py BASE_URL API_KEY, with the
generated package `contactd_api` on the path. Exits non-zero at the first surprise."""

import sys
from http import HTTPStatus

from contactd_api import Client
from contactd_api.api.contacts import (
    batch_contacts,
    create_contact,
    delete_contact,
    get_contact,
    list_contacts,
    update_contact,
)
from contactd_api.api.conversations import (
    create_conversation,
    create_message,
    get_conversation,
    list_contact_conversations,
    list_messages,
    update_conversation,
)
from contactd_api.models import (
    BatchRequest,
    Channel,
    Contact,
    ContactCreate,
    ContactCreateMetadataType0,
    ContactList,
    ContactSort,
    ContactStatus,
    ContactUpdate,
    ContactUpdateMetadataType0,
    Conversation,
    ConversationCreate,
    ConversationList,
    ConversationStatus,
    ConversationUpdate,
    Direction,
    Error,
    ErrorCode,
    ListContactsMetadata,
    Message,
    MessageCreate,
    MessageList,
)
from contactd_api.types import Unset


def check(condition, what):
    if not condition:
        sys.exit(f"workflow: {what}")
    print(f"ok: {what}")


def ok(response, status, kind):
    if response.status_code != status or not isinstance(response.parsed, kind):
        sys.exit(f"workflow: expected {status} {kind.__name__}, got {response.status_code}: {response.content[:500]!r}")
    return response.parsed


def main(base_url, api_key):
    client = Client(base_url=base_url, headers={"X-API-Key": api_key}, raise_on_unexpected_status=True)

    # Create, as the seed does, with metadata.
    body = ContactCreate(
        phone="+1234567890",
        email="john@example.com",
        first_name="John",
        last_name="Doe",
        preferred_channel=Channel.WHATSAPP,
        metadata=ContactCreateMetadataType0.from_dict(
            {"customer_id": "cust_abc123", "plan": "premium", "signup_date": "2026-01-15", "source": "website"}
        ),
    )
    john = ok(create_contact.sync_detailed(client=client, body=body), HTTPStatus.CREATED, Contact)
    check(john.full_name == "John Doe" and john.metadata["plan"] == "premium", "created with metadata")

    # Get by id, phone and email.
    for ref in [john.id, "+1234567890", "JOHN@example.com"]:
        got = ok(get_contact.sync_detailed(ref, client=client), HTTPStatus.OK, Contact)
        check(got.id == john.id, f"found by {ref}")

    # Merge-patch metadata, then remove a key with null.
    patch = ContactUpdate(
        email="john.doe@newcompany.com",
        metadata=ContactUpdateMetadataType0.from_dict({"plan": "enterprise", "company": "New Company Inc"}),
    )
    updated = ok(update_contact.sync_detailed(john.id, client=client, body=patch), HTTPStatus.OK, Contact)
    check(
        updated.metadata.to_dict()
        == {"customer_id": "cust_abc123", "plan": "enterprise", "signup_date": "2026-01-15",
            "source": "website", "company": "New Company Inc"},
        "metadata merged",
    )
    removal = ContactUpdate(metadata=ContactUpdateMetadataType0.from_dict({"source": None}))
    updated = ok(update_contact.sync_detailed(john.id, client=client, body=removal), HTTPStatus.OK, Contact)
    check("source" not in updated.metadata.additional_properties, "null removes a metadata key")

    # Typed errors: 404 and 409 with existing_contact_id.
    missing = ok(get_contact.sync_detailed("cnt_00000000000000000000000000000", client=client), HTTPStatus.NOT_FOUND, Error)
    check(missing.error == ErrorCode.NOT_FOUND, "typed 404")
    duplicate = ok(create_contact.sync_detailed(client=client, body=ContactCreate(phone="+1234567890")), HTTPStatus.CONFLICT, Error)
    check(
        duplicate.error == ErrorCode.DUPLICATE_CONTACT and duplicate.details.existing_contact_id == john.id,
        "typed 409 names the existing contact",
    )

    # A metadata filter: openapi-python-client ignores `style`, so members are wire names.
    for member in ["metadata.plan", "metadata[plan]"]:
        found = ok(
            list_contacts.sync_detailed(client=client, metadata=ListContactsMetadata.from_dict({member: "enterprise"})),
            HTTPStatus.OK,
            ContactList,
        )
        check([c.id for c in found.data] == [john.id], f"metadata filter {member}")

    # 250 more contacts, then cursor paging with the generator's defaults.
    for start in range(0, 250, 125):
        batch = BatchRequest(contacts=[ContactCreate(phone=f"+1415555{i:04d}", first_name=f"P{i}") for i in range(start, start + 125)])
        result = batch_contacts.sync_detailed(client=client, body=batch)
        check(result.status_code == HTTPStatus.OK and result.parsed.created == 125, "batch of 125 created")
    seen = []
    page = ok(list_contacts.sync_detailed(client=client, limit=100), HTTPStatus.OK, ContactList)
    check(page.total == 251, "first page counts all 251")
    seen += [c.id for c in page.data]
    while page.has_more:
        check(isinstance(page.next_cursor, str), "a next_cursor while has_more")
        page = ok(list_contacts.sync_detailed(client=client, cursor=page.next_cursor, limit=100), HTTPStatus.OK, ContactList)
        seen += [c.id for c in page.data]
    check(len(seen) == 251 and len(set(seen)) == 251 and seen[0] == john.id, "cursor paging saw every contact once")
    newest = ok(list_contacts.sync_detailed(client=client, sort=ContactSort.CREATED_AT_DESC, limit=1), HTTPStatus.OK, ContactList)
    check(newest.data[0].id == seen[-1], "sort=-created_at starts at the newest")

    # Conversations and messages.
    conversation = ok(
        create_conversation.sync_detailed(client=client, body=ConversationCreate(contact_id="+1234567890", channel=Channel.SMS)),
        HTTPStatus.CREATED,
        Conversation,
    )
    check(conversation.contact_id == john.id, "conversation stored under the contact id")
    message = ok(
        create_message.sync_detailed(conversation.id, client=client, body=MessageCreate(direction=Direction.OUTBOUND, text="Hi John")),
        HTTPStatus.CREATED,
        Message,
    )
    messages = ok(list_messages.sync_detailed(conversation.id, client=client), HTTPStatus.OK, MessageList)
    check([m.id for m in messages.data] == [message.id], "messages listed")
    got = ok(get_conversation.sync_detailed(conversation.id, client=client), HTTPStatus.OK, Conversation)
    check(got.message_count == 1, "conversation counts its message")
    opened = ok(
        list_contact_conversations.sync_detailed(john.id, client=client, status=ConversationStatus.OPEN),
        HTTPStatus.OK,
        ConversationList,
    )
    check([c.id for c in opened.data] == [conversation.id], "the contact's open conversations")
    closed = ok(
        update_conversation.sync_detailed(conversation.id, client=client, body=ConversationUpdate(status=ConversationStatus.CLOSED)),
        HTTPStatus.OK,
        Conversation,
    )
    check(closed.status == ConversationStatus.CLOSED, "conversation closed")
    john = ok(get_contact.sync_detailed(john.id, client=client), HTTPStatus.OK, Contact)
    check(not isinstance(john.last_contacted, Unset) and john.last_contacted is not None, "last_contacted set")

    # Delete: the contact as it was, then 404 for it and its conversation.
    deleted = ok(delete_contact.sync_detailed(john.id, client=client), HTTPStatus.OK, Contact)
    check(deleted.status == ContactStatus.DELETED, "deleted")
    ok(get_contact.sync_detailed(john.id, client=client), HTTPStatus.NOT_FOUND, Error)
    ok(get_conversation.sync_detailed(conversation.id, client=client), HTTPStatus.NOT_FOUND, Error)
    print("workflow: all steps passed")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
