"""The list methods read every page: 250 contacts through cursors, with both clients."""

from __future__ import annotations

import uuid

import pytest

from contactd import Client


@pytest.fixture(scope="module")
def tenant(server):
    """The key of a workspace of its own holding 250 contacts (made by three batches),
    and their ids in creation order."""
    key = server.new_key(f"paging-{uuid.uuid4().hex[:8]}")
    made = []
    with Client(api_key=key, base_url=server.url) as api:
        for start in (0, 100, 200):
            size = min(100, 250 - start)
            result = api.contacts.batch(
                [
                    {"email": f"p{n}@paging.example", "metadata": {"n": n, "even": n % 2 == 0}}
                    for n in range(start, start + size)
                ]
            )
            assert result.created == size
            made += [r.contact.id for r in result.results]
    return key, made


def test_list_iterates_250_contacts_across_pages(tenant, proxy, connect):
    key, made = tenant
    api = connect(base_url=proxy.url, api_key=key)

    assert [c.id for c in api.contacts.list()] == made  # each once, in creation order
    pages = proxy.requests("GET")
    assert len(pages) == 3  # 100 a page
    assert "cursor=" not in pages[0].path and all("cursor=" in p.path for p in pages[1:])

    assert sum(1 for _ in api.contacts.list(limit=30)) == 250
    assert len(proxy.requests("GET")) == 3 + 9


def test_list_with_a_filter_and_a_sort_across_pages(tenant, connect):
    key, made = tenant
    api = connect(api_key=key)
    evens = [c.id for c in api.contacts.list(metadata={"even": True}, sort="-created_at", limit=40)]
    assert evens == made[::2][::-1]
    assert api.contacts.count(metadata={"even": True}) == 125


def test_list_reads_a_page_only_when_needed(tenant, proxy, connect):
    key, _ = tenant
    contacts = connect(base_url=proxy.url, api_key=key).contacts.list(limit=10)
    assert proxy.requests() == []
    assert len([next(contacts) for _ in range(10)]) == 10
    assert len(proxy.requests()) == 1


def test_segment_contacts_across_pages(tenant, connect):
    key, made = tenant
    api = connect(api_key=key)
    segment = api.segments.create({"name": "odd", "filter": {"metadata.even": "false"}})
    assert segment.count == 125
    assert [c.id for c in api.segments.contacts(segment.id, limit=50)] == made[1::2]
