// Identities (TYPE:VALUE refs, addIdentity, removeIdentity), merges and their undo, and duplicate
// suggestions, against a real server.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import {
  Client,
  DuplicateContactError,
  InvalidInputError,
  MergeConflictError,
  NotFoundError,
  PreconditionFailedError,
} from "@contactd/client";
import { startProxy } from "./proxy.mjs";
import { startServer, uniquePhone } from "./server.mjs";

let server;
let client;

before(async () => {
  server = await startServer();
  client = new Client({ apiKey: server.apiKey, baseUrl: server.url });
});
after(() => server?.stop());

let serial = 0;
/** An Instagram user id no other test of this file uses. */
function instagramId() {
  serial += 1;
  return `178414${String(serial).padStart(11, "0")}`;
}

/** A contact's fields but `updated_at`, which an undo moves on. */
function asBefore({ updated_at: _updatedAt, ...fields }) {
  return fields;
}

describe("identities", () => {
  test("a contact with an identity only, found by its TYPE:VALUE ref", async () => {
    const handle = instagramId();
    const contact = await client.contacts.create({
      first_name: "Insta",
      identities: [{ type: "instagram", value: handle }],
    });
    assert.equal(contact.phone, null);
    assert.equal(contact.email, null);
    assert.deepEqual(contact.identities, [{ type: "instagram", value: handle }]);

    const found = await client.contacts.get(`instagram:${handle}`);
    assert.equal(found.id, contact.id);
    assert.equal(found.etag, contact.etag);
    const updated = await client.contacts.update(`instagram:${handle}`, { last_name: "Gram" });
    assert.equal(updated.full_name, "Insta Gram");

    const missing = await client.contacts.get(`instagram:${instagramId()}`).catch((e) => e);
    assert.ok(missing instanceof NotFoundError, String(missing));
    assert.equal(missing.code, 404);
  });

  test("addIdentity and removeIdentity, by {type, value} or TYPE:VALUE", async () => {
    const phone = uniquePhone();
    const contact = await client.contacts.create({ email: "ada@example.com" });

    const added = await client.contacts.addIdentity(contact.id, { type: "whatsapp", value: phone });
    assert.deepEqual(added.identities, [{ type: "whatsapp", value: phone }]);
    assert.notEqual(added.etag, contact.etag);
    assert.equal((await client.contacts.get(`whatsapp:${phone}`)).id, contact.id);

    const handle = instagramId();
    const both = await client.contacts.addIdentity(`whatsapp:${phone}`, `instagram:${handle}`, {
      ifMatch: added.etag,
    });
    assert.deepEqual(both.identities, [
      { type: "whatsapp", value: phone },
      { type: "instagram", value: handle },
    ]);

    const stale = await client.contacts
      .removeIdentity(contact.id, `instagram:${handle}`, { ifMatch: added.etag })
      .catch((e) => e);
    assert.ok(stale instanceof PreconditionFailedError, String(stale));

    const removed = await client.contacts.removeIdentity("ada@example.com", `whatsapp:${phone}`);
    assert.deepEqual(removed.identities, [{ type: "instagram", value: handle }]);
    const gone = await client.contacts.get(`whatsapp:${phone}`).catch((e) => e);
    assert.ok(gone instanceof NotFoundError, String(gone));

    const left = await client.contacts.removeIdentity(contact.id, { type: "instagram", value: handle });
    assert.deepEqual(left.identities, []);
    assert.equal(left.email, "ada@example.com");
  });

  test("the last way to reach a contact cannot be removed", async () => {
    const handle = instagramId();
    const contact = await client.contacts.create({ identities: [{ type: "instagram", value: handle }] });
    const error = await client.contacts.removeIdentity(contact.id, `instagram:${handle}`).catch((e) => e);
    assert.ok(error instanceof InvalidInputError, String(error));
    assert.deepEqual((await client.contacts.get(contact.id)).identities, contact.identities);
  });

  test("an identity another contact holds is DuplicateContactError with existingContactId", async () => {
    const handle = instagramId();
    const holder = await client.contacts.create({ identities: [{ type: "instagram", value: handle }] });

    const onCreate = await client.contacts
      .create({ email: "dup@example.com", identities: [{ type: "instagram", value: handle }] })
      .catch((e) => e);
    assert.ok(onCreate instanceof DuplicateContactError, String(onCreate));
    assert.equal(onCreate.code, 409);
    assert.equal(onCreate.error, "duplicate_contact");
    assert.equal(onCreate.existingContactId, holder.id);

    const other = await client.contacts.create({ email: "other@example.com" });
    const onAdd = await client.contacts.addIdentity(other.id, `instagram:${handle}`).catch((e) => e);
    assert.ok(onAdd instanceof DuplicateContactError, String(onAdd));
    assert.equal(onAdd.existingContactId, holder.id);
    assert.deepEqual((await client.contacts.get(other.id)).identities, []);
  });

  test("identity refs travel as one percent-encoded path segment", async () => {
    const proxy = await startProxy(server.url);
    try {
      const viaProxy = new Client({ apiKey: server.apiKey, baseUrl: proxy.url });
      const phone = uniquePhone();
      const contact = await viaProxy.contacts.create({ identities: [{ type: "whatsapp", value: phone }] });
      await viaProxy.contacts.get(`whatsapp:${phone}`);
      await viaProxy.contacts.addIdentity(contact.id, { type: "external", value: "crm/42" });
      await viaProxy.contacts.removeIdentity(`whatsapp:${phone}`, "external:crm/42");
      const paths = proxy.requests.filter((r) => r.method !== "POST").map((r) => r.url);
      const digits = phone.slice(1);
      assert.deepEqual(paths, [
        `/v2/contact/whatsapp%3A%2B${digits}`,
        `/v2/contact/whatsapp%3A%2B${digits}/identities/external%3Acrm%2F42`,
      ]);
    } finally {
      await proxy.close();
    }
  });

  test("a TYPE:VALUE without its colon is refused before sending", async () => {
    const error = await client.contacts.addIdentity("cnt_0000000000000000", "instagram").catch((e) => e);
    assert.ok(error instanceof InvalidInputError, String(error));
    assert.equal(error.field, "identity");
  });
});

