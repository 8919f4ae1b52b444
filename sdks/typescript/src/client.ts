import {
  Transport,
  pathOf,
  type ClientOptions,
  type Query,
  type Reply,
  type RequestOptions,
  type WriteOptions,
} from "./http.js";
import { InvalidInputError } from "./errors.js";
import { paginate, type PageList } from "./pages.js";
import type { components, operations } from "./schema.js";

type Schemas = components["schemas"];
type QueryOf<O extends keyof operations> = NonNullable<operations[O]["parameters"]["query"]>;

/** A contact as the API answers it (every field present, unset ones `null`). */
export type Contact = Schemas["Contact"];
/** A contact answered alone, with its version: `etag` goes in `ifMatch` of an update or delete. */
export type VersionedContact = Contact & { readonly etag: string | undefined };
export type ContactCreate = Schemas["ContactCreate"];
export type ContactUpdate = Schemas["ContactUpdate"];
export type ContactList = Schemas["ContactList"];
/** How a contact is known on a channel: `{type: "instagram", value: "17841400000000001"}`; its ref is `TYPE:VALUE`. */
export type Identity = Schemas["Identity"];
export type ContactSort = Schemas["ContactSort"];
export type ContactStatus = Schemas["ContactStatus"];
export type Channel = Schemas["Channel"];
export type BatchRequest = Schemas["BatchRequest"];
export type BatchResponse = Schemas["BatchResponse"];
export type BatchItemResult = Schemas["BatchItemResult"];
export type UpsertResult = Schemas["UpsertResult"];
export type Conversation = Schemas["Conversation"];
export type ConversationCreate = Schemas["ConversationCreate"];
export type ConversationUpdate = Schemas["ConversationUpdate"];
export type ConversationList = Schemas["ConversationList"];
export type ConversationStatus = Schemas["ConversationStatus"];
export type Message = Schemas["Message"];
export type MessageCreate = Schemas["MessageCreate"];
export type MessageList = Schemas["MessageList"];
export type Segment = Schemas["Segment"];
export type SegmentCreate = Schemas["SegmentCreate"];
export type SegmentUpdate = Schemas["SegmentUpdate"];
export type SegmentList = Schemas["SegmentList"];
export type MergeRequest = Schemas["MergeRequest"];
export type MergeResult = Schemas["MergeResult"];
export type Merge = Schemas["Merge"];
export type MergeList = Schemas["MergeList"];
export type UndoResult = Schemas["UndoResult"];
export type DuplicateCandidate = Schemas["DuplicateCandidate"];
export type DuplicateCandidateList = Schemas["DuplicateCandidateList"];
export type DuplicatePair = Schemas["DuplicatePair"];
export type DuplicatePairList = Schemas["DuplicatePairList"];
export type HealthStatus = Schemas["HealthStatus"];
export type Event = Schemas["Event"];
export type EventList = Schemas["EventList"];
export type Webhook = Schemas["Webhook"];
export type WebhookCreate = Schemas["WebhookCreate"];
export type WebhookUpdate = Schemas["WebhookUpdate"];
export type WebhookList = Schemas["WebhookList"];
export type Delivery = Schemas["Delivery"];
export type DeliveryList = Schemas["DeliveryList"];

/**
 * Metadata filters: `{plan: "premium", "score[gte]": 5, "preferences.language": "en"}` is
 * sent as `metadata[plan]=premium&metadata[score[gte]]=5&metadata[preferences.language]=en`.
 */
export type MetadataFilters = Record<string, string | number | boolean>;
/** The query of `GET /v2/contact`: filters, `sort`, `limit`, `offset`, `cursor`, `include_total`. */
export type ContactFilters = Omit<QueryOf<"listContacts">, "metadata"> & { metadata?: MetadataFilters };
/** The filters of `GET /v2/contact/count`. */
export type CountFilters = Omit<QueryOf<"countContacts">, "metadata"> & { metadata?: MetadataFilters };
/** `status`, `channel`, `limit`, `offset` of a contact's conversations. */
export type ConversationFilters = QueryOf<"listContactConversations">;
/** `limit`, `offset` of a conversation's messages. */
export type MessageListQuery = QueryOf<"listMessages">;
/** `limit`, `offset` of the segments. */
export type SegmentListQuery = QueryOf<"listSegments">;
/** `sort`, `limit`, `offset`, `cursor`, `include_total` of a segment's contacts. */
export type SegmentContactsQuery = QueryOf<"listSegmentContacts">;

