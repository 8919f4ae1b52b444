// The JavaScript samples of the API page contactd is wire-compatible with, run against a
// real server. The two functions below are copied verbatim from that page (its code blocks
// lost their indentation there, and are kept exactly as they stand); only the construction
// of `client` is added.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { Client, NotFoundError } from "@contactd/client";
import { startServer } from "./server.mjs";

let server;
let client;

before(async () => {
  server = await startServer();
  client = new Client({ apiKey: server.apiKey, baseUrl: server.url });
});
after(() => server?.stop());

// ---- copied verbatim from the seed ("Upsert Pattern") ----
// prettier-ignore
async function findOrCreateContact(phone, data) {
try {
// Try to find existing contact
return await client.contacts.get(phone);
} catch (error) {
if (error.code === 404) {
// Create new contact
return await client.contacts.create({
phone,
...data
});
}
throw error;
}
}
// ---- end of the copy ----

// ---- copied verbatim from the seed ("Syncing with Your CRM") ----
// prettier-ignore
// When a contact is updated in your CRM
async function syncContactToHueChat(crmContact) {
await client.contacts.update(crmContact.phone, {
first_name: crmContact.firstName,
last_name: crmContact.lastName,
email: crmContact.email,
metadata: {
crm_id: crmContact.id,
company: crmContact.company,
deal_stage: crmContact.dealStage,
last_synced: new Date().toISOString()
}
});
}
// ---- end of the copy ----

describe("findOrCreateContact (seed sample)", () => {
  test("creates the contact when the phone is unknown, then finds the same one", async () => {
    const created = await findOrCreateContact("+1234567890", {
      first_name: "John",
      last_name: "Doe",
      metadata: { plan: "premium" },
    });
    assert.match(created.id, /^cnt_[0-9a-z]{16,}$/);
    assert.equal(created.phone, "+1234567890");
    assert.equal(created.full_name, "John Doe");
    assert.deepEqual(created.metadata, { plan: "premium" });
    assert.equal(created.status, "active");

    const found = await findOrCreateContact("+1234567890", { first_name: "Someone else" });
    assert.equal(found.id, created.id);
    assert.equal(found.first_name, "John", "an existing contact is answered, not changed");
    assert.equal(await client.contacts.count(), 1);
  });

  test("a missing contact is an error whose code is 404, as the sample checks", async () => {
    const error = await client.contacts.get("+1999888777666").catch((e) => e);
    assert.ok(error instanceof NotFoundError);
    assert.equal(error.code, 404);
    assert.equal(error.error, "not_found");
  });

  test("errors other than 404 are thrown on, not turned into a create", async () => {
    // A phone without "+" is not a ref: invalid_input (400) reaches the caller.
    const error = await findOrCreateContact("1234567890", { first_name: "X" }).catch((e) => e);
    assert.equal(error.code, 400);
    assert.equal(error.error, "invalid_input");
    assert.equal(error.details.expected, "+1234567890");
  });
});

describe("syncContactToHueChat (seed sample)", () => {
  test("updates names, email and metadata by phone, merging metadata", async () => {
    const phone = "+447911123456";
    const before = await client.contacts.create({
      phone,
      first_name: "Jane",
      metadata: { plan: "premium", source: "website" },
    });
    const crmContact = {
      id: "crm_42",
      phone,
      firstName: "Jane",
      lastName: "Smith",
      email: "jane.smith@newcompany.com",
      company: "New Company Inc",
      dealStage: "negotiation",
    };
    const started = Date.now();
    const result = await syncContactToHueChat(crmContact);
    assert.equal(result, undefined, "the sample answers nothing");

    const after = await client.contacts.get(phone);
    assert.equal(after.id, before.id);
    assert.equal(after.first_name, "Jane");
    assert.equal(after.last_name, "Smith");
    assert.equal(after.full_name, "Jane Smith");
    assert.equal(after.email, "jane.smith@newcompany.com");
    const { last_synced, ...rest } = after.metadata;
    assert.deepEqual(rest, {
      plan: "premium",
      source: "website",
      crm_id: "crm_42",
      company: "New Company Inc",
      deal_stage: "negotiation",
    });
    assert.ok(Date.parse(last_synced) >= started - 1000, `last_synced ${last_synced}`);
    assert.ok(after.updated_at > before.updated_at);
  });

  test("a contact the CRM has but contactd does not is a NotFoundError", async () => {
    const error = await syncContactToHueChat({
      id: "crm_7",
      phone: "+14155550100",
      firstName: "No",
      lastName: "Body",
    }).catch((e) => e);
    assert.ok(error instanceof NotFoundError, String(error));
    assert.equal(error.code, 404);
  });
});