describe("merges", () => {
  /** A target with a phone and a name; a source with a phone, an email, metadata and a conversation of two messages. */
  async function twoContacts(tag) {
    const target = await client.contacts.create({
      phone: uniquePhone(),
      first_name: "Ada",
      metadata: { plan: "premium", run: tag },
    });
    const source = await client.contacts.create({
      phone: uniquePhone(),
      email: `${tag}@example.com`,
      first_name: "Augusta",
      last_name: "King",
      metadata: { plan: "basic", crm_id: "crm-7" },
    });
    const conversation = await client.conversations.create({ contact_id: source.id, channel: "email" });
    await client.conversations.createMessage(conversation.id, { direction: "inbound", text: "Hello" });
    await client.conversations.createMessage(conversation.id, { direction: "outbound", text: "Hi Ada" });
    return {
      target: await client.contacts.get(target.id),
      source: await client.contacts.get(source.id),
      conversation,
    };
  }

  test("a dry run answers the merge and changes nothing", async () => {
    const { target, source, conversation } = await twoContacts("dry");
    const preview = await client.contacts.merge(target.id, { source: source.email, dry_run: true });
    assert.equal(preview.contact.id, target.id);
    assert.equal(preview.contact.first_name, "Ada", "the target's fields win");
    assert.equal(preview.contact.last_name, "King", "its empty fields take the source's");
    assert.equal(preview.contact.email, source.email);
    assert.deepEqual(preview.contact.identities, [{ type: "phone", value: source.phone }]);
    assert.deepEqual(preview.contact.metadata, { plan: "premium", run: "dry", crm_id: "crm-7" });
    assert.equal(preview.merge.target_id, target.id);
    assert.equal(preview.merge.source_id, source.id);
    assert.deepEqual(preview.merge.moved, { conversations: 1, messages: 2 });

    assert.deepEqual(await client.contacts.get(target.id), target);
    assert.deepEqual(await client.contacts.get(source.id), source);
    assert.equal((await client.conversations.get(conversation.id)).contact_id, source.id);
    assert.deepEqual((await client.contacts.merges(target.id)).data, []);
  });

  test("merge, then undo brings the source back as it was", async () => {
    const { target, source, conversation } = await twoContacts("undo");
    const { contact, merge } = await client.contacts.merge(
      target.phone,
      { source: source.id },
      { ifMatch: target.etag },
    );
    assert.equal(contact.id, target.id);
    assert.equal(contact.last_name, "King");
    assert.match(merge.id, /^mrg_[0-9a-z]+$/);
    assert.equal(merge.undone_at, null);
    assert.equal((await client.contacts.get(source.id)).id, target.id, "the source's id names the target");
    assert.equal((await client.contacts.get(source.phone)).id, target.id, "now a phone identity of the target");
    assert.equal((await client.conversations.get(conversation.id)).contact_id, target.id);

    const undone = await client.merges.undo(merge.id);
    assert.deepEqual(asBefore(undone.source), asBefore(source));
    assert.deepEqual(asBefore(undone.target), asBefore(target));
    assert.equal(undone.merge.id, merge.id);
    assert.notEqual(undone.merge.undone_at, null);
    assert.deepEqual(asBefore(await client.contacts.get(source.id)), asBefore(source));
    assert.equal((await client.contacts.get(source.email)).id, source.id);
    assert.equal((await client.conversations.get(conversation.id)).contact_id, source.id);
    const texts = (await client.conversations.messages(conversation.id).toArray()).map((m) => m.text);
    assert.deepEqual(texts, ["Hello", "Hi Ada"]);

    const again = await client.merges.undo(merge.id).catch((e) => e);
    assert.ok(again instanceof MergeConflictError, String(again));
    assert.equal(again.code, 409);
    assert.equal(again.error, "merge_conflict");
  });

  test("merges lists the history of both contacts, newest first", async () => {
    const { target, source } = await twoContacts("history");
    const first = (await client.contacts.merge(target.id, { source: source.id })).merge;
    await client.merges.undo(first.id);
    const second = (await client.contacts.merge(target.id, { source: source.id })).merge;

    const history = (await client.contacts.merges(target.id)).data;
    assert.deepEqual(
      history.map((m) => m.id),
      [second.id, first.id],
    );
    assert.equal(history[0].undone_at, null);
    assert.notEqual(history[1].undone_at, null);
    assert.equal(history[1].source_id, source.id);

    await client.merges.undo(second.id);
    const ofSource = (await client.contacts.merges(source.id)).data;
    assert.deepEqual(
      ofSource.map((m) => m.id),
      [second.id, first.id],
    );
  });

  test("a stale ifMatch, an unknown source and an unknown merge are refused", async () => {
    const { target, source } = await twoContacts("stale");
    await client.contacts.update(target.id, { last_name: "Lovelace" });
    const stale = await client.contacts
      .merge(target.id, { source: source.id }, { ifMatch: target.etag })
      .catch((e) => e);
    assert.ok(stale instanceof PreconditionFailedError, String(stale));
    assert.equal((await client.contacts.get(source.id)).id, source.id);

    const noSource = await client.contacts.merge(target.id, { source: "nobody@example.com" }).catch((e) => e);
    assert.ok(noSource instanceof NotFoundError, String(noSource));
    const noMerge = await client.merges.undo("mrg_0000000000000000000000000").catch((e) => e);
    assert.ok(noMerge instanceof NotFoundError, String(noMerge));
  });
});

