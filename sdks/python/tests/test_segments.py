"""client.segments, with both clients."""

from __future__ import annotations

import pytest

from contactd import NotFoundError, Segment, SegmentList


def test_segment_life(api, unique):
    tag = unique.marker
    premium = [
        api.contacts.create({"email": unique.email(), "metadata": {"run": tag, "plan": "premium"}})
        for _ in range(3)
    ]
    api.contacts.create({"email": unique.email(), "metadata": {"run": tag, "plan": "basic"}})

    segment = api.segments.create(
        {"name": f"Premium {tag}", "filter": {"metadata.run": tag, "metadata.plan": "premium"}}
    )
    assert isinstance(segment, Segment) and segment.id.startswith("seg_") and segment.count == 3
    assert api.segments.get(segment.id).filter == {"metadata.run": tag, "metadata.plan": "premium"}
    assert [c.id for c in api.segments.contacts(segment.id, limit=2)] == [c.id for c in premium]
    page = api.segments.contacts_page(segment.id, limit=2, include_total=True)
    assert (len(page.data), page.total, page.has_more) == (2, 3, True)

    renamed = api.segments.update(segment.id, {"name": f"All {tag}", "filter": {"metadata.run": tag}})
    assert renamed.name == f"All {tag}" and renamed.count == 4
    assert segment.id in [s.id for s in api.segments.list()]
    listed = api.segments.list_page(limit=1)
    assert isinstance(listed, SegmentList) and len(listed.data) == 1

    deleted = api.segments.delete(segment.id)
    assert deleted.id == segment.id
    with pytest.raises(NotFoundError):
        api.segments.get(segment.id)
    assert api.contacts.count(metadata={"run": tag}) == 4  # its contacts stay


def test_segments_list_follows_the_pages(connect, server, unique):
    api = connect(api_key=server.new_key(f"segments-{unique.marker}"))
    made = [api.segments.create({"name": f"s{n}", "filter": {"status": "active"}}).id for n in range(5)]
    assert [s.id for s in api.segments.list(limit=2)] == made
