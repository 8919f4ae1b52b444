import { ConnectionError, ContactdError, InvalidInputError, errorFromBody, type ErrorBody } from "./errors.js";

/** How a {@link Client} talks to contactd. */
export interface ClientOptions {
  /** The API key (`sk_live_…` or `sk_test_…`), sent as `X-API-Key`. */
  apiKey: string;
  /** Where contactd listens; default `http://127.0.0.1:8080`. */
  baseUrl?: string;
  /**
   * How many times a call is tried again after a `429`, a `503` or a failed connection
   * (default 3; 0 turns retries off).
   */
  maxRetries?: number;
  /** The wait before the first retry when the server sends no `Retry-After`, in ms (default 250); it doubles on each retry, with jitter. */
  retryBaseDelayMs?: number;
  /** The longest wait between two tries, in ms (default 30 000). A longer `Retry-After` is not waited for: the call fails at once. */
  retryMaxDelayMs?: number;
  /** The longest one try may take, in ms (default 30 000; 0 for none). */
  timeoutMs?: number;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
  /** The `fetch` to send with; default the global one. */
  fetch?: typeof fetch;
}

/** Options every call takes. */
export interface RequestOptions {
  /** Cancels the call, retries included. */
  signal?: AbortSignal;
}

/** Options of a `POST`: the `Idempotency-Key` to send (default: a new UUID per call). */
export interface WriteOptions extends RequestOptions {
  idempotencyKey?: string;
}

type QueryValue =
  | string
  | number
  | boolean
  | null
  | undefined
  | Record<string, string | number | boolean | null | undefined>;
export type Query = Record<string, QueryValue>;

export interface Call {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  query?: Query | undefined;
  body?: unknown;
  headers?: Record<string, string | undefined> | undefined;
  idempotencyKey?: string | undefined;
  signal?: AbortSignal | undefined;
  /** Read the answer as text rather than JSON. */
  text?: boolean;
  /** Leave out `X-API-Key` (the unauthenticated service endpoints). */
  anonymous?: boolean;
}

export interface Reply<T> {
  status: number;
  headers: Headers;
  data: T;
}

const DEFAULTS = {
  baseUrl: "http://127.0.0.1:8080",
  maxRetries: 3,
  retryBaseDelayMs: 250,
  retryMaxDelayMs: 30_000,
  timeoutMs: 30_000,
};

/** Sends calls: headers, query strings, retries with one idempotency key, typed errors. */
export class Transport {
  readonly baseUrl: string;
  private readonly apiKey: string;
  private readonly maxRetries: number;
  private readonly baseDelay: number;
  private readonly maxDelay: number;
  private readonly timeout: number;
  private readonly headers: Record<string, string>;
  private readonly fetch: typeof fetch;

