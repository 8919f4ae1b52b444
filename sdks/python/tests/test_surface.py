"""Every operation of docs/openapi.json has a method in both clients, with the same
parameters; a new operation in the document fails here until the facade has it."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest

from contactd import AsyncClient, Client

DOCUMENT = json.loads((Path(__file__).resolve().parents[3] / "docs" / "openapi.json").read_text())

METHODS = {
    "listContacts": ["contacts.list", "contacts.list_page"],
    "createContact": ["contacts.create"],
    "countContacts": ["contacts.count"],
    "getContact": ["contacts.get"],
    "updateContact": ["contacts.update"],
    "deleteContact": ["contacts.delete"],
    "upsertContact": ["contacts.upsert"],
    "batchContacts": ["contacts.batch"],
    "listContactConversations": ["contacts.conversations", "contacts.conversations_page"],
    "addContactIdentity": ["contacts.add_identity"],
    "removeContactIdentity": ["contacts.remove_identity"],
    "mergeContacts": ["contacts.merge"],
    "listContactMerges": ["contacts.merges"],
    "undoMerge": ["merges.undo"],
    "listContactDuplicates": ["contacts.duplicates"],
    "listDuplicates": ["duplicates.list", "duplicates.list_page"],
    "createConversation": ["conversations.create"],
    "getConversation": ["conversations.get"],
    "updateConversation": ["conversations.update"],
    "listMessages": ["conversations.messages", "conversations.messages_page"],
    "createMessage": ["conversations.create_message"],
    "listSegments": ["segments.list", "segments.list_page"],
    "createSegment": ["segments.create"],
    "getSegment": ["segments.get"],
    "updateSegment": ["segments.update"],
    "deleteSegment": ["segments.delete"],
    "listSegmentContacts": ["segments.contacts", "segments.contacts_page"],
    "listEvents": ["events.list", "events.list_page", "events.follow"],
    "createWebhook": ["webhooks.create"],
    "listWebhooks": ["webhooks.list"],
    "getWebhook": ["webhooks.get"],
    "updateWebhook": ["webhooks.update"],
    "deleteWebhook": ["webhooks.delete"],
    "rotateWebhookSecret": ["webhooks.rotate_secret"],
    "listWebhookDeliveries": ["webhooks.deliveries", "webhooks.deliveries_page"],
    "retryWebhookDelivery": ["webhooks.retry_delivery"],
    "checkHealth": ["health"],
    "checkReadiness": ["ready"],
    "getMetrics": ["metrics"],
    "getOpenApi": ["openapi"],
}


def operation_ids() -> set[str]:
    return {
        op["operationId"]
        for path in DOCUMENT["paths"].values()
        for op in path.values()
        if isinstance(op, dict)
    }


def method(client: object, dotted: str):
    target = client
    for part in dotted.split("."):
        target = getattr(target, part)
    return target


def test_every_operation_of_the_document_has_methods():
    assert set(METHODS) == operation_ids()


@pytest.mark.parametrize("dotted", [m for ms in METHODS.values() for m in ms])
def test_both_clients_have_the_method_with_the_same_parameters(dotted):
    sync = Client(api_key="sk_test_x")
    blocking = inspect.signature(method(sync, dotted))
    coroutine = method(AsyncClient(api_key="sk_test_x"), dotted)
    asynchronous = inspect.signature(coroutine)
    assert blocking.parameters == asynchronous.parameters
    if blocking.return_annotation.startswith("Iterator[") or blocking.return_annotation == "EventFeed":
        # The lists that read every page: an iterator, an async iterator.
        assert asynchronous.return_annotation == "Async" + blocking.return_annotation
        assert not inspect.iscoroutinefunction(coroutine)
    else:
        assert asynchronous.return_annotation == blocking.return_annotation
        assert inspect.iscoroutinefunction(coroutine)
    sync.close()


def test_configuration_from_the_environment(monkeypatch):
    monkeypatch.setenv("CONTACTD_API_KEY", "sk_test_env")
    monkeypatch.setenv("CONTACTD_URL", "http://contactd.internal:9000/")
    assert Client().base_url == "http://contactd.internal:9000"
    monkeypatch.delenv("CONTACTD_URL")
    assert Client().base_url == AsyncClient().base_url == "http://127.0.0.1:8080"
    monkeypatch.delenv("CONTACTD_API_KEY")
    with pytest.raises(ValueError, match="CONTACTD_API_KEY"):
        Client()
