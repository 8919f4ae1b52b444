export { Client, Contacts, Conversations, EventFeed, Events, Segments, Webhooks } from "./client.js";
export type {
  BatchItemResult,
  BatchRequest,
  BatchResponse,
  Channel,
  ConditionalOptions,
  Contact,
  ContactCreate,
  ContactFilters,
  ContactList,
  ContactSort,
  ContactStatus,
  ContactUpdate,
  Conversation,
  ConversationCreate,
  ConversationFilters,
  ConversationList,
  ConversationStatus,
  ConversationUpdate,
  CountFilters,
  Delivery,
  DeliveryList,
  DeliveryListQuery,
  Event,
  EventList,
  EventQuery,
  HealthStatus,
  Message,
  MessageCreate,
  MessageList,
  MessageListQuery,
  MetadataFilters,
  Segment,
  SegmentContactsQuery,
  SegmentCreate,
  SegmentList,
  SegmentListQuery,
  SegmentUpdate,
  UpsertResponse,
  UpsertResult,
  VersionedContact,
  Webhook,
  WebhookCreate,
  WebhookList,
  WebhookUpdate,
} from "./client.js";
export type { ClientOptions, RequestOptions, WriteOptions } from "./http.js";
export type { AnyPage, PageList } from "./pages.js";
export {
  ConnectionError,
  ContactdError,
  DuplicateContactError,
  IdempotencyConflictError,
  InvalidInputError,
  NotFoundError,
  PreconditionFailedError,
  RateLimitedError,
  UnauthorizedError,
} from "./errors.js";
export type { ErrorBody, ErrorDetails } from "./errors.js";
export { formatPhoneE164, PhoneNumberError } from "./phone.js";
export { verifyWebhookSignature, WebhookVerificationError } from "./webhooks.js";
export type { VerifyWebhookOptions, WebhookHeaders } from "./webhooks.js";
/** The types generated from docs/openapi.json by openapi-typescript. */
export type { components, operations, paths } from "./schema.js";
