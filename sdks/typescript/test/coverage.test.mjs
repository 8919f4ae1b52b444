// Every operation of docs/openapi.json has a facade method: an operation added to the
// document without one here fails this test.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";

import { Client } from "@contactd/client";

const FACADE = {
  listContacts: "contacts.list",
  createContact: "contacts.create",
  countContacts: "contacts.count",
  getContact: "contacts.get",
  updateContact: "contacts.update",
  deleteContact: "contacts.delete",
  upsertContact: "contacts.upsert",
  batchContacts: "contacts.batch",
  listContactConversations: "contacts.conversations",
  addContactIdentity: "contacts.addIdentity",
  removeContactIdentity: "contacts.removeIdentity",
  mergeContacts: "contacts.merge",
  listContactMerges: "contacts.merges",
  undoMerge: "merges.undo",
  listContactDuplicates: "contacts.duplicates",
  listDuplicates: "duplicates.list",
  createConversation: "conversations.create",
  getConversation: "conversations.get",
  updateConversation: "conversations.update",
  listMessages: "conversations.messages",
  createMessage: "conversations.createMessage",
  listSegments: "segments.list",
  createSegment: "segments.create",
  getSegment: "segments.get",
  updateSegment: "segments.update",
  deleteSegment: "segments.delete",
  listSegmentContacts: "segments.contacts",
  listEvents: "events.list",
  createWebhook: "webhooks.create",
  listWebhooks: "webhooks.list",
  getWebhook: "webhooks.get",
  updateWebhook: "webhooks.update",
  deleteWebhook: "webhooks.delete",
  rotateWebhookSecret: "webhooks.rotateSecret",
  listWebhookDeliveries: "webhooks.deliveries",
  retryWebhookDelivery: "webhooks.retryDelivery",
  checkHealth: "health",
  checkReadiness: "ready",
  getMetrics: "metrics",
  getOpenApi: "openapi",
};

test("every operation in docs/openapi.json has a facade method", async () => {
  const document = JSON.parse(await readFile(new URL("../../../docs/openapi.json", import.meta.url), "utf8"));
  const operations = Object.values(document.paths).flatMap((item) =>
    ["get", "put", "post", "delete", "patch"].filter((m) => item[m]).map((m) => item[m].operationId),
  );
  assert.deepEqual([...operations].sort(), Object.keys(FACADE).sort());

  const client = new Client({ apiKey: "sk_test_unused" });
  for (const [operation, method] of Object.entries(FACADE)) {
    const [owner, name] = method.includes(".") ? method.split(".") : [null, method];
    const target = owner ? client[owner] : client;
    assert.equal(typeof target?.[name], "function", `${operation}: client.${method}`);
  }
});