/** The feed's query: `after` (a `next_cursor`), `types` (a list or comma-separated), `limit`, `wait` (0–30 s). */
export type EventQuery = Omit<QueryOf<"listEvents">, "types"> & { types?: string | string[] };
/** `limit`, `cursor` of the workspace's duplicate pairs. */
export type DuplicateListQuery = QueryOf<"listDuplicates">;
/** `limit`, `cursor` of an endpoint's deliveries. */
export type DeliveryListQuery = QueryOf<"listWebhookDeliveries">;

/** Options of a contact update or delete: `ifMatch` makes it conditional on a version. */
export interface ConditionalOptions extends RequestOptions {
  /** One or more `ETag`s (comma-separated) or `*`; another current version fails with `PreconditionFailedError`. */
  ifMatch?: string;
}

/** Options of a conditional `POST` (add an identity, merge): `ifMatch` and `idempotencyKey`. */
export interface ConditionalWriteOptions extends ConditionalOptions, WriteOptions {}

/** What an upsert did (`X-Upsert-Result`) and the contact it did it to. */
export interface UpsertResponse {
  result: UpsertResult;
  contact: VersionedContact;
}

const CONTACTS = "/v2/contact";
const MERGES = "/v2/merge";
const DUPLICATES = "/v2/duplicates";
const CONVERSATIONS = "/v2/conversation";
const SEGMENTS = "/v2/segment";
const EVENTS = "/v2/events";
const WEBHOOKS = "/v2/webhook";

/**
 * The contactd client. Every method returns a Promise; list methods return a Promise of the
 * first page that is also an async iterable over the items of all pages.
 *
 * ```ts
 * const client = new Client({ apiKey: KEY, baseUrl: "http://127.0.0.1:8080" });
 * const contact = await client.contacts.get("+1234567890");
 * for await (const c of client.contacts.list({ metadata: { plan: "premium" } })) console.log(c.id);
 * ```
 */
export class Client {
  readonly contacts: Contacts;
  readonly merges: Merges;
  readonly duplicates: Duplicates;
  readonly conversations: Conversations;
  readonly segments: Segments;
  readonly events: Events;
  readonly webhooks: Webhooks;
  private readonly transport: Transport;

  constructor(options: ClientOptions) {
    this.transport = new Transport(options);
    this.contacts = new Contacts(this.transport);
    this.merges = new Merges(this.transport);
    this.duplicates = new Duplicates(this.transport);
    this.conversations = new Conversations(this.transport);
    this.segments = new Segments(this.transport);
    this.events = new Events(this.transport);
    this.webhooks = new Webhooks(this.transport);
  }

  /** Where this client sends its requests. */
  get baseUrl(): string {
    return this.transport.baseUrl;
  }

  /** `GET /healthz`: `{status: "ok"}` while the process is up (no key needed). */
  async health(options?: RequestOptions): Promise<HealthStatus> {
    return data(
      await this.transport.send<HealthStatus>({ method: "GET", path: "/healthz", anonymous: true, ...signal(options) }),
    );
  }

  /** `GET /readyz`: `{status: "ready"}` while the database answers; `ContactdError` (503) when it does not. */
  async ready(options?: RequestOptions): Promise<HealthStatus> {
    return data(
      await this.transport.send<HealthStatus>({ method: "GET", path: "/readyz", anonymous: true, ...signal(options) }),
    );
  }

  /**
   * `GET /metrics`: the Prometheus text. With the server's `--metrics-token`, pass it as
   * `token`; without one, only clients on the loopback interface are answered.
   */
  async metrics(options?: RequestOptions & { token?: string }): Promise<string> {
    const headers = options?.token === undefined ? undefined : { Authorization: `Bearer ${options.token}` };
    return data(
      await this.transport.send<string>({
        method: "GET",
        path: "/metrics",
        anonymous: true,
        text: true,
        headers,
        ...signal(options),
      }),
    );
  }

