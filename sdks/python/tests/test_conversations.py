"""client.conversations and their messages, with both clients."""

from __future__ import annotations

import pytest

from contactd import Conversation, Message, MessageList, NotFoundError


def test_create_get_and_close_a_conversation(api, unique):
    contact = api.contacts.create({"phone": unique.phone()})
    conversation = api.conversations.create({"contact_id": contact.phone, "channel": "whatsapp"})
    assert isinstance(conversation, Conversation)
    assert (conversation.contact_id, conversation.channel, conversation.status) == (
        contact.id,
        "whatsapp",
        "open",
    )
    assert api.conversations.get(conversation.id) == conversation
    closed = api.conversations.update(conversation.id, {"status": "closed"})
    assert closed.status == "closed" and closed.updated_at >= conversation.updated_at


def test_messages_are_added_and_read_oldest_first(api, unique):
    contact = api.contacts.create({"phone": unique.phone()})
    conversation = api.conversations.create({"contact_id": contact.id, "channel": "sms"})
    hello = api.conversations.create_message(conversation.id, {"direction": "inbound", "text": "Hello"})
    reply = api.conversations.create_message(conversation.id, {"direction": "outbound", "text": "Hi John"})
    assert isinstance(hello, Message) and hello.conversation_id == conversation.id
    assert [m.text for m in api.conversations.messages(conversation.id)] == ["Hello", "Hi John"]

    page = api.conversations.messages_page(conversation.id, limit=1, offset=1)
    assert isinstance(page, MessageList) and [m.id for m in page.data] == [reply.id] and page.total == 2

    assert api.conversations.get(conversation.id).message_count == 2
    assert api.contacts.get(contact.id).last_contacted == reply.created_at


def test_messages_follow_the_pages(api, unique):
    contact = api.contacts.create({"phone": unique.phone()})
    conversation = api.conversations.create({"contact_id": contact.id, "channel": "sms"})
    for n in range(5):
        api.conversations.create_message(conversation.id, {"direction": "inbound", "text": f"m{n}"})
    assert [m.text for m in api.conversations.messages(conversation.id, limit=2)] == [
        f"m{n}" for n in range(5)
    ]


def test_a_deleted_contact_takes_its_conversations_along(api, unique):
    contact = api.contacts.create({"phone": unique.phone()})
    conversation = api.conversations.create({"contact_id": contact.id, "channel": "sms"})
    api.contacts.delete(contact.id)
    with pytest.raises(NotFoundError):
        api.conversations.get(conversation.id)
