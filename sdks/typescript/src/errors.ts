import type { components } from "./schema.js";

/** The error envelope every contactd error answers with. */
export type ErrorBody = components["schemas"]["Error"];
/** The members `details` can have; which ones depends on `error`. */
export type ErrorDetails = components["schemas"]["ErrorDetails"] & Record<string, unknown>;

/**
 * An error answer from contactd: `.code` is the HTTP status (`error.code === 404` for a
 * missing contact), `.error` the error's name (`not_found`, `invalid_input`, …), `.message`
 * a sentence safe to show, `.details` what there is to add (`{}` when nothing).
 */
export class ContactdError extends Error {
  /** The HTTP status, e.g. 404. */
  readonly code: number;
  /** The error's name, e.g. `not_found`, `duplicate_contact`. */
  readonly error: string;
  /** `field`, `received`, `expected`, `existing_contact_id`, … */
  readonly details: ErrorDetails;
  /** The `X-Request-Id` of the answer, to find the request in the server's log. */
  readonly requestId: string | undefined;

  constructor(body: { error: string; message: string; code: number; details?: object | null }, requestId?: string) {
    super(body.message);
    this.name = new.target.name;
    this.code = body.code;
    this.error = body.error;
    this.details = (body.details ?? {}) as ErrorDetails;
    this.requestId = requestId;
  }
}

/** `404 not_found`: no such contact, conversation, segment or route in this workspace. */
export class NotFoundError extends ContactdError {}

/** `401 unauthorized`: the API key is missing, malformed, unknown or revoked. */
export class UnauthorizedError extends ContactdError {}

/** `400 invalid_input`: a field, reference or query parameter is not valid. */
export class InvalidInputError extends ContactdError {
  /** The field at fault, dotted for nested ones (`phone`, `metadata.plan`, `ref`, `limit`). */
  get field(): string | undefined {
    return this.details.field;
  }
  /** The value received. */
  get received(): unknown {
    return this.details.received;
  }
  /** What would have been accepted (for a phone, its E.164 form), when one can be said. */
  get expected(): unknown {
    return this.details.expected;
  }
}

/** `409 duplicate_contact`: the phone, email or identity belongs to another contact. */
export class DuplicateContactError extends ContactdError {
  /** The contact that holds the phone, email or identity. */
  get existingContactId(): string | undefined {
    return this.details.existing_contact_id;
  }
}

/** `409 idempotency_conflict`: the `Idempotency-Key` was already used for another request. */
export class IdempotencyConflictError extends ContactdError {}

/**
 * `409 merge_conflict`: the merge cannot be undone (undone already, older than 30 days, or
 * the contact it kept was deleted or merged since). Nothing changed.
 */
export class MergeConflictError extends ContactdError {}

/** `412 precondition_failed`: `If-Match` named another version of the contact. */
export class PreconditionFailedError extends ContactdError {
  /** The contact's current `ETag`. */
  get currentEtag(): string | undefined {
    return this.details.current_etag;
  }
}

/** `429 rate_limited`: too many requests; `.retryAfter` says how many seconds to wait. */
export class RateLimitedError extends ContactdError {
  /** Seconds to wait before trying again, from `Retry-After` (or `details.retry_after`). */
  readonly retryAfter: number | undefined;

  constructor(body: ErrorBody, requestId?: string, retryAfter?: number) {
    super(body, requestId);
    this.retryAfter = retryAfter ?? body.details?.retry_after;
  }
}

/** The request never got an answer: the connection failed or the attempt timed out. */
export class ConnectionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ConnectionError";
  }
}

/** The error for an error answer, of the subclass its `error` and status name. */
export function errorFromBody(body: ErrorBody, requestId?: string, retryAfter?: number): ContactdError {
  switch (body.error) {
    case "not_found":
      return new NotFoundError(body, requestId);
    case "unauthorized":
      return new UnauthorizedError(body, requestId);
    case "invalid_input":
      return new InvalidInputError(body, requestId);
    case "duplicate_contact":
      return new DuplicateContactError(body, requestId);
    case "idempotency_conflict":
      return new IdempotencyConflictError(body, requestId);
    case "merge_conflict":
      return new MergeConflictError(body, requestId);
    case "precondition_failed":
      return new PreconditionFailedError(body, requestId);
    case "rate_limited":
      return new RateLimitedError(body, requestId, retryAfter);
  }
  switch (body.code) {
    case 400:
      return new InvalidInputError(body, requestId);
    case 401:
      return new UnauthorizedError(body, requestId);
    case 404:
      return new NotFoundError(body, requestId);
    case 412:
      return new PreconditionFailedError(body, requestId);
    case 429:
      return new RateLimitedError(body, requestId, retryAfter);
  }
  return new ContactdError(body, requestId);
}
