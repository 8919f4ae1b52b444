"""The operations outside /v2 resources: health, readiness, metrics, the OpenAPI document."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from contactd import AsyncClient, Client

DOCUMENT = Path(__file__).resolve().parents[3] / "docs" / "openapi.json"


def test_health_and_readiness(api):
    assert api.health().status == "ok"
    assert api.ready().status == "ready"


def test_the_served_document_is_the_one_the_models_come_from(api):
    assert api.openapi() == json.loads(DOCUMENT.read_text())


def test_metrics_are_text(api):
    text = api.metrics()
    assert isinstance(text, str) and "# TYPE" in text


def test_a_given_http_client_is_used_and_left_open(server):
    seen = []
    with httpx.Client(event_hooks={"request": [lambda request: seen.append(request.url.path)]}) as http:
        with Client(api_key=server.key, base_url=server.url, http_client=http) as client:
            client.health()
        assert seen == ["/healthz"] and not http.is_closed
    assert http.is_closed


async def test_a_given_async_http_client_is_used_and_left_open(server):
    seen = []

    async def hook(request):
        seen.append(request.url.path)

    async with httpx.AsyncClient(event_hooks={"request": [hook]}) as http:
        async with AsyncClient(api_key=server.key, base_url=server.url, http_client=http) as client:
            await client.health()
        assert seen == ["/healthz"] and not http.is_closed