  constructor(options: ClientOptions) {
    if (!options || typeof options.apiKey !== "string" || options.apiKey === "") {
      throw new TypeError("new Client({ apiKey }) needs the API key (sk_live_… or sk_test_…)");
    }
    this.apiKey = options.apiKey;
    this.baseUrl = (options.baseUrl ?? DEFAULTS.baseUrl).replace(/\/+$/, "");
    this.maxRetries = Math.max(0, options.maxRetries ?? DEFAULTS.maxRetries);
    this.baseDelay = options.retryBaseDelayMs ?? DEFAULTS.retryBaseDelayMs;
    this.maxDelay = options.retryMaxDelayMs ?? DEFAULTS.retryMaxDelayMs;
    this.timeout = options.timeoutMs ?? DEFAULTS.timeoutMs;
    this.headers = { ...options.headers };
    if (typeof (options.fetch ?? globalThis.fetch) !== "function") {
      throw new TypeError("no global fetch: pass one as new Client({ fetch })");
    }
    // Called unbound, a browser's fetch throws "Illegal invocation".
    this.fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** Sends `call`, retrying `429`, `503` and failed connections; answers or throws. */
  async send<T>(call: Call): Promise<Reply<T>> {
    // One key per call, the same on every retry, so a POST whose answer was lost runs once.
    const idempotencyKey = call.method === "POST" ? (call.idempotencyKey ?? newIdempotencyKey()) : undefined;
    const url = this.baseUrl + call.path + queryString(call.query);
    for (let attempt = 0; ; attempt++) {
      let answer: { response: Response; text: string };
      try {
        answer = await this.sendOnce(url, call, idempotencyKey);
      } catch (error) {
        if (call.signal?.aborted) throw call.signal.reason ?? error;
        // A DELETE that may have run is not sent again: its retry would answer 404.
        const retryable = call.method !== "DELETE" || refusedConnection(error);
        if (!retryable || attempt >= this.maxRetries) {
          throw new ConnectionError(`${call.method} ${url} failed: ${describe(error)}`, { cause: error });
        }
        await sleep(this.backoff(attempt), call.signal);
        continue;
      }
      const { response, text } = answer;
      if (response.ok) {
        const data = (call.text ? text : text === "" ? undefined : JSON.parse(text)) as T;
        return { status: response.status, headers: response.headers, data };
      }
      const error = errorOf(response, text);
      const wait = this.retryDelay(response, attempt);
      if (wait === undefined || attempt >= this.maxRetries) throw error;
      await sleep(wait, call.signal);
    }
  }

  /** One try: the answer and its whole body, read within the try's timeout. */
  private async sendOnce(
    url: string,
    call: Call,
    idempotencyKey: string | undefined,
  ): Promise<{ response: Response; text: string }> {
    const headers: Record<string, string> = { Accept: "application/json", ...this.headers };
    if (!call.anonymous) headers["X-API-Key"] = this.apiKey;
    if (idempotencyKey !== undefined) headers["Idempotency-Key"] = idempotencyKey;
    for (const [name, value] of Object.entries(call.headers ?? {})) {
      if (value !== undefined) headers[name] = value;
    }
    const init: RequestInit = { method: call.method, headers };
    if (call.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(call.body);
    }
    const signals: AbortSignal[] = [];
    if (call.signal) signals.push(call.signal);
    if (this.timeout > 0) signals.push(AbortSignal.timeout(this.timeout));
    if (signals.length > 0) init.signal = signals.length === 1 ? signals[0]! : anySignal(signals);
    const response = await this.fetch(url, init);
    return { response, text: await response.text() };
  }

  /** How long to wait before trying a `429` or `503` again; undefined for any other answer. */
  private retryDelay(response: Response, attempt: number): number | undefined {
    if (response.status !== 429 && response.status !== 503) return undefined;
    const retryAfter = retryAfterSeconds(response.headers);
    if (retryAfter === undefined) return this.backoff(attempt);
    const ms = retryAfter * 1000;
    return ms > this.maxDelay ? undefined : ms;
  }

  /** `base × 2^attempt`, at most the maximum, then a random point of its upper half. */
  private backoff(attempt: number): number {
    const full = Math.min(this.baseDelay * 2 ** attempt, this.maxDelay);
    return full / 2 + (Math.random() * full) / 2;
  }
}

/** The `/v2/...` path of one percent-encoded reference (`+` becomes `%2B`, `@` `%40`). */
export function pathOf(prefix: string, ref: string, suffix = "", field = "ref"): string {
  if (typeof ref !== "string" || ref === "" || ref === "." || ref === "..") {
    // "." and ".." would be resolved away by the URL parser and reach another route.
    throw new InvalidInputError({
      error: "invalid_input",
      code: 400,
      message: `The ${field} must be a non-empty string other than "." and ".."`,
      details: { field, received: ref },
    });
  }
  return `${prefix}/${encodeURIComponent(ref)}${suffix}`;
}

/**
 * The query string of `query`: `undefined` and `null` members are left out; an object
 * member (`metadata: {plan: "premium"}`) is sent as `metadata[plan]=premium`, the
 * `deepObject` style docs/openapi.json declares.
 */
export function queryString(query: Query | undefined): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null) continue;
    if (typeof value === "object") {
      for (const [key, member] of Object.entries(value)) {
        if (member !== undefined && member !== null) params.append(`${name}[${key}]`, String(member));
      }
    } else {
      params.append(name, String(value));
    }
  }
  const text = params.toString();
  return text === "" ? "" : `?${text}`;
}

function retryAfterSeconds(headers: Headers): number | undefined {
  const value = headers.get("Retry-After");
  if (value === null) return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}

function errorOf(response: Response, text: string): ContactdError {
  const requestId = response.headers.get("X-Request-Id") ?? undefined;
  const retryAfter = retryAfterSeconds(response.headers);
  let body: ErrorBody | undefined;
  try {
    const parsed = JSON.parse(text) as Partial<ErrorBody>;
    if (parsed && typeof parsed.error === "string" && typeof parsed.message === "string") {
      body = { ...parsed, code: response.status, details: parsed.details ?? {} } as ErrorBody;
    }
  } catch {
    // Not the envelope: an answer from something in front of contactd.
  }
  body ??= {
    error: (response.status === 503 ? "unavailable" : `http_${response.status}`) as ErrorBody["error"],
    message: `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}${text ? `: ${text.slice(0, 200)}` : ""}`,
    code: response.status,
    details: {},
  };
  return errorFromBody(body, requestId, retryAfter);
}

/** Whether the request surely never reached the server (so even a DELETE may be sent again). */
function refusedConnection(error: unknown): boolean {
  const code = (error as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "UND_ERR_CONNECT_TIMEOUT";
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    const detail = cause instanceof Error ? `: ${cause.message}` : "";
    return `${error.message}${detail}`;
  }
  return String(error);
}

function anySignal(signals: AbortSignal[]): AbortSignal {
  const any = (AbortSignal as unknown as { any?: (s: AbortSignal[]) => AbortSignal }).any;
  if (any) return any(signals);
  const controller = new AbortController();
  for (const signal of signals) {
    if (signal.aborted) {
      controller.abort(signal.reason);
      break;
    }
    signal.addEventListener("abort", () => controller.abort(signal.reason), { once: true });
  }
  return controller.signal;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A random UUID (v4): Web Crypto's `randomUUID` where there is one, else from random bytes. */
export function newIdempotencyKey(): string {
  const c = globalThis.crypto;
  if (typeof c?.randomUUID === "function") return c.randomUUID();
  const bytes = c.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
