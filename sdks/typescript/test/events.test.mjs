// client.events and client.webhooks against a real server: the feed in commit order and
// resumable, a long poll woken by a write, and deliveries to a receiver on loopback that
// verifies each with verifyWebhookSignature.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, describe, test } from "node:test";

import { Client, InvalidInputError, NotFoundError, verifyWebhookSignature } from "@contactd/client";

import { startServer } from "./server.mjs";

let server;
let n = 0;
const phone = () => `+1555${String(Date.now() % 1e4).padStart(4, "0")}${String(++n).padStart(3, "0")}`;
const fresh = async () =>
  new Client({ apiKey: await server.newKey(`events-${Date.now()}-${++n}`), baseUrl: server.url });

before(async () => {
  server = await startServer({ args: ["--webhook-allow-private"] });
});
after(async () => {
  await server?.stop();
});

describe("client.events", () => {
  test("lists changes in commit order and resumes from its cursor", async () => {
    const client = await fresh();
    const contact = await client.contacts.create({ phone: phone(), first_name: "Zoë" });
    await client.contacts.update(contact.id, { last_name: "Doe" });
    const [updated] = await client.events.list({ types: ["contact.updated"] }).toArray();
    assert.deepEqual(updated.data.changed_fields, ["last_name"]);
    assert.equal(updated.data.object.first_name, "Zoë");
    await client.contacts.delete(contact.id);

    const feed = client.events.list();
    const events = await feed.toArray();
    assert.deepEqual(
      events.map((e) => e.type),
      ["contact.created", "contact.updated", "contact.deleted"],
    );
    assert.ok(events[0].sequence < events[1].sequence && events[1].sequence < events[2].sequence);
    assert.ok(!JSON.stringify(events).includes("Zoë"), "no personal data after the delete");

    assert.deepEqual(await client.events.list({ after: feed.cursor }).toArray(), []);
    const second = await client.contacts.create({ phone: phone() });
    const resumed = await client.events.list({ after: feed.cursor }).toArray();
    assert.deepEqual(
      resumed.map((e) => [e.type, e.data.object.id]),
      [["contact.created", second.id]],
    );
  });

  test("filters by type and pages", async () => {
    const client = await fresh();
    for (let i = 0; i < 3; i++) await client.contacts.delete((await client.contacts.create({ phone: phone() })).id);
    const deleted = await client.events.list({ types: ["contact.deleted"], limit: 2 }).toArray();
    assert.deepEqual(
      deleted.map((e) => e.type),
      ["contact.deleted", "contact.deleted", "contact.deleted"],
    );
    const page = await client.events.listPage({ types: "contact.created", limit: 2 });
    assert.equal(page.data.length, 2);
    assert.equal(page.has_more, true);
    const rest = await client.events.listPage({ after: page.next_cursor, types: "contact.created" });
    assert.equal(rest.data.length, 1);
    assert.equal(rest.has_more, false);
    await assert.rejects(client.events.listPage({ after: "not a cursor" }), (e) => e instanceof InvalidInputError);
  });

  test("follow waits for the next event", async () => {
    const client = await fresh();
    const wanted = phone();
    setTimeout(() => client.contacts.create({ phone: wanted }), 300);
    const started = Date.now();
    for await (const event of client.events.follow({ wait: 10 })) {
      assert.equal(event.type, "contact.created");
      assert.equal(event.data.object.phone, wanted);
      break;
    }
    assert.ok(Date.now() - started < 9000);
  });
});

describe("client.webhooks", () => {
  test("a webhook receives signed events and logs its deliveries", async () => {
    const received = [];
    const receiver = createServer((req, res) => {
      const chunks = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => {
        received.push({ body: Buffer.concat(chunks).toString("utf8"), headers: req.headers });
        res.writeHead(204).end();
      });
    });
    await new Promise((ok) => receiver.listen(0, "127.0.0.1", ok));
    const url = `http://127.0.0.1:${receiver.address().port}/hooks`;
    const waitFor = async (count) => {
      const deadline = Date.now() + 20000;
      while (received.length < count) {
        assert.ok(Date.now() < deadline, `${received.length} of ${count} deliveries came`);
        await new Promise((ok) => setTimeout(ok, 50));
      }
    };
    try {
      const client = await fresh();
      const webhook = await client.webhooks.create({ url, event_types: ["contact.created"] });
      assert.match(webhook.secret, /^whsec_/);
      assert.deepEqual(
        (await client.webhooks.list()).data.map((w) => w.id),
        [webhook.id],
      );

      const contact = await client.contacts.create({ phone: phone() });
      await waitFor(1);
      const event = await verifyWebhookSignature(received[0].body, received[0].headers, webhook.secret);
      assert.equal(event.type, "contact.created");
      assert.equal(event.data.object.id, contact.id);

      let deliveries;
      for (const deadline = Date.now() + 10000; ; ) {
        deliveries = await client.webhooks.deliveries(webhook.id).toArray();
        if (deliveries[0]?.state === "succeeded") break;
        assert.ok(Date.now() < deadline, JSON.stringify(deliveries));
        await new Promise((ok) => setTimeout(ok, 100));
      }
      assert.deepEqual(
        deliveries.map((d) => d.event_id),
        [event.id],
      );
      await client.webhooks.retryDelivery(webhook.id, deliveries[0].id);
      await waitFor(2);

      const rotated = await client.webhooks.rotateSecret(webhook.id);
      assert.notEqual(rotated.secret, webhook.secret);
      await client.contacts.create({ phone: phone() });
      await waitFor(3);
      await verifyWebhookSignature(received[2].body, received[2].headers, rotated.secret);
      await verifyWebhookSignature(received[2].body, received[2].headers, webhook.secret);

      assert.equal((await client.webhooks.update(webhook.id, { status: "disabled" })).status, "disabled");
      await client.webhooks.delete(webhook.id);
      await assert.rejects(client.webhooks.get(webhook.id), (e) => e instanceof NotFoundError);
    } finally {
      receiver.close();
    }
  });
});
