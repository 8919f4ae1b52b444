//! What the `#[utoipa::path]` annotations of the handlers name: reusable error responses,
//! parameter sets, and the schemas of what the domain parsers read by hand. Handlers import
//! this module; the document itself (`openapi.rs`) imports the handlers, never the other
//! way round, so neither the handlers nor these declarations depend on the document.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde_json::{json, Value};
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn, ParameterStyle};
use utoipa::openapi::response::{Response as ResponseSpec, ResponseBuilder};
use utoipa::openapi::schema::{AnyOfBuilder, KnownFormat, SchemaFormat};
use utoipa::openapi::{ContentBuilder, ObjectBuilder, Ref, RefOr, Required, Schema, Type};
use utoipa::{IntoParams, IntoResponses, PartialSchema, ToResponse, ToSchema};

pub use self::schemas::*;

const CONTACT_ID_PATTERN: &str = "^cnt_[0-9a-z]+$";
const PHONE_PATTERN: &str = r"^\+[1-9][0-9]{1,14}$";

/// A reusable error response: its status, when it happens, and example bodies as
/// `(example name, error code, message)`.
struct ErrorResponse {
    status: StatusCode,
    description: &'static str,
    examples: &'static [(&'static str, &'static str, &'static str)],
}

/// Declares `#/components/responses/<name>` for each `name => spec`, to be named in a
/// handler's `responses(...)`.
macro_rules! error_responses {
    ($($name:ident => $spec:expr),* $(,)?) => {$(
        pub struct $name;

        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<ResponseSpec>) {
                (stringify!($name), error_response(&$spec).into())
            }
        }
    )*};
}

error_responses! {
    InvalidInput => INVALID_INPUT,
    Unauthorized => UNAUTHORIZED,
    NotFound => NOT_FOUND,
    MethodNotAllowed => METHOD_NOT_ALLOWED,
    Conflict => CONFLICT,
    DuplicateContact => DUPLICATE_CONTACT,
    IdempotencyConflict => IDEMPOTENCY_CONFLICT,
    MergeConflict => MERGE_CONFLICT,
    PreconditionFailed => PRECONDITION_FAILED,
    RequestTimeout => REQUEST_TIMEOUT,
    PayloadTooLarge => PAYLOAD_TOO_LARGE,
    RateLimited => RATE_LIMITED,
    InternalError => INTERNAL_ERROR,
    Unavailable => UNAVAILABLE,
}

const INVALID_INPUT: ErrorResponse = ErrorResponse {
    status: StatusCode::BAD_REQUEST,
    description: "`invalid_input`: a field, path reference, header or query parameter is not valid, or the body is not a JSON object. `details.field` names it, with `received` and, where one can be said, `expected`",
    examples: &[("phone", "invalid_input", "Phone number must be in E.164 format")],
};

const UNAUTHORIZED: ErrorResponse = ErrorResponse {
    status: StatusCode::UNAUTHORIZED,
    description: "`unauthorized`: the API key is missing, malformed, unknown or revoked",
    examples: &[("revoked", "unauthorized", "Invalid or revoked API key")],
};

const NOT_FOUND: ErrorResponse = ErrorResponse {
    status: StatusCode::NOT_FOUND,
    description: "`not_found`: no such contact or conversation in this workspace and mode",
    examples: &[("contact", "not_found", "Contact not found")],
};

const METHOD_NOT_ALLOWED: ErrorResponse = ErrorResponse {
    status: StatusCode::METHOD_NOT_ALLOWED,
    description: "`method_not_allowed`: the path exists, but not with this method; `Allow` lists the methods it takes. No operation declares it, since every operation's own method is allowed: it is here so that the envelope of a `405` is described too",
    examples: &[("method_not_allowed", "method_not_allowed", "Method not allowed")],
};

const CONFLICT: ErrorResponse = ErrorResponse {
    status: StatusCode::CONFLICT,
    description: "`duplicate_contact`: the phone or email belongs to another contact (`details.existing_contact_id`; for an upsert whose phone and email name two contacts, also `details.phone_contact_id` and `details.email_contact_id`), or `idempotency_conflict`: the `Idempotency-Key` was used for another request, or its first request is still running after 10 s",
    examples: &[
        ("duplicate_contact", "duplicate_contact", "A contact with this phone number already exists"),
        ("idempotency_conflict", "idempotency_conflict", "This Idempotency-Key was already used for a different request"),
    ],
};

