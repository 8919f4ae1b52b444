// client.contacts: every method against a real server.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { Client, NotFoundError, PreconditionFailedError } from "@contactd/client";
import { startProxy } from "./proxy.mjs";
import { startServer, uniquePhone } from "./server.mjs";

let server;
let client;

before(async () => {
  server = await startServer();
  client = new Client({ apiKey: server.apiKey, baseUrl: server.url });
});
after(() => server?.stop());

describe("contacts", () => {
  test("create answers the contact with every field, and its ETag", async () => {
    const phone = uniquePhone();
    const contact = await client.contacts.create({
      phone,
      email: "john@example.com",
      first_name: "John",
      last_name: "Doe",
      preferred_channel: "whatsapp",
      metadata: { customer_id: "cust_abc123", plan: "premium", tags: ["vip"], preferences: { language: "en" } },
    });
    assert.deepEqual(Object.keys(contact).sort(), [
      "created_at",
      "email",
      "first_name",
      "full_name",
      "id",
      "identities",
      "last_contacted",
      "last_name",
      "metadata",
      "phone",
      "preferred_channel",
      "status",
      "updated_at",
    ]);
    assert.equal(contact.phone, phone);
    assert.equal(contact.full_name, "John Doe");
    assert.equal(contact.last_contacted, null);
    assert.deepEqual(contact.metadata.preferences, { language: "en" });
    assert.match(contact.etag, /^".+"$/);
    assert.ok(!JSON.stringify(contact).includes("etag"), "the etag stays out of the JSON");
  });

  test("get finds a contact by id, by phone (+ encoded) and by email in any case", async () => {
    const phone = uniquePhone();
    const created = await client.contacts.create({ phone, email: "Ada.Lovelace+crm@example.com", first_name: "Ada" });
    for (const ref of [created.id, phone, "Ada.Lovelace+crm@example.com", "ada.lovelace+crm@EXAMPLE.com"]) {
      const found = await client.contacts.get(ref);
      assert.equal(found.id, created.id, ref);
      assert.equal(found.etag, created.etag, ref);
    }
  });

  test("update changes only the fields sent and merges metadata; null removes a key", async () => {
    const created = await client.contacts.create({
      phone: uniquePhone(),
      first_name: "John",
      last_name: "Doe",
      metadata: { plan: "premium", source: "website" },
    });
    const updated = await client.contacts.update(created.id, {
      email: "john.doe@newcompany.com",
      metadata: { plan: "enterprise", company: "New Company Inc" },
    });
    assert.equal(updated.first_name, "John");
    assert.equal(updated.email, "john.doe@newcompany.com");
    assert.deepEqual(updated.metadata, { plan: "enterprise", source: "website", company: "New Company Inc" });
    assert.notEqual(updated.etag, created.etag);

    const removed = await client.contacts.update(created.phone, { metadata: { source: null }, last_name: null });
    assert.deepEqual(removed.metadata, { plan: "enterprise", company: "New Company Inc" });
    assert.equal(removed.last_name, null);
    assert.equal(removed.full_name, "John");
  });

  test("update and delete with ifMatch: the current version goes through, an old one is refused", async () => {
    const created = await client.contacts.create({ phone: uniquePhone(), first_name: "V1" });
    const v2 = await client.contacts.update(created.id, { first_name: "V2" }, { ifMatch: created.etag });
    assert.equal(v2.first_name, "V2");

    const stale = await client.contacts
      .update(created.id, { first_name: "V3" }, { ifMatch: created.etag })
      .catch((e) => e);
    assert.ok(stale instanceof PreconditionFailedError, String(stale));
    assert.equal(stale.code, 412);
    assert.equal(stale.currentEtag, v2.etag);
    assert.equal((await client.contacts.get(created.id)).first_name, "V2", "nothing changed");

    const refused = await client.contacts.delete(created.id, { ifMatch: created.etag }).catch((e) => e);
    assert.ok(refused instanceof PreconditionFailedError);
    const deleted = await client.contacts.delete(created.id, { ifMatch: v2.etag });
    assert.equal(deleted.status, "deleted");
  });

  test("delete answers the contact as it was, status deleted; then it is gone", async () => {
    const created = await client.contacts.create({ phone: uniquePhone(), email: "gone@example.com" });
    const deleted = await client.contacts.delete("gone@example.com");
    assert.equal(deleted.id, created.id);
    assert.equal(deleted.status, "deleted");
    const error = await client.contacts.get(created.id).catch((e) => e);
    assert.ok(error instanceof NotFoundError);
    assert.equal(error.code, 404);
  });

  test("upsert creates, updates, or finds nothing to change, and says which", async () => {
    const phone = uniquePhone();
    const first = await client.contacts.upsert({ phone, first_name: "Grace" });
    assert.equal(first.result, "created");
    assert.equal(first.contact.first_name, "Grace");
    const second = await client.contacts.upsert({ phone, last_name: "Hopper" });
    assert.equal(second.result, "updated");
    assert.equal(second.contact.id, first.contact.id);
    assert.equal(second.contact.full_name, "Grace Hopper");
    const third = await client.contacts.upsert({ phone, last_name: "Hopper" });
    assert.equal(third.result, "unchanged");
    assert.equal(third.contact.updated_at, second.contact.updated_at);
  });

  test("batch processes each item alone and answers a result per item", async () => {
    const phone = uniquePhone();
    const answer = await client.contacts.batch({
      mode: "upsert",
      contacts: [{ phone, first_name: "Batch" }, { phone: "bad" }, { phone, last_name: "Item" }],
    });
    assert.equal(answer.created, 1);
    assert.equal(answer.updated, 1);
    assert.equal(answer.errors, 1);
    assert.deepEqual(
      answer.results.map((r) => [r.index, r.status]),
      [
        [0, "created"],
        [1, "error"],
        [2, "updated"],
      ],
    );
    assert.equal(answer.results[1].error.error, "invalid_input");
    assert.equal(answer.results[1].error.details.field, "phone");
    assert.equal(answer.results[2].contact.full_name, "Batch Item");
  });

  test("conversations lists a contact's conversations with filters, and iterates them all", async () => {
    const contact = await client.contacts.create({ phone: uniquePhone() });
    const channels = ["sms", "whatsapp", "email", "sms", "instagram"];
    for (const channel of channels) {
      await client.conversations.create({ contact_id: contact.phone, channel });
    }
    const page = await client.contacts.conversations(contact.id, { limit: 2 });
    assert.equal(page.total, 5);
    assert.equal(page.data.length, 2);
    assert.equal(page.has_more, true);

    const all = await client.contacts.conversations(contact.id, { limit: 2 }).toArray();
    assert.equal(all.length, 5);
    assert.equal(new Set(all.map((c) => c.id)).size, 5);
    assert.deepEqual(all.map((c) => c.channel).reverse(), channels, "newest first");

    const sms = [];
    for await (const conversation of client.contacts.conversations(contact.phone, { channel: "sms", limit: 1 })) {
      sms.push(conversation);
    }
    assert.equal(sms.length, 2);
    assert.ok(sms.every((c) => c.channel === "sms" && c.contact_id === contact.id));
  });
});