  /** `GET /v2/openapi.json`: the server's OpenAPI document. */
  async openapi(options?: RequestOptions): Promise<Record<string, unknown>> {
    return data(
      await this.transport.send<Record<string, unknown>>({
        method: "GET",
        path: "/v2/openapi.json",
        anonymous: true,
        ...signal(options),
      }),
    );
  }
}

/**
 * `client.contacts`: `/v2/contact`. A `ref` is a contact id, an E.164 phone, an email or an
 * identity `TYPE:VALUE` (`instagram:17841400000000001`, `whatsapp:+14155550123`).
 */
export class Contacts {
  constructor(private readonly transport: Transport) {}

  /** `GET /v2/contact/{ref}`: the contact, by id, phone (`+1234567890`), email or identity (`instagram:…`). */
  async get(ref: string, options?: RequestOptions): Promise<VersionedContact> {
    return versioned(
      await this.transport.send<Contact>({ method: "GET", path: pathOf(CONTACTS, ref), ...signal(options) }),
    );
  }

  /**
   * `POST /v2/contact`: creates a contact with a phone, an email or `identities`
   * (`DuplicateContactError` when one of them is taken).
   */
  async create(body: ContactCreate, options?: WriteOptions): Promise<VersionedContact> {
    return versioned(await this.transport.send<Contact>({ method: "POST", path: CONTACTS, body, ...write(options) }));
  }

  /**
   * `PUT /v2/contact/{ref}`: only the fields sent change, `null` clears one, `metadata` is
   * merged (a `null` member removes that key), `identities` sent replace the set.
   */
  async update(ref: string, body: ContactUpdate, options?: ConditionalOptions): Promise<VersionedContact> {
    return versioned(
      await this.transport.send<Contact>({ method: "PUT", path: pathOf(CONTACTS, ref), body, ...conditional(options) }),
    );
  }

  /** `DELETE /v2/contact/{ref}`: erases the contact with its conversations and messages; answers it as it was, `status: "deleted"`. */
  async delete(ref: string, options?: ConditionalOptions): Promise<VersionedContact> {
    return versioned(
      await this.transport.send<Contact>({ method: "DELETE", path: pathOf(CONTACTS, ref), ...conditional(options) }),
    );
  }

  /**
   * `GET /v2/contact`: `await` it for the first page, or iterate it for every contact of
   * every page (following `next_cursor`). `limit` is the page size.
   */
  list(filters: ContactFilters = {}, options?: RequestOptions): PageList<ContactList> {
    return paginate(
      async (query) =>
        data(await this.transport.send<ContactList>({ method: "GET", path: CONTACTS, query, ...signal(options) })),
      filters as Query,
    );
  }

  /** `GET /v2/contact/count`: how many contacts match the filters, exactly. */
  async count(filters: CountFilters = {}, options?: RequestOptions): Promise<number> {
    const reply = await this.transport.send<Schemas["ContactCount"]>({
      method: "GET",
      path: `${CONTACTS}/count`,
      query: filters as Query,
      ...signal(options),
    });
    return reply.data.total;
  }

  /**
   * `POST /v2/contact/upsert`: finds the contact by phone or email and applies the body to
   * it, or creates it; `result` says which (`created`, `updated`, `unchanged`).
   */
  async upsert(body: ContactCreate, options?: WriteOptions): Promise<UpsertResponse> {
    const reply = await this.transport.send<Contact>({
      method: "POST",
      path: `${CONTACTS}/upsert`,
      body,
      ...write(options),
    });
    const result = (reply.headers.get("X-Upsert-Result") ??
      (reply.status === 201 ? "created" : "updated")) as UpsertResult;
    return { result, contact: versioned(reply) };
  }

  /** `POST /v2/contact/batch`: up to 1,000 creates, upserts or restores, each succeeding or failing alone. */
  async batch(body: BatchRequest, options?: WriteOptions): Promise<BatchResponse> {
    return data(
      await this.transport.send<BatchResponse>({ method: "POST", path: `${CONTACTS}/batch`, body, ...write(options) }),
    );
  }