const DUPLICATE_CONTACT: ErrorResponse = ErrorResponse {
    status: StatusCode::CONFLICT,
    description: "`duplicate_contact`: the phone or email belongs to another contact (`details.field`, `details.existing_contact_id`)",
    examples: &[("duplicate_contact", "duplicate_contact", "A contact with this phone number already exists")],
};

const IDEMPOTENCY_CONFLICT: ErrorResponse = ErrorResponse {
    status: StatusCode::CONFLICT,
    description: "`idempotency_conflict`: the `Idempotency-Key` was used for another request, or its first request is still running after 10 s",
    examples: &[("idempotency_conflict", "idempotency_conflict", "This Idempotency-Key was already used for a different request")],
};

const MERGE_CONFLICT: ErrorResponse = ErrorResponse {
    status: StatusCode::CONFLICT,
    description: "`merge_conflict`: the merge was already undone, is older than 30 days, or the contact it kept was deleted or merged into another since; or (`duplicate_contact`) an identifier of the two contacts went to another contact since. Nothing changed",
    examples: &[
        ("merge_conflict", "merge_conflict", "This merge was already undone"),
        ("duplicate_contact", "duplicate_contact", "A contact with this phone number already exists"),
    ],
};

const PRECONDITION_FAILED: ErrorResponse = ErrorResponse {
    status: StatusCode::PRECONDITION_FAILED,
    description: "`precondition_failed`: `If-Match` names another version of the contact; `details.current_etag` is the current one. Nothing changed",
    examples: &[("precondition_failed", "precondition_failed", "The contact has changed since the version named in If-Match")],
};

const REQUEST_TIMEOUT: ErrorResponse = ErrorResponse {
    status: StatusCode::REQUEST_TIMEOUT,
    description: "`request_timeout`: the body was not sent in time",
    examples: &[(
        "request_timeout",
        "request_timeout",
        "The request body was not sent in time",
    )],
};

const PAYLOAD_TOO_LARGE: ErrorResponse = ErrorResponse {
    status: StatusCode::PAYLOAD_TOO_LARGE,
    description:
        "`payload_too_large`: the body is over the limit (`details.limit_bytes`, 1 MiB by default)",
    examples: &[(
        "payload_too_large",
        "payload_too_large",
        "Request body is larger than 1048576 bytes",
    )],
};

const RATE_LIMITED: ErrorResponse = ErrorResponse {
    status: StatusCode::TOO_MANY_REQUESTS,
    description: "`rate_limited`: too many requests for this key, or too many failed authentications from this client; retry after `Retry-After` seconds",
    examples: &[("rate_limited", "rate_limited", "Too many requests")],
};

const INTERNAL_ERROR: ErrorResponse = ErrorResponse {
    status: StatusCode::INTERNAL_SERVER_ERROR,
    description:
        "`internal_error`: a bug; it is logged with the request id and never detailed to the client",
    examples: &[(
        "internal_error",
        "internal_error",
        "An internal error occurred",
    )],
};

const UNAVAILABLE: ErrorResponse = ErrorResponse {
    status: StatusCode::SERVICE_UNAVAILABLE,
    description: "`unavailable`: the database cannot be reached or written, or the request ran past its deadline; retry",
    examples: &[("unavailable", "unavailable", "The database is unavailable; retry shortly")],
};

/// What an example of each error code shows in `details`.
fn example_details(error: &str) -> Value {
    match error {
        "invalid_input" => {
            json!({"field": "phone", "received": "1234567890", "expected": "+1234567890"})
        }
        "duplicate_contact" => {
            json!({"field": "phone", "existing_contact_id": "cnt_038ggac0fy000a0wp1kh1adwpwetq"})
        }
        "precondition_failed" => json!({"current_etag": "\"9f2c1e4b7a0d3c5e8f1a2b3c\""}),
        "payload_too_large" => json!({"limit_bytes": 1_048_576}),
        "rate_limited" => json!({"retry_after": 1}),
        _ => json!({}),
    }
}

