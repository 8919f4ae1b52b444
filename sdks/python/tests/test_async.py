"""AsyncClient used the way asyncio code uses it: `async with`, `await`, `async for`,
calls running concurrently on one client."""

from __future__ import annotations

import asyncio

import pytest

from contactd import AsyncClient, NotFoundError


@pytest.fixture
async def client(server):
    async with AsyncClient(api_key=server.key, base_url=server.url) as client:
        yield client


async def test_concurrent_creates_and_async_iteration(client, unique):
    tag = unique.marker
    created = await asyncio.gather(
        *(client.contacts.create({"email": unique.email(), "metadata": {"run": tag}}) for _ in range(12))
    )
    listed = [c.id async for c in client.contacts.list(metadata={"run": tag}, limit=5)]
    assert sorted(listed) == sorted(c.id for c in created) and len(listed) == 12


async def test_find_or_create(client, unique):
    phone = unique.phone()

    async def find_or_create(phone, data):
        try:
            return await client.contacts.get(phone)
        except NotFoundError as error:
            assert error.code == 404
            return await client.contacts.create({"phone": phone, **data})

    first = await find_or_create(phone, {"first_name": "John"})
    again = await find_or_create(phone, {"first_name": "Someone else"})
    assert again.id == first.id and again.first_name == "John"
