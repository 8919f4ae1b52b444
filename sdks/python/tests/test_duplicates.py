"""client.contacts.duplicates and client.duplicates, with both clients."""

from __future__ import annotations

import pytest

from contactd import DuplicateCandidate, DuplicatePair, DuplicatePairList


def test_a_contacts_duplicates_with_score_and_reasons(api, unique):
    gmail = api.contacts.create({"email": f"{unique.marker}.doe+crm@gmail.com", "first_name": "John"})
    same = api.contacts.create({"email": f"{unique.marker}doe@googlemail.com"})
    other = api.contacts.create({"email": f"{unique.marker}@example.com"})

    found = list(api.contacts.duplicates(gmail.id))
    assert all(isinstance(d, DuplicateCandidate) for d in found)
    assert [d.contact.id for d in found] == [same.id]
    assert found[0].contact.model_dump() == api.contacts.get(same.id).model_dump()
    assert found[0].reasons == ["email_normalized"] and 0 < found[0].score <= 1
    assert [d.contact.id for d in api.contacts.duplicates(same.email)] == [gmail.id]
    assert list(api.contacts.duplicates(other.id)) == []


def test_a_phone_and_a_whatsapp_identity_overlap(api, unique):
    phone = unique.phone()
    holder = api.contacts.create({"phone": phone})
    chat = api.contacts.create(
        {"email": unique.email(), "identities": [{"type": "whatsapp", "value": phone}]}
    )
    (candidate,) = api.contacts.duplicates(f"whatsapp:{phone}")
    assert candidate.contact.id == holder.id and "identity_overlap" in candidate.reasons
    api.contacts.remove_identity(chat.id, f"whatsapp:{phone}")
    assert list(api.contacts.duplicates(holder.id)) == []  # a change takes the suggestion back


def test_the_workspaces_pairs_page_by_page(connect, server, unique):
    api = connect(api_key=server.new_key(f"duplicates-{unique.marker}"))
    made = []
    for n in range(3):
        x = api.contacts.create({"email": f"pair{n}.x@gmail.com"})
        y = api.contacts.create({"email": f"pair{n}x+tag@gmail.com"})
        made.append(tuple(sorted((x.id, y.id))))
    api.contacts.create({"email": "alone@example.com"})

    pairs = list(api.duplicates.list(limit=2))
    assert all(isinstance(p, DuplicatePair) for p in pairs)
    assert sorted((p.a, p.b) for p in pairs) == sorted(made)
    assert all(p.a < p.b and p.reasons == ["email_normalized"] for p in pairs)

    first = api.duplicates.list_page(limit=2)
    assert isinstance(first, DuplicatePairList)
    assert (len(first.data), first.limit, first.has_more) == (2, 2, True) and first.next_cursor
    rest = api.duplicates.list_page(limit=2, cursor=first.next_cursor)
    assert len(rest.data) == 1 and not rest.has_more and rest.next_cursor is None
    assert [(p.a, p.b) for p in first.data + rest.data] == [(p.a, p.b) for p in pairs]


def test_duplicates_list_refuses_a_cursor(api):
    with pytest.raises(TypeError, match="list_page"):
        api.duplicates.list(cursor="abc")