fn error_response(spec: &ErrorResponse) -> ResponseSpec {
    let examples = spec.examples.iter().map(|(example, error, message)| {
        let body = json!({
            "error": error,
            "message": message,
            "code": spec.status.as_u16(),
            "details": example_details(error),
        });
        (*example, ExampleBuilder::new().value(Some(body)).build())
    });
    let content = ContentBuilder::new()
        .schema(Some(
            Ref::from_schema_name(contactd_wire::ErrorBody::name()),
        ))
        .examples_from_iter(examples)
        .build();
    let mut response = ResponseBuilder::new()
        .description(spec.description)
        .content("application/json", content);
    if spec.status == StatusCode::METHOD_NOT_ALLOWED {
        response = response.header(
            "Allow",
            HeaderBuilder::new()
                .schema(String::schema())
                .description(Some("The methods the path takes, e.g. `GET, PUT, DELETE`"))
                .build(),
        );
    }
    if spec.status == StatusCode::TOO_MANY_REQUESTS {
        response = response.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(u64::schema())
                .description(Some("Seconds to wait before retrying"))
                .build(),
        );
    }
    response.build()
}

fn refs(names: &[(u16, &str)]) -> BTreeMap<String, RefOr<ResponseSpec>> {
    names
        .iter()
        .map(|(status, name)| {
            (
                status.to_string(),
                RefOr::Ref(Ref::from_response_name(*name)),
            )
        })
        .collect()
}

/// The errors any authenticated request can meet: a bad key, too many requests, a bug,
/// an unreachable database.
pub struct CommonErrors;

impl IntoResponses for CommonErrors {
    fn responses() -> BTreeMap<String, RefOr<ResponseSpec>> {
        refs(&[
            (401, "Unauthorized"),
            (429, "RateLimited"),
            (500, "InternalError"),
            (503, "Unavailable"),
        ])
    }
}

/// The errors of reading a request body: too slow, too large.
pub struct BodyErrors;

impl IntoResponses for BodyErrors {
    fn responses() -> BTreeMap<String, RefOr<ResponseSpec>> {
        refs(&[(408, "RequestTimeout"), (413, "PayloadTooLarge")])
    }
}

/// The metadata filters of `GET /v2/contact`.
pub struct MetadataFilters;

impl IntoParams for MetadataFilters {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        // OpenAPI cannot name parameters built at request time, so the filters are one
        // object parameter in `deepObject` style: what openapi-fetch sends for an object by
        // default (`metadata[plan]=premium`), and what the server reads besides the older
        // `metadata.plan=premium`.
        let description = "Metadata filters, one query parameter each, combined with AND. \
            Each member of this object is sent as `metadata[KEY]=VALUE` (`style: deepObject`): \
            `metadata[plan]=premium`. `KEY` is a `PATH` of 1 to 10 keys of `[A-Za-z0-9_-]` \
            joined by dots (`metadata[preferences.language]=en`), optionally followed by \
            `[OP]`: the server reads `metadata[score][gte]=5` and `metadata[score[gte]]=5` \
            (what a client sends for the member `score[gte]`) alike. The older form \
            `metadata.PATH` and `metadata.PATH[OP]` (`metadata.plan=premium`, \
            `metadata.score[gte]=5`) is read as well; clients that merge the object's members \
            into the query string unchanged (openapi-python-client ignores `style`) pass \
            members named that way. Without `OP`, or with `[eq]`, the value matches a JSON \
            string, a number (`metadata[mrr]=500`) or a boolean of the same text, or an array \
            containing it (`metadata[tags]=vip`). `OP` is `ne` (absent or not equal), \
            `exists` (`true` or `false`), or `gt`, `gte`, `lt`, `lte` (numbers). At most 20 \
            filter parameters in all, both forms counted; a malformed path, an unknown \
            operator or a value that does not parse is `invalid_input` naming the parameter.";
        vec![ParameterBuilder::new()
            .name("metadata")
            .parameter_in(ParameterIn::Query)
            .required(Required::False)
            .description(Some(description))
            .style(Some(ParameterStyle::DeepObject))
            .explode(Some(true))
            .schema(Some(schemas::metadata_filters()))
            .build()]
    }
}

/// `{ref}`: a contact id, a phone or an email.
pub struct ContactRef;

