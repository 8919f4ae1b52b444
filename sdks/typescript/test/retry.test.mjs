// Retries: 429, 503 and dropped connections are tried again, honouring Retry-After, with
// one Idempotency-Key per call, through a loopback proxy in front of a real server.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { Client, ConnectionError, ContactdError, RateLimitedError } from "@contactd/client";
import { startProxy } from "./proxy.mjs";
import { startServer, uniquePhone } from "./server.mjs";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let server;
let direct;
const proxies = [];

before(async () => {
  server = await startServer();
  direct = new Client({ apiKey: server.apiKey, baseUrl: server.url, maxRetries: 0 });
});
after(async () => {
  for (const proxy of proxies) await proxy.close();
  await server?.stop();
});

async function through(plan, options = {}) {
  const proxy = await startProxy(server.url, plan);
  proxies.push(proxy);
  const client = new Client({ apiKey: server.apiKey, baseUrl: proxy.url, retryBaseDelayMs: 20, ...options });
  return { proxy, client };
}

describe("retries", () => {
  test("a POST whose 201 was lost behind a 503 is retried with its key and creates exactly once", async () => {
    const key = await server.newKey("retried-post");
    const counter = new Client({ apiKey: key, baseUrl: server.url });
    const proxy = await startProxy(server.url, (request, n) => (n === 1 ? "forward-then-503" : "forward"));
    proxies.push(proxy);
    const client = new Client({ apiKey: key, baseUrl: proxy.url, retryBaseDelayMs: 20 });

    const contact = await client.contacts.create({ phone: "+1234567890", first_name: "John", last_name: "Doe" });

    assert.equal(proxy.requests.length, 2);
    const [first, retry] = proxy.requests;
    assert.equal(first.method, "POST");
    assert.equal(retry.method, "POST");
    assert.match(first.headers["idempotency-key"], UUID);
    assert.equal(retry.headers["idempotency-key"], first.headers["idempotency-key"]);
    assert.equal(retry.body, first.body);
    assert.equal(first.upstream.status, 201, "the first POST did create the contact");
    assert.equal(retry.upstream.status, 201);
    assert.equal(retry.upstream.headers["idempotent-replayed"], "true", "the retry got the replay");
    assert.equal(contact.id, JSON.parse(first.upstream.body).id);

    assert.equal(await counter.contacts.count(), 1, "exactly one contact exists");
    assert.equal((await counter.contacts.get("+1234567890")).id, contact.id);
  });

  test("each call has its own key; an explicit idempotencyKey is sent as given", async () => {
    const { proxy, client } = await through(() => "forward");
    await client.contacts.create({ phone: uniquePhone() });
    await client.contacts.create({ phone: uniquePhone() }, { idempotencyKey: "import-2026-01-25-row-7" });
    const [a, b] = proxy.requests.map((r) => r.headers["idempotency-key"]);
    assert.match(a, UUID);
    assert.equal(b, "import-2026-01-25-row-7");
    const firstId = JSON.parse(proxy.requests[0].upstream.body).id;
    const c = await client.contacts.update(firstId, { first_name: "Put" });
    assert.equal(c.first_name, "Put");
    assert.equal(proxy.requests[2].method, "PUT");
    assert.equal(proxy.requests[2].headers["idempotency-key"], undefined, "only POSTs carry a key");
  });

  test("a 429 is retried after its Retry-After", async () => {
    const { proxy, client } = await through((request, n) =>
      n === 1 ? { status: 429, headers: { "Retry-After": "1" } } : "forward",
    );
    const created = await direct.contacts.create({ phone: uniquePhone() });
    const started = performance.now();
    const found = await client.contacts.get(created.id);
    const waited = performance.now() - started;
    assert.equal(found.id, created.id);
    assert.equal(proxy.requests.length, 2);
    assert.ok(waited >= 950, `waited ${waited} ms for Retry-After: 1`);
  });

  test("a 503 is retried with backoff up to maxRetries, then thrown", async () => {
    const { proxy, client } = await through(() => ({ status: 503 }), { maxRetries: 2 });
    const error = await client.contacts.list({}).catch((e) => e);
    assert.ok(error instanceof ContactdError, String(error));
    assert.equal(error.code, 503);
    assert.equal(error.error, "unavailable");
    assert.equal(proxy.requests.length, 3, "one try and two retries");
  });

  test("maxRetries: 0 sends once", async () => {
    const { proxy, client } = await through(() => ({ status: 503 }), { maxRetries: 0 });
    await assert.rejects(client.contacts.count(), (e) => e.code === 503);
    assert.equal(proxy.requests.length, 1);
  });

  test("a Retry-After longer than retryMaxDelayMs is not waited for", async () => {
    const { proxy, client } = await through(() => ({ status: 429, headers: { "Retry-After": "120" } }), {
      retryMaxDelayMs: 5_000,
    });
    const started = performance.now();
    const error = await client.contacts.count().catch((e) => e);
    assert.ok(error instanceof RateLimitedError, String(error));
    assert.equal(error.retryAfter, 120);
    assert.equal(proxy.requests.length, 1);
    assert.ok(performance.now() - started < 2_000);
  });

  test("a dropped connection is retried for a GET and a POST (with the same key)", async () => {
    const { proxy, client } = await through((request, n) => (n === 1 || n === 3 ? "drop" : "forward"));
    assert.equal(typeof (await client.contacts.count()), "number");
    const created = await client.contacts.create({ phone: uniquePhone() });
    assert.equal(proxy.requests.length, 4);
    assert.equal(proxy.requests[3].headers["idempotency-key"], proxy.requests[2].headers["idempotency-key"]);
    assert.equal((await direct.contacts.get(created.id)).id, created.id);
  });

  test("a DELETE whose connection dropped is not sent again (it may have run)", async () => {
    const created = await direct.contacts.create({ phone: uniquePhone() });
    const { proxy, client } = await through(() => "drop");
    const error = await client.contacts.delete(created.id).catch((e) => e);
    assert.ok(error instanceof ConnectionError, String(error));
    assert.equal(proxy.requests.length, 1);
  });

  test("with no server at all, a ConnectionError once the retries are spent", async () => {
    const { proxy } = await through(() => "forward");
    const url = proxy.url;
    await proxy.close();
    const client = new Client({ apiKey: server.apiKey, baseUrl: url, maxRetries: 2, retryBaseDelayMs: 10 });
    const error = await client.contacts.get("+14155550123").catch((e) => e);
    assert.ok(error instanceof ConnectionError, String(error));
    assert.ok(error.cause, "the fetch error is its cause");
  });

  test("an aborted call stops waiting, retries included", async () => {
    const { client } = await through(() => ({ status: 503, headers: { "Retry-After": "3" } }));
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("enough")), 200);
    const started = performance.now();
    await assert.rejects(client.contacts.count({}, { signal: controller.signal }), /enough/);
    assert.ok(performance.now() - started < 2_000);
  });
});

describe("against the server's own rate limit", () => {
  let limited;
  before(async () => {
    limited = await startServer({ args: ["--rate-limit-per-second", "2", "--rate-limit-burst", "2"] });
  });
  after(() => limited?.stop());

  test("with retries on, every call of a burst gets through", async () => {
    const client = new Client({ apiKey: limited.apiKey, baseUrl: limited.url, maxRetries: 5 });
    const phones = Array.from({ length: 6 }, () => uniquePhone());
    const created = [];
    for (const phone of phones) created.push(await client.contacts.create({ phone }));
    assert.equal(created.length, 6);
    assert.equal(await client.contacts.count(), 6);
  });
});
