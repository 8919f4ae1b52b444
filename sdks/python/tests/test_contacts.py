"""client.contacts, against a real server, with both clients (`api` is sync and async)."""

from __future__ import annotations

from datetime import datetime

import pytest

from contactd import (
    Contact,
    ContactCreate,
    ContactList,
    ContactUpdate,
    InvalidInputError,
    NotFoundError,
    Upserted,
)


def test_create_answers_the_contact_as_stored(api, unique):
    phone, email = unique.phone(), unique.email()
    contact = api.contacts.create(
        {
            "phone": phone,
            "email": email,
            "first_name": "John",
            "last_name": "Doe",
            "preferred_channel": "whatsapp",
            "metadata": {"plan": "premium", "tags": ["vip"]},
        }
    )
    assert isinstance(contact, Contact)
    assert contact.id.startswith("cnt_")
    assert (contact.phone, contact.email, contact.full_name) == (phone, email, "John Doe")
    assert contact.preferred_channel == "whatsapp" and contact.status == "active"
    assert contact.metadata == {"plan": "premium", "tags": ["vip"]}
    assert isinstance(contact.created_at, datetime) and contact.last_contacted is None
    assert contact.etag


def test_create_takes_a_generated_model_and_a_national_number(api, unique):
    contact = api.contacts.create(
        ContactCreate(phone="07911 123456", default_country="GB", email=unique.email())
    )
    assert contact.phone == "+447911123456"
    api.contacts.delete(contact.id)


def test_get_by_id_phone_and_email(api, unique):
    phone, email = unique.phone(), unique.email()
    created = api.contacts.create({"phone": phone, "email": email})
    assert api.contacts.get(created.id).id == created.id
    assert api.contacts.get(phone).id == created.id  # `+` travels as %2B
    assert api.contacts.get(email.upper()).id == created.id
    with pytest.raises(NotFoundError):
        api.contacts.get(unique.phone())


def test_update_changes_only_what_is_sent_and_merges_metadata(api, unique):
    contact = api.contacts.create(
        {
            "phone": unique.phone(),
            "first_name": "John",
            "last_name": "Doe",
            "metadata": {"plan": "premium", "source": "website"},
        }
    )
    updated = api.contacts.update(
        contact.phone, {"last_name": None, "metadata": {"plan": "enterprise", "source": None}}
    )
    assert updated.first_name == "John" and updated.last_name is None
    assert updated.metadata == {"plan": "enterprise"}
    assert updated.updated_at > contact.updated_at

    again = api.contacts.update(contact.id, ContactUpdate(first_name="Johnny"), if_match=updated.etag)
    assert again.first_name == "Johnny" and again.metadata == {"plan": "enterprise"}
    assert again.etag != updated.etag


def test_delete_answers_the_contact_as_it_was(api, unique):
    contact = api.contacts.create({"email": unique.email(), "first_name": "Gone"})
    deleted = api.contacts.delete(contact.email, if_match=contact.etag)
    assert (deleted.id, deleted.status, deleted.first_name) == (contact.id, "deleted", "Gone")
    with pytest.raises(NotFoundError):
        api.contacts.get(contact.id)


def test_list_filters_by_metadata_status_and_search(api, unique):
    tag = unique.marker
    ada = api.contacts.create(
        {
            "email": unique.email(),
            "first_name": "Ada",
            "last_name": "Lovelace",
            "metadata": {"run": tag, "mrr": 500, "plan": "premium"},
        }
    )
    grace = api.contacts.create(
        {
            "email": unique.email(),
            "first_name": "Grace",
            "last_name": "Hopper",
            "metadata": {"run": tag, "mrr": 50},
            "status": "inactive",
        }
    )
    zoe = api.contacts.create(
        {"email": unique.email(), "first_name": "Zoë", "metadata": {"run": tag, "plan": "premium"}}
    )

    def ids(**filters):
        return [c.id for c in api.contacts.list(metadata={"run": tag}, **filters)]

    assert ids() == [ada.id, grace.id, zoe.id]
    assert ids(status="inactive") == [grace.id]
    assert ids(q="lovelace ada") == [ada.id]
    assert ids(q="zoe") == [zoe.id]
    assert ids(sort="-created_at") == [zoe.id, grace.id, ada.id]
    assert [c.id for c in api.contacts.list(metadata={"run": tag, "mrr[gte]": 100})] == [ada.id]
    assert [c.id for c in api.contacts.list(**{"metadata.run": tag, "metadata.plan": "premium"})] == [
        ada.id,
        zoe.id,
    ]
    assert all(isinstance(c, Contact) for c in api.contacts.list(metadata={"run": tag}))