impl ToSchema for ContactRef {
    fn name() -> std::borrow::Cow<'static, str> {
        "ContactRef".into()
    }
}

impl PartialSchema for ContactRef {
    fn schema() -> RefOr<Schema> {
        let string = |title: &str, description: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .title(Some(title))
                .description(Some(description))
        };
        AnyOfBuilder::new()
            .item(
                string("id", "A contact id")
                    .pattern(Some(CONTACT_ID_PATTERN))
                    .max_length(Some(68)),
            )
            .item(
                string(
                    "phone",
                    "A phone in E.164 form; send `+` as `%2B` (a literal `+` works too)",
                )
                .pattern(Some(PHONE_PATTERN)),
            )
            .item(
                string("email", "An email, matched case-insensitively")
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
                    .pattern(Some("@"))
                    .max_length(Some(254)),
            )
            .item(
                string(
                    "identity",
                    "An identity, `TYPE:VALUE` (`instagram:17841400000000001`, `whatsapp:+14155550123`)",
                )
                .pattern(Some(
                    "^(phone|email|whatsapp|instagram|messenger|telegram|external):.+$",
                )),
            )
            .description(Some(
                "A contact id (`cnt_…`), a phone in E.164 form (`+14155550123`), an email or an \
                 identity (`TYPE:VALUE`). The id of a contact merged into another names that one. \
                 Anything else is `invalid_input` with `details.field` `ref`; a phone written \
                 without `+` gets the E.164 form in `details.expected`.",
            ))
            .examples([
                json!("cnt_038ggac0fy000a0wp1kh1adwpwetq"),
                json!("+14155550123"),
                json!("john@example.com"),
            ])
            .into()
    }
}

/// The schemas of what the query string parsers and headers read by hand. Never built:
/// they only describe. Bodies and answers are the types of `contactd-wire`.
#[allow(dead_code)]
mod schemas {
    use contactd_wire::{Channel, ConversationStatus, SettableContactStatus};
    use utoipa::openapi::extensions::ExtensionsBuilder;
    use utoipa::openapi::{ObjectBuilder, RefOr, Schema, Type};
    use utoipa::{IntoParams, PartialSchema, ToSchema};

    use crate::domain::batch::MAX_ITEMS;
    use crate::domain::conversation::{NewMessage, Page};
    use crate::domain::merge::{MAX_METADATA_BYTES, MAX_METADATA_DEPTH};

    /// What `X-Upsert-Result` and a batch item's `status` say happened.
    #[derive(ToSchema)]
    #[schema(rename_all = "snake_case")]
    pub enum UpsertResult {
        Created,
        Updated,
        /// The contact already had every value sent; nothing was written.
        Unchanged,
    }

    /// The order of a contact list: a field, ascending, or with `-` in front, descending.
    pub struct ContactSort;

    /// The values of `sort`, with the names generated clients give them: without
    /// `x-enum-varnames` openapi-python-client calls `-created_at` `VALUE_1`.
    pub const CONTACT_SORTS: [(&str, &str); 8] = [
        ("created_at", "CREATED_AT"),
        ("-created_at", "CREATED_AT_DESC"),
        ("updated_at", "UPDATED_AT"),
        ("-updated_at", "UPDATED_AT_DESC"),
        ("last_contacted", "LAST_CONTACTED"),
        ("-last_contacted", "LAST_CONTACTED_DESC"),
        ("full_name", "FULL_NAME"),
        ("-full_name", "FULL_NAME_DESC"),
    ];

