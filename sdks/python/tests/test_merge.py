"""client.contacts.merge, client.contacts.merges and client.merges.undo, with both clients."""

from __future__ import annotations

import pytest

from contactd import (
    Contact,
    Identity,
    Merge,
    MergeConflictError,
    MergeResult,
    NotFoundError,
    PreconditionFailedError,
    UndoResult,
)


def as_before(contact: Contact) -> dict:
    """A contact's fields but `updated_at`, which an undo moves on."""
    return contact.model_dump(exclude={"updated_at"})


def two_contacts(api, unique):
    """A target with a phone and a name, and a source with a phone, an email, metadata and
    a conversation of two messages."""
    target = api.contacts.create(
        {"phone": unique.phone(), "first_name": "Ada", "metadata": {"plan": "premium", "run": unique.marker}}
    )
    source = api.contacts.create(
        {
            "phone": unique.phone(),
            "email": unique.email(),
            "first_name": "Augusta",
            "last_name": "King",
            "metadata": {"plan": "basic", "crm_id": "crm-7"},
        }
    )
    conversation = api.conversations.create({"contact_id": source.id, "channel": "email"})
    api.conversations.create_message(conversation.id, {"direction": "inbound", "text": "Hello"})
    api.conversations.create_message(conversation.id, {"direction": "outbound", "text": "Hi Ada"})
    return target, api.contacts.get(source.id), conversation


def test_a_dry_run_answers_the_merge_and_changes_nothing(api, unique):
    target, source, conversation = two_contacts(api, unique)
    target = api.contacts.get(target.id)

    preview = api.contacts.merge(target.id, source.email, dry_run=True)
    assert isinstance(preview, MergeResult) and isinstance(preview.contact, Contact)
    assert preview.contact.id == target.id
    assert (preview.contact.first_name, preview.contact.last_name) == ("Ada", "King")
    assert preview.contact.phone == target.phone
    assert preview.contact.email == source.email  # an empty field takes the source's
    assert preview.contact.identities == [Identity(type="phone", value=source.phone)]
    assert preview.contact.metadata == {"plan": "premium", "run": unique.marker, "crm_id": "crm-7"}
    assert (preview.merge.target_id, preview.merge.source_id) == (target.id, source.id)
    assert (preview.merge.moved.conversations, preview.merge.moved.messages) == (1, 2)

    assert api.contacts.get(target.id) == target
    assert api.contacts.get(source.id) == source
    assert api.conversations.get(conversation.id).contact_id == source.id
    assert list(api.contacts.merges(target.id)) == []


def test_merge_then_undo_restores_the_source(api, unique):
    target, source, conversation = two_contacts(api, unique)
    target = api.contacts.get(target.id)

    result = api.contacts.merge(target.phone, source.id, if_match=target.etag)
    merged = result.contact
    assert merged.id == target.id and merged.last_name == "King"
    assert merged.metadata["plan"] == "premium" and merged.metadata["crm_id"] == "crm-7"
    assert result.merge.id.startswith("mrg_") and result.merge.undone_at is None
    assert api.contacts.get(source.id).id == target.id  # the source's id names the target
    assert api.contacts.get(source.email).id == target.id
    assert api.contacts.get(source.phone).id == target.id  # now a phone identity of the target
    assert api.conversations.get(conversation.id).contact_id == target.id
    assert [c.id for c in api.contacts.conversations(target.id)] == [conversation.id]

    undone = api.merges.undo(result.merge.id)
    assert isinstance(undone, UndoResult)
    assert as_before(undone.source) == as_before(source)
    assert as_before(undone.target) == as_before(target)
    assert undone.merge.id == result.merge.id and undone.merge.undone_at is not None
    assert as_before(api.contacts.get(source.id)) == as_before(source)
    assert api.contacts.get(source.email).id == source.id
    assert as_before(api.contacts.get(target.id)) == as_before(target)
    assert api.conversations.get(conversation.id).contact_id == source.id
    assert [m.text for m in api.conversations.messages(conversation.id)] == ["Hello", "Hi Ada"]

    with pytest.raises(MergeConflictError) as caught:
        api.merges.undo(result.merge.id)
    assert (caught.value.code, caught.value.error) == (409, "merge_conflict")


def test_merges_lists_the_history_of_both_contacts(api, unique):
    target, source, _ = two_contacts(api, unique)
    first = api.contacts.merge(target.id, source.id).merge
    api.merges.undo(first.id)
    second = api.contacts.merge(target.id, source.id).merge

    history = list(api.contacts.merges(target.id))
    assert all(isinstance(m, Merge) for m in history)
    assert [m.id for m in history] == [second.id, first.id]  # newest first
    assert history[0].undone_at is None and history[1].undone_at is not None
    assert (history[1].target_id, history[1].source_id) == (target.id, source.id)

    api.merges.undo(second.id)
    assert [m.id for m in api.contacts.merges(source.id)] == [second.id, first.id]


def test_merge_with_a_stale_etag_is_refused(api, unique):
    target, source, _ = two_contacts(api, unique)
    api.contacts.update(target.id, {"last_name": "Lovelace"})
    with pytest.raises(PreconditionFailedError):
        api.contacts.merge(target.id, source.id, if_match=target.etag)
    assert api.contacts.get(source.id).id == source.id


def test_merging_an_unknown_contact_or_undoing_an_unknown_merge(api, unique):
    target = api.contacts.create({"phone": unique.phone()})
    with pytest.raises(NotFoundError):
        api.contacts.merge(target.id, unique.email())
    with pytest.raises(NotFoundError):
        api.merges.undo("mrg_0000000000000000000000000")