describe("duplicates", () => {
  test("a contact's duplicates, with score and reasons", async () => {
    const gmail = await client.contacts.create({ email: "john.doe+crm@gmail.com", first_name: "John" });
    const same = await client.contacts.create({ email: "johndoe@googlemail.com" });
    const other = await client.contacts.create({ email: "someone@example.com" });

    const { data } = await client.contacts.duplicates(gmail.id);
    assert.deepEqual(
      data.map((d) => d.contact.id),
      [same.id],
    );
    assert.deepEqual(data[0].contact, await client.contacts.get(same.id));
    assert.deepEqual(data[0].reasons, ["email_normalized"]);
    assert.ok(data[0].score > 0 && data[0].score <= 1, String(data[0].score));
    const back = (await client.contacts.duplicates(same.email)).data;
    assert.deepEqual(
      back.map((d) => d.contact.id),
      [gmail.id],
    );
    assert.deepEqual((await client.contacts.duplicates(other.id)).data, []);
  });

  test("a phone and a whatsapp identity overlap, until the identity goes", async () => {
    const phone = uniquePhone();
    const holder = await client.contacts.create({ phone });
    const chat = await client.contacts.create({
      email: "chat@example.com",
      identities: [{ type: "whatsapp", value: phone }],
    });
    const { data } = await client.contacts.duplicates(`whatsapp:${phone}`);
    assert.equal(data.length, 1);
    assert.equal(data[0].contact.id, holder.id);
    assert.ok(data[0].reasons.includes("identity_overlap"), String(data[0].reasons));
    await client.contacts.removeIdentity(chat.id, `whatsapp:${phone}`);
    assert.deepEqual((await client.contacts.duplicates(holder.id)).data, []);
  });

  test("the workspace's pairs, a page at a time or all of them", async () => {
    const own = new Client({ apiKey: await server.newKey("duplicates"), baseUrl: server.url });
    const made = [];
    for (let n = 0; n < 3; n++) {
      const x = await own.contacts.create({ email: `pair${n}.x@gmail.com` });
      const y = await own.contacts.create({ email: `pair${n}x+tag@gmail.com` });
      made.push([x.id, y.id].sort());
    }
    await own.contacts.create({ email: "alone@example.com" });

    const pairs = await own.duplicates.list({ limit: 2 }).toArray();
    assert.deepEqual(pairs.map((p) => [p.a, p.b]).sort(), made.sort());
    assert.ok(pairs.every((p) => p.a < p.b && p.reasons.join() === "email_normalized"));

    const first = await own.duplicates.list({ limit: 2 });
    assert.equal(first.data.length, 2);
    assert.equal(first.has_more, true);
    assert.equal(typeof first.next_cursor, "string");
    const sizes = [];
    for await (const page of own.duplicates.list({ limit: 2 }).pages()) sizes.push(page.data.length);
    assert.deepEqual(sizes, [2, 1]);
  });
});
