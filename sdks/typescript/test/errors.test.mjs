// Each error class, raised by a real server's answer.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import {
  Client,
  ContactdError,
  DuplicateContactError,
  IdempotencyConflictError,
  InvalidInputError,
  NotFoundError,
  PreconditionFailedError,
  RateLimitedError,
  UnauthorizedError,
} from "@contactd/client";
import { startServer, uniquePhone } from "./server.mjs";

let server;
let client;

before(async () => {
  server = await startServer();
  client = new Client({ apiKey: server.apiKey, baseUrl: server.url });
});
after(() => server?.stop());

async function failure(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail("the call did not fail");
}

describe("errors", () => {
  test("NotFoundError: code 404, error not_found, a message, details {}", async () => {
    const error = await failure(client.contacts.get("cnt_0000000000000000000000000"));
    assert.ok(error instanceof NotFoundError);
    assert.ok(error instanceof ContactdError);
    assert.ok(error instanceof Error);
    assert.equal(error.name, "NotFoundError");
    assert.equal(error.code, 404);
    assert.equal(error.error, "not_found");
    assert.equal(typeof error.message, "string");
    assert.notEqual(error.message, "");
    assert.deepEqual(error.details, {});
    assert.equal(typeof error.requestId, "string");
  });

  test("DuplicateContactError: existingContactId names the contact holding the phone", async () => {
    const phone = uniquePhone();
    const first = await client.contacts.create({ phone });
    const error = await failure(client.contacts.create({ phone, first_name: "Again" }));
    assert.ok(error instanceof DuplicateContactError, String(error));
    assert.equal(error.code, 409);
    assert.equal(error.error, "duplicate_contact");
    assert.equal(error.existingContactId, first.id);
    assert.equal(error.details.existing_contact_id, first.id);
    assert.equal(error.details.field, "phone");
  });

  test("InvalidInputError: field, received and expected, as in the seed's example", async () => {
    const error = await failure(client.contacts.create({ phone: "1234567890" }));
    assert.ok(error instanceof InvalidInputError, String(error));
    assert.equal(error.code, 400);
    assert.equal(error.error, "invalid_input");
    assert.equal(error.message, "Phone number must be in E.164 format");
    assert.equal(error.field, "phone");
    assert.equal(error.received, "1234567890");
    assert.equal(error.expected, "+1234567890");
  });

  test("InvalidInputError for a query parameter and for a ref", async () => {
    const limit = await failure(client.contacts.list({ limit: 101 }));
    assert.ok(limit instanceof InvalidInputError);
    assert.equal(limit.field, "limit");
    const ref = await failure(client.contacts.get("not a ref"));
    assert.ok(ref instanceof InvalidInputError);
    assert.equal(ref.field, "ref");
  });

  test("a ref that the URL would resolve away is refused before sending", async () => {
    for (const ref of ["", ".", ".."]) {
      await assert.rejects(client.contacts.get(ref), InvalidInputError);
      await assert.rejects(client.contacts.conversations(ref), InvalidInputError);
      await assert.rejects(client.segments.contacts(ref).toArray(), InvalidInputError);
    }
  });

  test("UnauthorizedError: a wrong key is 401", async () => {
    const stranger = new Client({ apiKey: "sk_test_not_a_real_key", baseUrl: server.url, maxRetries: 0 });
    const error = await failure(stranger.contacts.count());
    assert.ok(error instanceof UnauthorizedError, String(error));
    assert.equal(error.code, 401);
    assert.equal(error.error, "unauthorized");
  });

  test("another workspace's contact is a NotFoundError, like a missing one", async () => {
    const mine = await client.contacts.create({ phone: uniquePhone() });
    const other = new Client({ apiKey: await server.newKey("other-tenant"), baseUrl: server.url });
    const error = await failure(other.contacts.get(mine.id));
    assert.ok(error instanceof NotFoundError);
  });

  test("PreconditionFailedError: currentEtag", async () => {
    const contact = await client.contacts.create({ phone: uniquePhone() });
    const error = await failure(client.contacts.update(contact.id, { first_name: "X" }, { ifMatch: '"stale"' }));
    assert.ok(error instanceof PreconditionFailedError, String(error));
    assert.equal(error.code, 412);
    assert.equal(error.currentEtag, contact.etag);
  });

  test("IdempotencyConflictError: one key reused for another request", async () => {
    const idempotencyKey = `reused-${Date.now()}`;
    await client.contacts.create({ phone: uniquePhone() }, { idempotencyKey });
    const error = await failure(client.contacts.create({ phone: uniquePhone() }, { idempotencyKey }));
    assert.ok(error instanceof IdempotencyConflictError, String(error));
    assert.equal(error.code, 409);
    assert.equal(error.error, "idempotency_conflict");
  });

  test("other errors are a ContactdError with their code: a body over the limit is 413", async () => {
    const error = await failure(
      client.contacts.create({ phone: uniquePhone(), metadata: { blob: "x".repeat(1024 * 1024 + 10) } }),
    );
    assert.equal(error.constructor, ContactdError);
    assert.equal(error.code, 413);
    assert.equal(error.error, "payload_too_large");
    assert.equal(typeof error.details.limit_bytes, "number");
  });
});

describe("RateLimitedError", () => {
  let limited;
  before(async () => {
    limited = await startServer({ args: ["--rate-limit-per-second", "1", "--rate-limit-burst", "1"] });
  });
  after(() => limited?.stop());

  test("code 429, error rate_limited, retryAfter in seconds from Retry-After", async () => {
    const client = new Client({ apiKey: limited.apiKey, baseUrl: limited.url, maxRetries: 0 });
    await client.contacts.count();
    const error = await failure(client.contacts.count());
    assert.ok(error instanceof RateLimitedError, String(error));
    assert.ok(error instanceof ContactdError);
    assert.equal(error.code, 429);
    assert.equal(error.error, "rate_limited");
    assert.ok(Number.isInteger(error.retryAfter) && error.retryAfter >= 1, `retryAfter ${error.retryAfter}`);
  });
});
