"""The guide's Python sample (`ensure_contact`, in seed_sample.py) runs as written."""

from __future__ import annotations

import importlib

import pytest

from contactd import Client


@pytest.fixture
def seed(server, monkeypatch):
    monkeypatch.setenv("CONTACTD_API_KEY", server.key)
    monkeypatch.setenv("CONTACTD_URL", server.url)
    module = importlib.import_module("seed_sample")
    yield module
    module.client.close()
    del importlib.sys.modules["seed_sample"]


@pytest.fixture
def api(server):
    with Client(api_key=server.key, base_url=server.url) as client:
        yield client


def test_finds_the_contact_by_phone(seed, api, unique):
    phone = unique.phone()
    existing = api.contacts.create({"phone": phone, "first_name": "John"})
    found = seed.ensure_contact(phone, unique.email(), "Someone else")
    assert (found.id, found.first_name) == (existing.id, "John")
    assert found.email is None  # found, not changed


def test_finds_the_contact_by_email(seed, api, unique):
    email = unique.email()
    existing = api.contacts.create({"email": email, "first_name": "Jane"})
    found = seed.ensure_contact(unique.phone(), email, "Someone else")
    assert (found.id, found.phone) == (existing.id, None)


def test_creates_a_new_contact(seed, api, unique):
    phone, email = unique.phone(), unique.email()
    created = seed.ensure_contact(phone, email, "John")
    assert (created.phone, created.email, created.first_name, created.status) == (
        phone,
        email,
        "John",
        "active",
    )
    assert api.contacts.get(phone).id == created.id == api.contacts.get(email).id
    assert seed.ensure_contact(phone, email, "John").id == created.id  # and finds it afterwards