  /** `GET /v2/contact/{ref}/conversations`: the contact's conversations, newest first. */
  conversations(ref: string, filters: ConversationFilters = {}, options?: RequestOptions): PageList<ConversationList> {
    return paginate(
      async (query) =>
        data(
          await this.transport.send<ConversationList>({
            method: "GET",
            path: pathOf(CONTACTS, ref, "/conversations"),
            query,
            ...signal(options),
          }),
        ),
      filters as Query,
    );
  }

  /**
   * `POST /v2/contact/{ref}/identities`: adds an identity (`{type, value}` or `"TYPE:VALUE"`)
   * and answers the contact with it; `DuplicateContactError` when another contact holds it.
   */
  async addIdentity(
    ref: string,
    identity: Identity | string,
    options?: ConditionalWriteOptions,
  ): Promise<VersionedContact> {
    return versioned(
      await this.transport.send<Contact>({
        method: "POST",
        path: pathOf(CONTACTS, ref, "/identities"),
        body: identityBody(identity),
        ...conditionalWrite(options),
      }),
    );
  }

  /**
   * `DELETE /v2/contact/{ref}/identities/{TYPE:VALUE}`: removes an identity and answers the
   * contact without it; removing the last way to reach a contact is `InvalidInputError`.
   */
  async removeIdentity(
    ref: string,
    identity: Identity | string,
    options?: ConditionalOptions,
  ): Promise<VersionedContact> {
    const path = pathOf(CONTACTS, ref, "/identities") + pathOf("", identityRef(identity), "", "identity");
    return versioned(await this.transport.send<Contact>({ method: "DELETE", path, ...conditional(options) }));
  }

  /**
   * `POST /v2/contact/{ref}/merge`: folds the contact `source` (any ref) into this one, which
   * keeps its id and fields and takes what it lacks; the source's conversations move over and
   * its id becomes a ref to the target. `merge.id` undoes it (`client.merges.undo`).
   * `dry_run: true` answers the same and changes nothing; `ifMatch` applies to the target.
   */
  async merge(ref: string, body: MergeRequest, options?: ConditionalWriteOptions): Promise<MergeResult> {
    return data(
      await this.transport.send<MergeResult>({
        method: "POST",
        path: pathOf(CONTACTS, ref, "/merge"),
        body,
        ...conditionalWrite(options),
      }),
    );
  }

  /** `GET /v2/contact/{ref}/merges`: the merges the contact took part in, kept or folded in, newest first. */
  async merges(ref: string, options?: RequestOptions): Promise<MergeList> {
    return data(
      await this.transport.send<MergeList>({
        method: "GET",
        path: pathOf(CONTACTS, ref, "/merges"),
        ...signal(options),
      }),
    );
  }

  /**
   * `GET /v2/contact/{ref}/duplicates`: the contacts that look like the same person, best
   * first, each with a `score` (0 to 1) and `reasons` (`email_normalized`,
   * `identity_overlap`, `name_and_email_domain`, `name_similar`).
   */
  async duplicates(ref: string, options?: RequestOptions): Promise<DuplicateCandidateList> {
    return data(
      await this.transport.send<DuplicateCandidateList>({
        method: "GET",
        path: pathOf(CONTACTS, ref, "/duplicates"),
        ...signal(options),
      }),
    );
  }
}

/** `client.merges`: `/v2/merge`, merges made by `client.contacts.merge`, to undo within 30 days. */
export class Merges {
  constructor(private readonly transport: Transport) {}

  /**
   * `POST /v2/merge/{id}/undo`: the source comes back as it was (id, fields, identities,
   * conversations, also messages added since) and the target's fields as before.
   * `MergeConflictError` when undone already or too old; `DuplicateContactError` when an
   * identifier of the two went to another contact since.
   */
  async undo(id: string, options?: WriteOptions): Promise<UndoResult> {
    return data(
      await this.transport.send<UndoResult>({
        method: "POST",
        path: pathOf(MERGES, id, "/undo", "id"),
        ...write(options),
      }),
    );
  }
}

