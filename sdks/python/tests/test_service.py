"""The operations outside /v2 resources: health, readiness, metrics, the OpenAPI document."""

from __future__ import annotations

import json
from pathlib import Path

DOCUMENT = Path(__file__).resolve().parents[3] / "docs" / "openapi.json"


def test_health_and_readiness(api):
    assert api.health().status == "ok"
    assert api.ready().status == "ready"


def test_the_served_document_is_the_one_the_models_come_from(api):
    assert api.openapi() == json.loads(DOCUMENT.read_text())


def test_metrics_are_text(api):
    text = api.metrics()
    assert isinstance(text, str) and "# TYPE" in text
