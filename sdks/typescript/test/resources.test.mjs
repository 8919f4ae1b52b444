// client.conversations, client.segments and the service calls, against a real server.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { Client, InvalidInputError, NotFoundError } from "@contactd/client";
import { startServer, uniquePhone } from "./server.mjs";

let server;
let client;

before(async () => {
  server = await startServer();
  client = new Client({ apiKey: server.apiKey, baseUrl: server.url });
});
after(() => server?.stop());

describe("conversations and messages", () => {
  test("create, get, update, createMessage and messages", async () => {
    const contact = await client.contacts.create({ phone: uniquePhone(), first_name: "John" });
    const conversation = await client.conversations.create({ contact_id: contact.phone, channel: "sms" });
    assert.match(conversation.id, /^conv_[0-9a-z]+$/);
    assert.equal(conversation.contact_id, contact.id, "a phone ref is stored as the id");
    assert.equal(conversation.status, "open");
    assert.equal(conversation.message_count, 0);

    const got = await client.conversations.get(conversation.id);
    assert.deepEqual(got, conversation);

    const texts = ["Hi John", "Hello!", "How can we help?"];
    for (const [i, text] of texts.entries()) {
      const message = await client.conversations.createMessage(conversation.id, {
        direction: i === 1 ? "inbound" : "outbound",
        text,
      });
      assert.match(message.id, /^msg_[0-9a-z]+$/);
      assert.equal(message.conversation_id, conversation.id);
      assert.equal(message.text, text);
    }
    const after = await client.conversations.get(conversation.id);
    assert.equal(after.message_count, 3);
    assert.notEqual(after.last_message_at, null);
    assert.notEqual(
      (await client.contacts.get(contact.id)).last_contacted,
      null,
      "outbound messages set last_contacted",
    );

    const page = await client.conversations.messages(conversation.id, { limit: 2 });
    assert.equal(page.total, 3);
    assert.deepEqual(
      page.data.map((m) => m.text),
      texts.slice(0, 2),
    );
    const all = await client.conversations.messages(conversation.id, { limit: 2 }).toArray();
    assert.deepEqual(
      all.map((m) => m.text),
      texts,
      "oldest first, across pages",
    );

    const closed = await client.conversations.update(conversation.id, { status: "closed" });
    assert.equal(closed.status, "closed");
    const open = await client.contacts.conversations(contact.id, { status: "open" });
    assert.equal(open.total, 0);
  });

  test("a conversation for an unknown contact, and an unknown conversation, are NotFoundError", async () => {
    const noContact = await client.conversations.create({ contact_id: "+14155550199", channel: "sms" }).catch((e) => e);
    assert.ok(noContact instanceof NotFoundError, String(noContact));
    const noConversation = await client.conversations.get("conv_0000000000000000000000000").catch((e) => e);
    assert.ok(noConversation instanceof NotFoundError, String(noConversation));
    const badId = await client.conversations.get("nope").catch((e) => e);
    assert.ok(badId instanceof InvalidInputError, String(badId));
    assert.equal(badId.field, "id");
  });
});

describe("segments", () => {
  test("create, get, list, update, contacts and delete", async () => {
    const key = await server.newKey("segments");
    const seg = new Client({ apiKey: key, baseUrl: server.url });
    const contacts = Array.from({ length: 30 }, (_, i) => ({
      phone: `+1312555${String(i).padStart(4, "0")}`,
      metadata: { plan: i % 3 === 0 ? "premium" : "basic", country: i % 2 === 0 ? "DE" : "US" },
    }));
    await seg.contacts.batch({ contacts });

    const created = await seg.segments.create({
      name: "Premium",
      filter: { "metadata.plan": "premium", status: "active" },
    });
    assert.match(created.id, /^seg_[0-9a-z]+$/);
    assert.equal(created.count, 10);
    assert.deepEqual(created.filter, { "metadata.plan": "premium", status: "active" });

    assert.equal((await seg.segments.get(created.id)).count, 10);

    const members = await seg.segments.contacts(created.id, { limit: 3 }).toArray();
    assert.equal(members.length, 10);
    assert.ok(members.every((c) => c.metadata.plan === "premium"));
    const firstPage = await seg.segments.contacts(created.id, { limit: 3, include_total: true });
    assert.equal(firstPage.data.length, 3);
    assert.equal(firstPage.total, 10);

    const updated = await seg.segments.update(created.id, {
      name: "Premium DE",
      filter: { "metadata.plan": "premium", "metadata.country": "DE" },
    });
    assert.equal(updated.name, "Premium DE");
    assert.equal(updated.count, 5);

    await seg.segments.create({ name: "Basic", filter: { "metadata.plan": "basic" } });
    await seg.segments.create({ name: "US", filter: { "metadata.country": "US" } });
    const listed = await seg.segments.list({ limit: 2 });
    assert.equal(listed.total, 3);
    const names = (await seg.segments.list({ limit: 2 }).toArray()).map((s) => s.name);
    assert.deepEqual(names, ["Premium DE", "Basic", "US"]);

    const deleted = await seg.segments.delete(created.id);
    assert.equal(deleted.id, created.id);
    const gone = await seg.segments.get(created.id).catch((e) => e);
    assert.ok(gone instanceof NotFoundError);
    assert.equal(await seg.contacts.count(), 30, "a segment's contacts stay");
  });

  test("a bad filter is InvalidInputError naming filter.NAME", async () => {
    const error = await client.segments.create({ name: "Bad", filter: { "metadata.score[gtx]": "5" } }).catch((e) => e);
    assert.ok(error instanceof InvalidInputError, String(error));
    assert.equal(error.field, "filter.metadata.score[gtx]");
  });
});

describe("service calls", () => {
  test("health, ready, openapi and metrics", async () => {
    assert.deepEqual(await client.health(), { status: "ok" });
    assert.deepEqual(await client.ready(), { status: "ready" });
    const document = await client.openapi();
    assert.equal(document.openapi, "3.1.0");
    assert.ok(document.paths["/v2/contact"]);
    const metrics = await client.metrics();
    assert.equal(typeof metrics, "string");
    assert.match(metrics, /^# (HELP|TYPE) /m);
  });

  test("service calls need no key; the client still needs one", () => {
    assert.throws(() => new Client({ baseUrl: server.url }), TypeError);
    assert.equal(new Client({ apiKey: "sk_test_x", baseUrl: `${server.url}///` }).baseUrl, server.url);
    assert.equal(new Client({ apiKey: "sk_test_x" }).baseUrl, "http://127.0.0.1:8080");
  });
});