/** `client.duplicates`: `/v2/duplicates`, pairs of contacts of the workspace that look like one person. */
export class Duplicates {
  constructor(private readonly transport: Transport) {}

  /**
   * `GET /v2/duplicates`: `await` it for the first page of pairs (`{a, b, score, reasons}`,
   * in the order of their ids), or iterate it for every pair of every page.
   */
  list(query: DuplicateListQuery = {}, options?: RequestOptions): PageList<DuplicatePairList> {
    return paginate(
      async (q) =>
        data(
          await this.transport.send<DuplicatePairList>({
            method: "GET",
            path: DUPLICATES,
            query: q,
            ...signal(options),
          }),
        ),
      query as Query,
    );
  }
}

/** `client.conversations`: `/v2/conversation` and its messages. */
export class Conversations {
  constructor(private readonly transport: Transport) {}

  /** `POST /v2/conversation`: `contact_id` takes any contact ref. */
  async create(body: ConversationCreate, options?: WriteOptions): Promise<Conversation> {
    return data(
      await this.transport.send<Conversation>({ method: "POST", path: CONVERSATIONS, body, ...write(options) }),
    );
  }

  /** `GET /v2/conversation/{id}`. */
  async get(id: string, options?: RequestOptions): Promise<Conversation> {
    return data(
      await this.transport.send<Conversation>({
        method: "GET",
        path: pathOf(CONVERSATIONS, id, "", "id"),
        ...signal(options),
      }),
    );
  }

  /** `PUT /v2/conversation/{id}`: only `status` can change. */
  async update(id: string, body: ConversationUpdate, options?: RequestOptions): Promise<Conversation> {
    return data(
      await this.transport.send<Conversation>({
        method: "PUT",
        path: pathOf(CONVERSATIONS, id, "", "id"),
        body,
        ...signal(options),
      }),
    );
  }

  /** `POST /v2/conversation/{id}/messages`: adds a message (an outbound one sets the contact's `last_contacted`). */
  async createMessage(id: string, body: MessageCreate, options?: WriteOptions): Promise<Message> {
    const path = pathOf(CONVERSATIONS, id, "/messages", "id");
    return data(await this.transport.send<Message>({ method: "POST", path, body, ...write(options) }));
  }

  /** `GET /v2/conversation/{id}/messages`: the conversation's messages, oldest first. */
  messages(id: string, query: MessageListQuery = {}, options?: RequestOptions): PageList<MessageList> {
    return paginate(
      async (q) =>
        data(
          await this.transport.send<MessageList>({
            method: "GET",
            path: pathOf(CONVERSATIONS, id, "/messages", "id"),
            query: q,
            ...signal(options),
          }),
        ),
      query as Query,
    );
  }
}

/** `client.segments`: `/v2/segment`, saved contact filters. */
export class Segments {
  constructor(private readonly transport: Transport) {}

  /** `POST /v2/segment`: `filter` holds the list's filter parameters as strings (`{"metadata.plan": "premium"}`). */
  async create(body: SegmentCreate, options?: WriteOptions): Promise<Segment> {
    return data(await this.transport.send<Segment>({ method: "POST", path: SEGMENTS, body, ...write(options) }));
  }

  /** `GET /v2/segment/{id}`, with its `count` computed now. */
  async get(id: string, options?: RequestOptions): Promise<Segment> {
    return data(
      await this.transport.send<Segment>({ method: "GET", path: pathOf(SEGMENTS, id, "", "id"), ...signal(options) }),
    );
  }

  /** `GET /v2/segment`: the segments, oldest first. */
  list(query: SegmentListQuery = {}, options?: RequestOptions): PageList<SegmentList> {
    return paginate(
      async (q) =>
        data(await this.transport.send<SegmentList>({ method: "GET", path: SEGMENTS, query: q, ...signal(options) })),
      query as Query,
    );
  }

  /** `PUT /v2/segment/{id}`: a new name, or a new filter replacing the old one whole. */
  async update(id: string, body: SegmentUpdate, options?: RequestOptions): Promise<Segment> {
    return data(
      await this.transport.send<Segment>({
        method: "PUT",
        path: pathOf(SEGMENTS, id, "", "id"),
        body,
        ...signal(options),
      }),
    );
  }