describe("contacts.list and count", () => {
  let tagged;
  let listingKey;
  before(async () => {
    // A workspace of its own, so the counts below are exact.
    listingKey = await server.newKey("listing");
    tagged = new Client({ apiKey: listingKey, baseUrl: server.url });
    const contacts = [];
    for (let i = 0; i < 250; i++) {
      contacts.push({
        phone: `+1650555${String(i).padStart(4, "0")}`,
        first_name: i % 2 === 0 ? "Even" : "Odd",
        last_name: `Number${i}`,
        metadata: { n: i, plan: i % 5 === 0 ? "premium" : "basic", tags: i % 10 === 0 ? ["vip"] : [] },
        status: i % 7 === 0 ? "inactive" : "active",
      });
    }
    const answer = await tagged.contacts.batch({ contacts });
    assert.equal(answer.created, 250);
  });

  test("iterating a list follows next_cursor through all 250 contacts, each once, in order", async () => {
    const seen = [];
    for await (const contact of tagged.contacts.list({ limit: 100 })) seen.push(contact);
    assert.equal(seen.length, 250);
    assert.equal(new Set(seen.map((c) => c.id)).size, 250);
    assert.deepEqual(
      seen.map((c) => c.metadata.n),
      Array.from({ length: 250 }, (_, i) => i),
    );
  });

  test("the pages after the first are asked for by next_cursor, with the same filters", async () => {
    const proxy = await startProxy(server.url);
    try {
      const viaProxy = new Client({ apiKey: listingKey, baseUrl: proxy.url });
      const seen = await viaProxy.contacts
        .list({ limit: 100, status: "active", metadata: { plan: "basic" } })
        .toArray();
      const expected = Array.from({ length: 250 }, (_, i) => i).filter((i) => i % 5 !== 0 && i % 7 !== 0);
      assert.deepEqual(
        seen.map((c) => c.metadata.n),
        expected,
        "basic (not every 5th) and active (not every 7th)",
      );
      const queries = proxy.requests.map((r) => new URL(r.url, proxy.url).searchParams);
      assert.equal(queries.length, 2);
      assert.equal(queries[0].get("cursor"), null);
      assert.ok(queries[1].get("cursor"), "the second page by cursor");
      for (const query of queries) {
        assert.equal(query.get("offset"), null);
        assert.equal(query.get("limit"), "100");
        assert.equal(query.get("status"), "active");
        assert.equal(query.get("metadata[plan]"), "basic");
      }
    } finally {
      await proxy.close();
    }
  });

  test("with the default page size too (13 pages), and page by page", async () => {
    assert.equal((await tagged.contacts.list().toArray()).length, 250);
    const sizes = [];
    for await (const page of tagged.contacts.list({ limit: 60 }).pages()) sizes.push(page.data.length);
    assert.deepEqual(sizes, [60, 60, 60, 60, 10]);
  });

  test("awaiting a list gives its first page", async () => {
    const page = await tagged.contacts.list({ limit: 10, include_total: true });
    assert.equal(page.data.length, 10);
    assert.equal(page.total, 250);
    assert.equal(page.has_more, true);
    assert.equal(typeof page.next_cursor, "string");
  });

  test("filters, metadata filters with operators, and sort go through", async () => {
    const premium = await tagged.contacts.list({ metadata: { plan: "premium" }, limit: 100 }).toArray();
    assert.equal(premium.length, 50);
    assert.ok(premium.every((c) => c.metadata.plan === "premium"));

    const range = await tagged.contacts.list({ metadata: { "n[gte]": 240, "n[lt]": 245 } }).toArray();
    assert.deepEqual(
      range.map((c) => c.metadata.n),
      [240, 241, 242, 243, 244],
    );

    const vipInactive = await tagged.contacts.list({ status: "inactive", metadata: { tags: "vip" } }).toArray();
    assert.deepEqual(
      vipInactive.map((c) => c.metadata.n),
      [0, 70, 140, 210],
    );

    const newest = await tagged.contacts.list({ sort: "-created_at", limit: 3 });
    assert.deepEqual(
      newest.data.map((c) => c.metadata.n),
      [249, 248, 247],
    );

    const found = await tagged.contacts.list({ q: "odd number24" }).toArray();
    assert.deepEqual(found.map((c) => c.last_name).sort(), [
      "Number241",
      "Number243",
      "Number245",
      "Number247",
      "Number249",
    ]);
  });

  test("offset paging is followed too", async () => {
    const page = await tagged.contacts.list({ offset: 240, limit: 4 });
    assert.equal(page.offset, 240);
    assert.equal(page.total, 250);
    const rest = await tagged.contacts.list({ offset: 240, limit: 4 }).toArray();
    assert.deepEqual(
      rest.map((c) => c.metadata.n),
      [240, 241, 242, 243, 244, 245, 246, 247, 248, 249],
    );
  });

  test("count answers the number of matching contacts", async () => {
    assert.equal(await tagged.contacts.count(), 250);
    assert.equal(await tagged.contacts.count({ metadata: { plan: "premium" } }), 50);
    assert.equal(await tagged.contacts.count({ status: "inactive" }), 36);
    assert.equal(await tagged.contacts.count({ q: "even" }), 125);
    assert.equal(await tagged.contacts.count({ metadata: { "n[gt]": 199 } }), 50);
  });
});
