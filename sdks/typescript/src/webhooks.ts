/** Thrown by {@link verifyWebhookSignature} for a delivery that is not authentic or not fresh. */
export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WebhookVerificationError";
  }
}

/** Request headers: a `Headers` (fetch, Request) or a plain object (Node's `req.headers`, any case). */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

export interface VerifyWebhookOptions {
  /** How far `webhook-timestamp` may be from now, in seconds (default 300). */
  toleranceSeconds?: number;
  /** The time to check against (default now). */
  now?: Date;
}

const DEFAULT_TOLERANCE_SECONDS = 5 * 60;
const SECRET_PREFIX = "whsec_";

/**
 * Checks a webhook delivery the Standard Webhooks way and answers its payload parsed as
 * JSON: the `webhook-signature` header must hold a `v1,` signature that is the base64
 * HMAC-SHA256, keyed with the base64-decoded part of `secret` after `whsec_`, of
 * `{webhook-id}.{webhook-timestamp}.{payload}`, and `webhook-timestamp` must be within
 * five minutes of now. Otherwise it throws {@link WebhookVerificationError}.
 *
 * @param payload the raw request body, exactly as received (a string or bytes), never
 *   re-serialized JSON.
 * @param secret the endpoint's `whsec_…` secret; during a rotation, both secrets as an array.
 */
export async function verifyWebhookSignature<T = unknown>(
  payload: string | Uint8Array | ArrayBuffer,
  headers: WebhookHeaders,
  secret: string | string[],
  options: VerifyWebhookOptions = {},
): Promise<T> {
  const body = bytesOf(payload);
  const id = header(headers, "webhook-id");
  const timestamp = header(headers, "webhook-timestamp");
  const signatures = header(headers, "webhook-signature");
  if (id === undefined || timestamp === undefined || signatures === undefined) {
    throw new WebhookVerificationError("Missing required headers: webhook-id, webhook-timestamp and webhook-signature");
  }
  if (!/^\d+$/.test(timestamp.trim())) {
    throw new WebhookVerificationError("Invalid webhook-timestamp");
  }
  const sentAt = Number(timestamp.trim());
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (now - sentAt > tolerance) throw new WebhookVerificationError("Message timestamp too old");
  if (sentAt - now > tolerance) throw new WebhookVerificationError("Message timestamp too new");

  const signed = concat(new TextEncoder().encode(`${id}.${timestamp.trim()}.`), body);
  const candidates = signatures
    .split(" ")
    .map((s) => s.split(","))
    .filter(([version, signature]) => version === "v1" && signature !== undefined)
    .map(([, signature]) => decodeBase64(signature!))
    .filter((signature): signature is Uint8Array<ArrayBuffer> => signature !== undefined);
  for (const s of Array.isArray(secret) ? secret : [secret]) {
    const key = await crypto.subtle.importKey("raw", secretKey(s), { name: "HMAC", hash: "SHA-256" }, false, [
      "verify",
    ]);
    for (const signature of candidates) {
      // Web Crypto compares in constant time.
      if (await crypto.subtle.verify("HMAC", key, signature, signed)) {
        const text = new TextDecoder().decode(body);
        return (text === "" ? undefined : JSON.parse(text)) as T;
      }
    }
  }
  throw new WebhookVerificationError("No matching signature found");
}

function secretKey(secret: string): Uint8Array<ArrayBuffer> {
  if (typeof secret !== "string") throw new TypeError("the webhook secret must be a string (whsec_…)");
  const key = decodeBase64(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret);
  if (key === undefined || key.length === 0) throw new TypeError("the webhook secret is not whsec_ followed by base64");
  return key;
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === "function") return (headers as Headers).get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value.join(" ") : value;
  }
  return undefined;
}

function bytesOf(payload: string | Uint8Array | ArrayBuffer): Uint8Array {
  if (typeof payload === "string") return new TextEncoder().encode(payload);
  if (payload instanceof Uint8Array) return payload;
  if (payload instanceof ArrayBuffer) return new Uint8Array(payload);
  throw new TypeError("the webhook payload must be the raw request body (a string or bytes), not parsed JSON");
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}
