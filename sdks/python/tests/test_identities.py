"""Identities on contacts (`TYPE:VALUE` refs, add and remove one), with both clients."""

from __future__ import annotations

import itertools

import pytest

from contactd import ContactCreate, DuplicateContactError, Identity, InvalidInputError, NotFoundError

_numbers = itertools.count(1)


def instagram_id() -> str:
    """An Instagram user id no other test uses (the test server is shared)."""
    return f"178414{next(_numbers):011d}"


def test_a_contact_with_an_identity_only(api):
    handle = instagram_id()
    contact = api.contacts.create(
        {"first_name": "Insta", "identities": [{"type": "instagram", "value": handle}]}
    )
    assert (contact.phone, contact.email) == (None, None)
    assert contact.identities == [Identity(type="instagram", value=handle)]
    assert contact.identities[0].type == "instagram" and contact.identities[0].value == handle

    found = api.contacts.get(f"instagram:{handle}")
    assert found.id == contact.id and found.etag
    assert api.contacts.update(f"instagram:{handle}", {"last_name": "Gram"}).full_name == "Insta Gram"
    with pytest.raises(NotFoundError):
        api.contacts.get(f"instagram:{instagram_id()}")


def test_a_contact_without_identities_has_an_empty_list(api, unique):
    assert api.contacts.create({"email": unique.email()}).identities == []


def test_create_takes_identities_in_a_generated_model(api, unique):
    handle = f"crm-{unique.marker}"
    contact = api.contacts.create(
        ContactCreate(email=unique.email(), identities=[Identity(type="external", value=handle)])
    )
    assert api.contacts.get(f"external:{handle}").id == contact.id


def test_add_and_remove_an_identity(api, unique):
    phone = unique.phone()
    contact = api.contacts.create({"email": unique.email()})

    added = api.contacts.add_identity(contact.id, {"type": "whatsapp", "value": phone})
    assert added.identities == [Identity(type="whatsapp", value=phone)]
    assert added.etag and added.etag != contact.etag
    assert api.contacts.get(f"whatsapp:{phone}").id == contact.id

    handle = instagram_id()
    both = api.contacts.add_identity(f"whatsapp:{phone}", f"instagram:{handle}", if_match=added.etag)
    assert [(i.type, i.value) for i in both.identities] == [("whatsapp", phone), ("instagram", handle)]

    removed = api.contacts.remove_identity(contact.email, f"whatsapp:{phone}")
    assert removed.identities == [Identity(type="instagram", value=handle)]
    with pytest.raises(NotFoundError):
        api.contacts.get(f"whatsapp:{phone}")

    left = api.contacts.remove_identity(contact.id, Identity(type="instagram", value=handle))
    assert left.identities == [] and left.email == contact.email
    with pytest.raises(NotFoundError):
        api.contacts.remove_identity(contact.id, f"instagram:{handle}")


def test_the_last_identifier_cannot_be_removed(api):
    handle = instagram_id()
    contact = api.contacts.create({"identities": [{"type": "instagram", "value": handle}]})
    with pytest.raises(InvalidInputError):
        api.contacts.remove_identity(contact.id, f"instagram:{handle}")
    assert api.contacts.get(contact.id).identities == contact.identities


def test_an_identity_held_by_another_contact_is_a_duplicate(api, unique):
    handle = instagram_id()
    holder = api.contacts.create({"identities": [{"type": "instagram", "value": handle}]})

    with pytest.raises(DuplicateContactError) as caught:
        api.contacts.create({"email": unique.email(), "identities": [{"type": "instagram", "value": handle}]})
    assert (caught.value.code, caught.value.error) == (409, "duplicate_contact")
    assert caught.value.existing_contact_id == holder.id

    other = api.contacts.create({"email": unique.email()})
    with pytest.raises(DuplicateContactError) as caught:
        api.contacts.add_identity(other.id, {"type": "instagram", "value": handle})
    assert caught.value.existing_contact_id == holder.id
    assert api.contacts.get(other.id).identities == []


def test_a_phone_identity_shares_uniqueness_with_the_primary_phone(api, unique):
    phone = unique.phone()
    holder = api.contacts.create({"phone": phone})
    with pytest.raises(DuplicateContactError) as caught:
        api.contacts.create({"email": unique.email(), "identities": [{"type": "phone", "value": phone}]})
    assert caught.value.existing_contact_id == holder.id


def test_identity_refs_travel_as_one_escaped_path_segment(connect, proxy, unique):
    api = connect(base_url=proxy.url)
    phone = unique.phone()
    contact = api.contacts.create({"identities": [{"type": "whatsapp", "value": phone}]})
    api.contacts.get(f"whatsapp:{phone}")
    api.contacts.add_identity(contact.id, {"type": "external", "value": f"a/b-{unique.marker}"})
    api.contacts.remove_identity(f"whatsapp:{phone}", f"external:a/b-{unique.marker}")
    digits = phone[1:]
    assert [r.path for r in proxy.requests("GET")] == [f"/v2/contact/whatsapp%3A%2B{digits}"]
    assert [r.path for r in proxy.requests("DELETE")] == [
        f"/v2/contact/whatsapp%3A%2B{digits}/identities/external%3Aa%2Fb-{unique.marker}"
    ]


def test_a_malformed_identity_is_refused_before_sending(api):
    with pytest.raises(ValueError):
        api.contacts.add_identity("cnt_0000000000000000", "instagram")
    with pytest.raises(TypeError):
        api.contacts.remove_identity("cnt_0000000000000000", {"type": "instagram"})