    impl ToSchema for ContactSort {
        fn name() -> std::borrow::Cow<'static, str> {
            "ContactSort".into()
        }
    }

    impl PartialSchema for ContactSort {
        fn schema() -> RefOr<Schema> {
            let names = CONTACT_SORTS.map(|(_, name)| name);
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(
                    "The order of a contact list: a field, ascending, or with `-` in front, \
                     descending. Ties are broken by id in the same direction; null values sort \
                     after all others in ascending order and first in descending order; \
                     `full_name` sorts case-insensitively.",
                ))
                .enum_values(Some(CONTACT_SORTS.map(|(value, _)| value)))
                .extensions(Some(
                    ExtensionsBuilder::new()
                        .add("x-enum-varnames", serde_json::json!(names))
                        .build(),
                ))
                .into()
        }
    }

    /// `{"status": "ok"}` or `{"status": "ready"}`.
    #[derive(ToSchema)]
    #[schema(example = json!({"status": "ok"}))]
    pub struct HealthStatus {
        pub status: String,
    }

    /// `Idempotency-Key`, accepted by every `POST`.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Header)]
    pub struct IdempotencyKey {
        /// 1–255 visible ASCII characters, e.g. a UUID. The first request with a key runs
        /// and its answer is kept 24 hours; the same key with the same request replays it
        /// (with `Idempotent-Replayed: true`), with another request is
        /// `409 idempotency_conflict`. 5xx and 429 answers are not kept.
        #[param(
            rename = "Idempotency-Key",
            nullable = false,
            pattern = "^[!-~]{1,255}$"
        )]
        pub idempotency_key: Option<String>,
    }

    /// `If-Match`, accepted by `PUT` and `DELETE` of a contact.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Header)]
    pub struct IfMatch {
        /// One or more `ETag`s of the contact, comma-separated, or `*`. When the current
        /// version is not among them nothing changes and the answer is
        /// `412 precondition_failed`.
        #[param(rename = "If-Match", nullable = false)]
        pub if_match: Option<String>,
    }

    /// `{ref}` of `/v2/contact/{ref}`.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Path)]
    pub struct ContactRefPath {
        /// A contact id, a phone (`%2B14155550123` or a literal `+`), an email or an
        /// identity (`TYPE:VALUE`).
        #[param(rename = "ref", value_type = super::ContactRef)]
        pub contact_ref: String,
    }

    /// `{merge_id}` of `/v2/merge/{merge_id}/undo`.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Path)]
    pub struct MergeIdPath {
        /// A merge id; anything else is `invalid_input` with `details.field` `id`.
        #[param(
            rename = "merge_id",
            pattern = "^mrg_[0-9a-z]+$",
            example = "mrg_038ggac0fy000b7n2k4t9qzdx1mr"
        )]
        pub id: String,
    }

    /// `{conversation_id}` of `/v2/conversation/{conversation_id}`.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Path)]
    pub struct ConversationIdPath {
        /// A conversation id; anything else is `invalid_input` with `details.field` `id`.
        #[param(
            rename = "conversation_id",
            pattern = "^conv_[0-9a-z]+$",
            example = "conv_038ggac0fy000b7n2k4t9qzdx1mr"
        )]
        pub id: String,
    }

    /// `{segment_id}` of `/v2/segment/{segment_id}`.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Path)]
    pub struct SegmentIdPath {
        /// A segment id; anything else is `invalid_input` with `details.field` `id`.
        #[param(
            rename = "segment_id",
            pattern = "^seg_[0-9a-z]+$",
            example = "seg_038ggac0fy000b7n2k4t9qzdx1mr"
        )]
        pub id: String,
    }

    /// `{webhook_id}` of `/v2/webhook/{webhook_id}`.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Path)]
    pub struct WebhookIdPath {
        /// A webhook id; anything else is `invalid_input` with `details.field` `id`.
        #[param(
            rename = "webhook_id",
            pattern = "^wh_[0-9a-z]+$",
            example = "wh_038ggac0fy000b7n2k4t9qzdx1mr"
        )]
        pub id: String,
    }

    /// `{delivery_id}` of a delivery's path.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Path)]
    pub struct DeliveryIdPath {
        /// A delivery id, as the deliveries list shows it.
        #[param(
            rename = "delivery_id",
            pattern = "^dlv_[0-9a-z]+$",
            example = "dlv_038ggac0fy000b7n2k4t9qzdx1mr"
        )]
        pub id: String,
    }

    /// The change feed's query.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct EventQuery {
        /// The `next_cursor` of the previous page; left out, the oldest kept event.
        #[param(nullable = false)]
        pub after: Option<String>,
        /// Comma-separated event types, e.g. `contact.created,contact.deleted`; all when
        /// left out.
        #[param(nullable = false, example = "contact.created,contact.deleted")]
        pub types: Option<String>,
        /// Events per page, 1–1000.
        #[param(nullable = false, minimum = 1, maximum = 1000, default = 100)]
        pub limit: Option<u32>,
        /// Seconds (0–30) an empty answer waits for the next event.
        #[param(nullable = false, minimum = 0, maximum = 30, default = 0)]
        pub wait: Option<u32>,
    }

    /// Cursor paging of the deliveries list.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct DeliveryQuery {
        /// Deliveries per page, 1–100.
        #[param(nullable = false, minimum = 1, maximum = 100, default = 20)]
        pub limit: Option<u32>,
        /// The `next_cursor` of the previous page.
        #[param(nullable = false)]
        pub cursor: Option<String>,
    }

    /// Offset paging of the conversation and message lists.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct PageQuery {
        /// Items per page, 1–100.
        #[param(nullable = false, minimum = 1, maximum = 100, default = 20)]
        pub limit: Option<u32>,
        /// Items to skip.
        #[param(nullable = false, minimum = 0, default = 0)]
        pub offset: Option<u64>,
    }

    /// Filters of a contact's conversations.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct ConversationFilterQuery {
        #[param(nullable = false)]
        pub status: Option<ConversationStatus>,
        #[param(nullable = false)]
        pub channel: Option<Channel>,
    }

    /// Filters of `GET /v2/contact` and `GET /v2/contact/count` (with the metadata
    /// filters, at most 20 in all). Unknown or repeated parameters and values that do not
    /// parse are `invalid_input` naming the parameter.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct ContactFilterQuery {
        #[param(nullable = false)]
        pub status: Option<SettableContactStatus>,
        #[param(nullable = false)]
        pub preferred_channel: Option<Channel>,
        /// Case- and accent-insensitive search: every word of `q` starts a word of the
        /// names (`ada lov` and `lovelace ada` find Ada Lovelace, `jose` finds José), or `q`
        /// starts the email or the phone (digits without `+` too: `1415` finds
        /// `+14155550123`).
        #[param(nullable = false, min_length = 1, max_length = 100)]
        pub q: Option<String>,
        /// Only contacts created after this instant (exclusive).
        #[param(nullable = false, value_type = Option<String>, format = DateTime)]
        pub created_after: Option<String>,
        /// Only contacts created before this instant (exclusive).
        #[param(nullable = false, value_type = Option<String>, format = DateTime)]
        pub created_before: Option<String>,
        /// Only contacts updated after this instant (exclusive).
        #[param(nullable = false, value_type = Option<String>, format = DateTime)]
        pub updated_after: Option<String>,
    }

    /// Order and paging of a contact list.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct ContactPagingQuery {
        #[param(nullable = false)]
        pub sort: Option<ContactSort>,
        /// Items per page, 1–100.
        #[param(nullable = false, minimum = 1, maximum = 100, default = 20)]
        pub limit: Option<u32>,
        /// Items to skip (offset paging; 0 when neither this nor `cursor` is sent); not
        /// with `cursor`. No `default` is declared, on purpose: generated clients send a
        /// declared default on every call, and `offset` with `cursor` is `invalid_input`.
        #[param(nullable = false, minimum = 0)]
        pub offset: Option<u64>,
        /// The `next_cursor` of the previous page (keyset paging); only with the same
        /// filters and sort, and not with `offset`.
        #[param(nullable = false)]
        pub cursor: Option<String>,
        /// `true`: count all matches on a cursor page too. `false`: leave the count out of
        /// a first page (no `offset`, no `cursor`). Pages asked for by `offset` always
        /// carry it.
        #[param(nullable = false)]
        pub include_total: Option<bool>,
    }

    /// The schema of the [`super::MetadataFilters`] parameter: members are filter keys
    /// (`plan`, `score[gte]`), values are strings.
    pub fn metadata_filters() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(String::schema()))
            .examples([serde_json::json!({
                "plan": "premium",
                "tags": "vip",
                "mrr[gte]": "100"
            })])
            .into()
    }

    // The limits quoted in the descriptions of `contactd-wire` are the domain's.
    const _: () = assert!(MAX_ITEMS == 1000);
    const _: () = assert!(MAX_METADATA_BYTES == 16 * 1024 && MAX_METADATA_DEPTH == 10);
    const _: () = assert!(NewMessage::MAX_TEXT_CHARS == 65_536);
    const _: () = assert!(Page::DEFAULT_LIMIT == 20 && Page::MAX_LIMIT == 100);
}