  /** `DELETE /v2/segment/{id}`: answers the segment as it was; its contacts stay. */
  async delete(id: string, options?: RequestOptions): Promise<Segment> {
    return data(
      await this.transport.send<Segment>({
        method: "DELETE",
        path: pathOf(SEGMENTS, id, "", "id"),
        ...signal(options),
      }),
    );
  }

  /** `GET /v2/segment/{id}/contacts`: the segment's contacts now; iterate it for all of them. */
  contacts(id: string, query: SegmentContactsQuery = {}, options?: RequestOptions): PageList<ContactList> {
    return paginate(
      async (q) =>
        data(
          await this.transport.send<ContactList>({
            method: "GET",
            path: pathOf(SEGMENTS, id, "/contacts", "id"),
            query: q,
            ...signal(options),
          }),
        ),
      query as Query,
    );
  }
}

/**
 * The change feed as an async iterable of events, oldest first (`client.events.list()` and
 * `client.events.follow()`). `cursor` is where to resume: every event before it has been
 * handed out. It moves at the end of each page, so a reader that stops in the middle of a
 * page and resumes from `cursor` sees the rest of that page again (at least once, never a gap).
 */
export class EventFeed implements AsyncIterable<Event> {
  /** The `after` of the next request. */
  cursor: string | undefined;

  constructor(
    private readonly transport: Transport,
    private readonly query: EventQuery,
    private readonly follow: boolean,
    private readonly options?: RequestOptions,
  ) {
    this.cursor = query.after;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Event> {
    for (;;) {
      const page = await eventPage(this.transport, { ...this.query, after: this.cursor }, this.options);
      yield* page.data;
      this.cursor = page.next_cursor;
      if (!page.has_more && !this.follow) return;
    }
  }

  /** Every event up to the newest now, in one array (not for a feed that follows). */
  async toArray(): Promise<Event[]> {
    const all: Event[] = [];
    for await (const event of this) all.push(event);
    return all;
  }
}

async function eventPage(transport: Transport, query: EventQuery, options?: RequestOptions): Promise<EventList> {
  const types = Array.isArray(query.types) ? query.types.join(",") : query.types;
  const q = { ...query, types } as Query;
  return data(await transport.send<EventList>({ method: "GET", path: EVENTS, query: q, ...signal(options) }));
}

/** `client.events`: `/v2/events`, every change in the order the workspace committed it. */
export class Events {
  constructor(private readonly transport: Transport) {}

  /** The events after `after` (from the oldest kept when left out) up to the newest now. */
  list(query: Omit<EventQuery, "wait"> = {}, options?: RequestOptions): EventFeed {
    return new EventFeed(this.transport, query, false, options);
  }

  /**
   * The events after `after`, then each new one as it comes, without end: an empty page
   * waits up to `wait` seconds (default 30) on the server. Stop it with `break` or a signal.
   */
  follow(query: EventQuery = {}, options?: RequestOptions): EventFeed {
    return new EventFeed(this.transport, { wait: 30, ...query }, true, options);
  }

  /** One page of the feed; its `next_cursor` is the `after` of the next. */
  async listPage(query: EventQuery = {}, options?: RequestOptions): Promise<EventList> {
    return eventPage(this.transport, query, options);
  }
}

/** `client.webhooks`: `/v2/webhook`, endpoints that receive signed events, and their deliveries. */
export class Webhooks {
  constructor(private readonly transport: Transport) {}

  /** `POST /v2/webhook`: the answer's `secret` is shown this once (and by `rotateSecret`). */
  async create(body: WebhookCreate, options?: WriteOptions): Promise<Webhook> {
    return data(await this.transport.send<Webhook>({ method: "POST", path: WEBHOOKS, body, ...write(options) }));
  }

  /** `GET /v2/webhook`: every endpoint, oldest first. */
  async list(options?: RequestOptions): Promise<WebhookList> {
    return data(await this.transport.send<WebhookList>({ method: "GET", path: WEBHOOKS, ...signal(options) }));
  }

  async get(id: string, options?: RequestOptions): Promise<Webhook> {
    return data(
      await this.transport.send<Webhook>({ method: "GET", path: pathOf(WEBHOOKS, id, "", "id"), ...signal(options) }),
    );
  }