def test_list_refuses_offset_and_cursor(api):
    with pytest.raises(TypeError, match="list_page"):
        api.contacts.list(offset=10)


def test_list_page_is_one_page_with_its_total(api, unique):
    tag = unique.marker
    for _ in range(3):
        api.contacts.create({"email": unique.email(), "metadata": {"run": tag}})
    first = api.contacts.list_page(metadata={"run": tag}, limit=2, include_total=True)
    assert isinstance(first, ContactList)
    assert (len(first.data), first.total, first.has_more) == (2, 3, True)
    rest = api.contacts.list_page(metadata={"run": tag}, limit=2, cursor=first.next_cursor)
    assert len(rest.data) == 1 and not rest.has_more and rest.next_cursor is None
    by_offset = api.contacts.list_page(metadata={"run": tag}, limit=2, offset=2)
    assert [c.id for c in by_offset.data] == [c.id for c in rest.data] and by_offset.offset == 2


def test_count_uses_the_filters_of_the_list(api, unique):
    tag = unique.marker
    for plan in ("premium", "premium", "basic"):
        api.contacts.create({"email": unique.email(), "metadata": {"run": tag, "plan": plan}})
    assert api.contacts.count(metadata={"run": tag}) == 3
    assert api.contacts.count(metadata={"run": tag, "plan": "premium"}) == 2
    assert api.contacts.count(metadata={"run": tag}, status="inactive") == 0


def test_upsert_creates_then_updates_then_finds_unchanged(api, unique):
    phone = unique.phone()
    first = api.contacts.upsert({"phone": phone, "first_name": "Ada"})
    assert isinstance(first, Upserted) and first.result == "created" and first.created
    second = api.contacts.upsert({"phone": phone, "last_name": "Lovelace"})
    assert second.result == "updated" and not second.created
    assert second.contact.id == first.contact.id and second.contact.full_name == "Ada Lovelace"
    third = api.contacts.upsert({"phone": phone, "last_name": "Lovelace"})
    assert third.result == "unchanged" and third.contact.updated_at == second.contact.updated_at


def test_batch_answers_a_result_per_item(api, unique):
    phone = unique.phone()
    result = api.contacts.batch([{"phone": phone}, {"phone": "bad"}, ContactCreate(email=unique.email())])
    assert (result.created, result.errors) == (2, 1)
    assert [r.status for r in result.results] == ["created", "error", "created"]
    assert result.results[0].contact.phone == phone
    assert (
        result.results[1].error.error == "invalid_input" and result.results[1].error.details.field == "phone"
    )

    upserted = api.contacts.batch([{"phone": phone, "first_name": "Ada"}], mode="upsert")
    assert upserted.updated == 1 and upserted.results[0].contact.first_name == "Ada"


def test_conversations_of_a_contact(api, unique):
    contact = api.contacts.create({"phone": unique.phone()})
    sms = api.conversations.create({"contact_id": contact.phone, "channel": "sms"})
    mail = api.conversations.create({"contact_id": contact.id, "channel": "email", "status": "closed"})
    assert [c.id for c in api.contacts.conversations(contact.id)] == [mail.id, sms.id]  # newest first
    assert [c.id for c in api.contacts.conversations(contact.phone, status="open")] == [sms.id]
    assert [c.id for c in api.contacts.conversations(contact.id, channel="email")] == [mail.id]
    page = api.contacts.conversations_page(contact.id, limit=1)
    assert (len(page.data), page.total, page.has_more) == (1, 2, True)


def test_refs_travel_as_one_escaped_path_segment(connect, proxy, unique):
    api = connect(base_url=proxy.url)
    contact = api.contacts.create({"phone": unique.phone(), "email": unique.email()})
    api.contacts.get(contact.phone)
    api.contacts.get(contact.email)
    with pytest.raises(InvalidInputError) as caught:
        api.contacts.get("a/b")
    assert caught.value.field == "ref"
    paths = [r.path for r in proxy.requests("GET")]
    assert paths == [
        f"/v2/contact/%2B{contact.phone[1:]}",
        f"/v2/contact/{contact.email}",
        "/v2/contact/a%2Fb",
    ]
    with pytest.raises(ValueError):
        api.contacts.get("")


def test_a_contact_read_back_restores_as_it_was(api, unique):
    kept = api.contacts.create(
        {"phone": unique.phone(), "first_name": "Ada", "metadata": {"plan": "premium"}}
    )
    api.contacts.delete(kept.id)
    restored = api.contacts.batch([kept], mode="restore")
    assert restored.created == 1, restored.results[0].error
    assert api.contacts.get(kept.id) == kept
