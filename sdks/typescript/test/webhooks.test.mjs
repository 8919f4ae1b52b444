// verifyWebhookSignature against deliveries signed by the Standard Webhooks reference
// library (the `standardwebhooks` package).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";

import { verifyWebhookSignature, WebhookVerificationError } from "@contactd/client";
import { Webhook } from "standardwebhooks";

const secret = `whsec_${randomBytes(32).toString("base64")}`;
const event = {
  id: "evt_038ggac0fy000a0wp1kh1adwpwetq",
  type: "contact.updated",
  sequence: 1042,
  created_at: "2026-01-25T10:30:00.000000Z",
  data: {
    object: { id: "cnt_038ggac0fy000a0wp1kh1adwpwetq", phone: "+1234567890", full_name: "Zoë Doe" },
    changed_fields: ["last_name", "metadata.plan"],
    previous: { last_name: "Doe", metadata: { plan: "basic" } },
  },
};
const payload = JSON.stringify(event);

/** A delivery as contactd sends it: the body and the three headers, signed by the reference library. */
function delivery({ body = payload, key = secret, at = new Date(), id = event.id } = {}) {
  const signature = new Webhook(key).sign(id, at, body);
  return {
    body,
    headers: {
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
      "webhook-signature": signature,
    },
  };
}

const rejects = (promise, message) =>
  assert.rejects(promise, (e) => e instanceof WebhookVerificationError && (!message || message.test(e.message)));

describe("verifyWebhookSignature", () => {
  test("accepts a delivery signed by the standardwebhooks library and answers the event", async () => {
    const { body, headers } = delivery();
    assert.deepEqual(await verifyWebhookSignature(body, headers, secret), event);
    // The reference library agrees with itself on the same input.
    assert.deepEqual(new Webhook(secret).verify(body, headers), event);
  });

  test("takes the body as bytes and the headers as a Headers object or in any case", async () => {
    const { body, headers } = delivery();
    const bytes = new TextEncoder().encode(body);
    assert.deepEqual(await verifyWebhookSignature(bytes, new Headers(headers), secret), event);
    assert.deepEqual(await verifyWebhookSignature(bytes.buffer, headers, secret), event);
    const upper = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
    assert.deepEqual(await verifyWebhookSignature(body, upper, secret), event);
  });

  test("a secret without the whsec_ prefix works too", async () => {
    const { body, headers } = delivery();
    assert.deepEqual(await verifyWebhookSignature(body, headers, secret.slice("whsec_".length)), event);
  });

  test("refuses a changed body, another secret, another id or timestamp", async () => {
    const { body, headers } = delivery();
    await rejects(verifyWebhookSignature(body.replace("1042", "1043"), headers, secret), /signature/);
    await rejects(verifyWebhookSignature(JSON.stringify(JSON.parse(body), null, 2), headers, secret), /signature/);
    const other = `whsec_${randomBytes(32).toString("base64")}`;
    await rejects(verifyWebhookSignature(body, headers, other), /signature/);
    await rejects(verifyWebhookSignature(body, { ...headers, "webhook-id": "evt_other" }, secret), /signature/);
    const shifted = String(Number(headers["webhook-timestamp"]) - 1);
    await rejects(verifyWebhookSignature(body, { ...headers, "webhook-timestamp": shifted }, secret), /signature/);
  });

  test("refuses deliveries older or newer than five minutes, even correctly signed", async () => {
    const old = delivery({ at: new Date(Date.now() - 6 * 60 * 1000) });
    await rejects(verifyWebhookSignature(old.body, old.headers, secret), /too old/);
    const future = delivery({ at: new Date(Date.now() + 6 * 60 * 1000) });
    await rejects(verifyWebhookSignature(future.body, future.headers, secret), /too new/);
    const recent = delivery({ at: new Date(Date.now() - 4 * 60 * 1000) });
    assert.deepEqual(await verifyWebhookSignature(recent.body, recent.headers, secret), event);
    // The tolerance and the clock can be set.
    assert.deepEqual(await verifyWebhookSignature(old.body, old.headers, secret, { toleranceSeconds: 600 }), event);
    await rejects(
      verifyWebhookSignature(recent.body, recent.headers, secret, { now: new Date(Date.now() + 10 * 60 * 1000) }),
      /too old/,
    );
  });

  test("refuses missing headers and a malformed timestamp", async () => {
    const { body, headers } = delivery();
    for (const name of Object.keys(headers)) {
      const { [name]: _left, ...rest } = headers;
      await rejects(verifyWebhookSignature(body, rest, secret), /Missing/);
    }
    await rejects(verifyWebhookSignature(body, { ...headers, "webhook-timestamp": "soon" }, secret), /timestamp/);
  });

  test("during a secret rotation: several signatures, several secrets", async () => {
    const newSecret = `whsec_${randomBytes(32).toString("base64")}`;
    const at = new Date();
    const a = delivery({ key: secret, at });
    const b = delivery({ key: newSecret, at });
    // contactd signs with both secrets for 24 hours: "v1,<old> v1,<new>".
    const headers = {
      ...a.headers,
      "webhook-signature": `${a.headers["webhook-signature"]} ${b.headers["webhook-signature"]}`,
    };
    assert.deepEqual(await verifyWebhookSignature(payload, headers, secret), event);
    assert.deepEqual(await verifyWebhookSignature(payload, headers, newSecret), event);
    assert.deepEqual(await verifyWebhookSignature(payload, b.headers, [secret, newSecret]), event);
    await rejects(verifyWebhookSignature(payload, b.headers, secret));
    // Signatures of an unknown version are ignored, not trusted.
    const v2 = a.headers["webhook-signature"].replace(/^v1,/, "v2,");
    await rejects(verifyWebhookSignature(payload, { ...a.headers, "webhook-signature": v2 }, secret));
  });

  test("a parsed body cannot be verified: it asks for the raw one", async () => {
    const { headers } = delivery();
    await assert.rejects(verifyWebhookSignature(event, headers, secret), TypeError);
  });
});