  /** `PUT /v2/webhook/{id}`: `url`, `event_types`, `description` or `status` (`enabled`/`disabled`). */
  async update(id: string, body: WebhookUpdate, options?: RequestOptions): Promise<Webhook> {
    return data(
      await this.transport.send<Webhook>({
        method: "PUT",
        path: pathOf(WEBHOOKS, id, "", "id"),
        body,
        ...signal(options),
      }),
    );
  }

  async delete(id: string, options?: RequestOptions): Promise<Webhook> {
    return data(
      await this.transport.send<Webhook>({
        method: "DELETE",
        path: pathOf(WEBHOOKS, id, "", "id"),
        ...signal(options),
      }),
    );
  }

  /** A new secret (in the answer); the old one keeps signing alongside for 24 hours. */
  async rotateSecret(id: string, options?: WriteOptions): Promise<Webhook> {
    return data(
      await this.transport.send<Webhook>({
        method: "POST",
        path: pathOf(WEBHOOKS, id, "/rotate-secret", "id"),
        ...write(options),
      }),
    );
  }

  /** `GET /v2/webhook/{id}/deliveries`: newest first; iterate it for all of them. */
  deliveries(id: string, query: DeliveryListQuery = {}, options?: RequestOptions): PageList<DeliveryList> {
    return paginate(
      async (q) =>
        data(
          await this.transport.send<DeliveryList>({
            method: "GET",
            path: pathOf(WEBHOOKS, id, "/deliveries", "id"),
            query: q,
            ...signal(options),
          }),
        ),
      query as Query,
    );
  }

  /** Makes the delivery due now, whatever its state (a failed one starts its retries again). */
  async retryDelivery(id: string, deliveryId: string, options?: WriteOptions): Promise<Delivery> {
    const path =
      pathOf(WEBHOOKS, id, "/deliveries", "id") + "/" + pathOf("", deliveryId, "/retry", "deliveryId").slice(1);
    return data(await this.transport.send<Delivery>({ method: "POST", path, ...write(options) }));
  }
}

function data<T>(reply: Reply<T>): T {
  return reply.data;
}

/** The contact with its `ETag` as a non-enumerable `etag` (left out of JSON and spreads). */
function versioned(reply: Reply<Contact>): VersionedContact {
  return Object.defineProperty(reply.data, "etag", {
    value: reply.headers.get("ETag") ?? undefined,
    enumerable: false,
  }) as VersionedContact;
}

function signal(options: RequestOptions | undefined): { signal?: AbortSignal } {
  return options?.signal ? { signal: options.signal } : {};
}

function write(options: WriteOptions | undefined): { signal?: AbortSignal; idempotencyKey?: string } {
  return { ...signal(options), ...(options?.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {}) };
}

function conditionalWrite(options: ConditionalWriteOptions | undefined): {
  signal?: AbortSignal;
  idempotencyKey?: string;
  headers?: Record<string, string>;
} {
  return { ...write(options), ...conditional(options) };
}

/** `{type, value}` as its ref, `TYPE:VALUE`. */
function identityRef(identity: Identity | string): string {
  return typeof identity === "string" ? identity : `${identity.type}:${identity.value}`;
}

/** `TYPE:VALUE` as the body of an add, `{type, value}` (split at the first colon). */
function identityBody(identity: Identity | string): Identity {
  if (typeof identity !== "string") return identity;
  const colon = identity.indexOf(":");
  if (colon < 1) {
    throw new InvalidInputError({
      error: "invalid_input",
      code: 400,
      message: 'An identity is {type, value} or "TYPE:VALUE", e.g. "instagram:17841400000000001"',
      details: { field: "identity", received: identity },
    });
  }
  return { type: identity.slice(0, colon), value: identity.slice(colon + 1) };
}

function conditional(options: ConditionalOptions | undefined): {
  signal?: AbortSignal;
  headers?: Record<string, string>;
} {
  return { ...signal(options), ...(options?.ifMatch ? { headers: { "If-Match": options.ifMatch } } : {}) };
}
