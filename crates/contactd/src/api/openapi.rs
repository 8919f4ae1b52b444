//! The OpenAPI 3.1 document of the API and its interactive reference page.
//!
//! The document is generated from the `#[utoipa::path]` annotations on the handlers and
//! the schemas derived on the types they answer with, served at `GET /v2/openapi.json`
//! and committed as `docs/openapi.json` (a test keeps the two equal). `GET /docs` is
//! Swagger UI, whose assets are compiled into the binary: the page makes no request to
//! any other host, and its Content-Security-Policy forbids it to.
//!
//! Bodies and answers are the types of `contactd-wire`, the one definition of the API's
//! JSON; query strings and headers are read by hand (to name the offending parameter), so
//! the declarations in `doc_types` that describe them exist for the document only.

use std::sync::LazyLock;

use axum::body::Bytes;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::ArrayItems;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{OpenApi as OpenApiSpec, Ref, RefOr, Schema};
use utoipa::{Modify, OpenApi, PartialSchema};
use utoipa_swagger_ui::{Config, SwaggerUi};

use super::doc_types::*;
use super::AppState;

/// Where the document is served; the reference page loads it from there.
pub const SPEC_PATH: &str = "/v2/openapi.json";
/// Where the reference page is served.
pub const DOCS_PATH: &str = "/docs";

const API_DESCRIPTION: &str = r#"contactd keeps the people a business talks to over WhatsApp, Instagram, SMS and email, with their conversations and messages.

**Authentication.** Every `/v2` request sends an API key in the `X-API-Key` header (`sk_live_…` or `sk_test_…`). A key sees one workspace in one mode; another tenant's contact is answered exactly like one that does not exist (`404`). `contactd serve` prints a first key on its first start; `contactd keys create --workspace NAME` makes more.

**Bodies.** JSON in, JSON out. A body is read as JSON whatever its `Content-Type` says. Unknown and read-only fields are rejected with `invalid_input` naming the field. Bodies are limited to 1 MiB by default.

**Errors.** Every error answers with the envelope `{"error", "message", "code", "details"}` (schema `Error`), including unknown routes (`404 not_found`) and wrong methods (`405 method_not_allowed`, with `Allow`).

**Contact references.** `{ref}` is a contact id (`cnt_…`), a phone in E.164 form (`%2B14155550123`, or a literal `+`) or an email (any case).

**Safe retries.** Every `POST` accepts `Idempotency-Key`; a retry with the same key and request replays the first answer (`Idempotent-Replayed: true`) for 24 hours. Responses carrying a contact have an `ETag`; `PUT` and `DELETE` of a contact accept `If-Match`.

**Tracing.** Every response carries `X-Request-Id`: the client's, echoed, or a new one."#;

#[derive(OpenApi)]
#[openapi(
    info(title = "contactd", description = API_DESCRIPTION),
    servers((url = "http://127.0.0.1:8080", description = "`contactd serve` on its default address; a client sets its own base URL")),
    paths(
        super::contact::list,
        super::contact::count,
        super::contact::create,
        super::contact::get,
        super::contact::update,
        super::contact::delete,
        super::contact::upsert,
        super::contact::batch,
        super::contact::add_identity,
        super::contact::remove_identity,
        super::merge::merge,
        super::merge::undo,
        super::merge::list,
        super::duplicates::of_contact,
        super::duplicates::list,
        super::conversation::list_for_contact,
        super::conversation::create,
        super::conversation::get,
        super::conversation::update,
        super::conversation::list_messages,
        super::conversation::create_message,
        super::segment::create,
        super::segment::list,
        super::segment::get,
        super::segment::update,
        super::segment::delete,
        super::segment::contacts,
        super::events::list,
        super::webhook::create,
        super::webhook::list,
        super::webhook::get,
        super::webhook::update,
        super::webhook::delete,
        super::webhook::rotate_secret,
        super::webhook::deliveries,
        super::webhook::retry,
        super::health::healthz,
        super::health::readyz,
        super::metrics::metrics,
        spec,
    ),
    components(
        schemas(contactd_wire::ErrorBody, contactd_wire::ErrorCode, contactd_wire::ErrorDetails, ContactRef, ContactSort, UpsertResult),
        responses(
            InvalidInput,
            Unauthorized,
            NotFound,
            MethodNotAllowed,
            Conflict,
            DuplicateContact,
            IdempotencyConflict,
            MergeConflict,
            PreconditionFailed,
            RequestTimeout,
            PayloadTooLarge,
            RateLimited,
            InternalError,
            Unavailable,
        ),
    ),
    modifiers(&ApiKeyScheme, &ResponseHeaders, &ListNames),
    security(("apiKey" = [])),
    tags(
        (name = "contacts", description = "People a business talks to, found by id, phone or email"),
        (name = "conversations", description = "A contact's conversations on one channel, and their messages"),
        (name = "segments", description = "Saved contact filters with live, exact counts"),
        (name = "events", description = "The change feed: every change in commit order, resumable by cursor"),
        (name = "webhooks", description = "Endpoints that receive the events, signed by the Standard Webhooks specification"),
        (name = "service", description = "Health, readiness, metrics and this document; no API key needed"),
    ),
)]
struct ApiDoc;

/// The document, built once.
pub fn document() -> &'static OpenApiSpec {
    static DOCUMENT: LazyLock<OpenApiSpec> = LazyLock::new(ApiDoc::openapi);
    &DOCUMENT
}

/// The OpenAPI document
///
/// This document: OpenAPI 3.1, generated from the server's code. `docs/openapi.json` in the
/// repository is a copy of it.
#[utoipa::path(
    get,
    path = "/v2/openapi.json",
    operation_id = "getOpenApi",
    tag = "service",
    security(()),
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of this API", content_type = "application/json", body = Object),
    ),
)]
pub async fn spec() -> Response {
    static JSON: LazyLock<Result<Bytes, String>> = LazyLock::new(|| {
        serde_json::to_vec(document())
            .map(Bytes::from)
            .map_err(|e| e.to_string())
    });
    match &*JSON {
        Ok(bytes) => ([(header::CONTENT_TYPE, "application/json")], bytes.clone()).into_response(),
        Err(e) => crate::error::ApiError::Internal(anyhow::anyhow!(
            "serializing the OpenAPI document: {e}"
        ))
        .into_response(),
    }
}

/// Swagger UI at `/docs`, reading the document from [`SPEC_PATH`].
pub fn docs_page() -> Router<AppState> {
    let config = Config::new([SPEC_PATH])
        .use_base_layout()
        .validator_url("none")
        .default_models_expand_depth(1)
        .try_it_out_enabled(false)
        .persist_authorization(false);
    let page: Router<AppState> = SwaggerUi::new(DOCS_PATH).config(config).into();
    page.layer(SetResponseHeaderLayer::overriding(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
             script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
             form-action 'none'",
        ),
    ))
}

/// Declares the `X-API-Key` header as the `apiKey` security scheme.
struct ApiKeyScheme;

impl Modify for ApiKeyScheme {
    fn modify(&self, openapi: &mut OpenApiSpec) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "An API key, `sk_live_…` or `sk_test_…`; it selects the workspace and the mode",
            ))),
        );
    }
}

/// Headers the middleware adds: `X-Request-Id` to every response, the rate-limit headers
/// to the answers of authenticated operations, `Idempotent-Replayed` to those of `POST`s.
struct ResponseHeaders;

impl Modify for ResponseHeaders {
    fn modify(&self, openapi: &mut OpenApiSpec) {
        let header = |schema: RefOr<Schema>, description: &str| {
            HeaderBuilder::new()
                .schema(schema)
                .description(Some(description))
                .build()
        };
        let request_id = header(
            String::schema(),
            "The request's id: the client's `X-Request-Id`, echoed, or a new one",
        );
        let rate_limit = [
            ("X-RateLimit-Limit", "Requests the key may make in a burst"),
            ("X-RateLimit-Remaining", "Requests left in the key's bucket"),
            (
                "X-RateLimit-Reset",
                "Seconds until the bucket is full again",
            ),
        ]
        .map(|(name, description)| {
            let description = format!("{description} (when the per-key rate limit is on)");
            (name, header(u64::schema(), &description))
        });
        let replayed = header(
            bool::schema(),
            "`true` when this is the kept answer of an earlier request with the same \
             `Idempotency-Key`, replayed without running the operation again",
        );
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                (false, &mut item.get),
                (false, &mut item.put),
                (true, &mut item.post),
                (false, &mut item.delete),
            ];
            for (is_post, operation) in operations {
                let Some(operation) = operation else {
                    continue;
                };
                let public = operation
                    .security
                    .as_ref()
                    .is_some_and(|s| s.iter().all(|r| r == &Default::default()));
                for response in operation.responses.responses.values_mut() {
                    let RefOr::T(response) = response else {
                        continue;
                    };
                    let headers = &mut response.headers;
                    headers.insert("X-Request-Id".into(), request_id.clone());
                    if !public {
                        for (name, header) in &rate_limit {
                            headers.insert((*name).into(), header.clone());
                        }
                    }
                    if is_post && !public {
                        headers.insert("Idempotent-Replayed".into(), replayed.clone());
                    }
                }
            }
        }
        // The error answers a POST can replay: the reusable responses are shared with the
        // other methods, so the header says it is a POST's.
        let replayed_error = header(
            bool::schema(),
            "On the answer to a `POST`: `true` when this is the kept answer of an earlier \
             request with the same `Idempotency-Key`, replayed without running the operation \
             again",
        );
        let replayable = [
            "InvalidInput",
            "NotFound",
            "Conflict",
            "DuplicateContact",
            "MergeConflict",
        ];
        let components = openapi.components.iter_mut();
        for (name, response) in components.flat_map(|c| c.responses.iter_mut()) {
            if let RefOr::T(response) = response {
                response
                    .headers
                    .insert("X-Request-Id".into(), request_id.clone());
                if replayable.contains(&name.as_str()) {
                    response
                        .headers
                        .insert("Idempotent-Replayed".into(), replayed_error.clone());
                }
            }
        }
    }
}

/// Names the generic list schemas after what they list: `ConversationList` rather than
/// `OffsetList_Conversation`.
struct ListNames;

impl Modify for ListNames {
    fn modify(&self, openapi: &mut OpenApiSpec) {
        let renames = [
            ("List_Contact", "ContactList"),
            ("OffsetList_Conversation", "ConversationList"),
            ("OffsetList_Message", "MessageList"),
            ("OffsetList_Segment", "SegmentList"),
        ];
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        for (old, new) in renames {
            if let Some(mut schema) = components.schemas.remove(old) {
                refer_to_items(&mut schema, &new[..new.len() - "List".len()]);
                components.schemas.insert(new.into(), schema);
            }
        }
        let old_refs = renames.map(|(old, new)| {
            (
                Ref::from_schema_name(old).ref_location,
                Ref::from_schema_name(new),
            )
        });
        let operations = openapi.paths.paths.values_mut().flat_map(|item| {
            [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
            ]
        });
        for operation in operations.flatten() {
            for response in operation.responses.responses.values_mut() {
                let RefOr::T(response) = response else {
                    continue;
                };
                for content in response.content.values_mut() {
                    if let Some(RefOr::Ref(current)) = &content.schema {
                        let renamed = old_refs
                            .iter()
                            .find(|(old, _)| *old == current.ref_location);
                        if let Some((_, new)) = renamed {
                            content.schema = Some(RefOr::Ref(new.clone()));
                        }
                    }
                }
            }
        }
    }
}

/// Makes `data` of a list schema an array of `$ref`s to `item`: utoipa copies a generic
/// list's item schema inline, which openapi-python-client turns into a second, incompatible
/// class per list.
fn refer_to_items(list: &mut RefOr<Schema>, item: &str) {
    let RefOr::T(Schema::Object(list)) = list else {
        return;
    };
    if let Some(RefOr::T(Schema::Array(data))) = list.properties.get_mut("data") {
        data.items = ArrayItems::RefOrSchema(Box::new(RefOr::Ref(Ref::from_schema_name(item))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FieldError;
    use crate::error::ApiError;

    fn enum_values<T: PartialSchema>() -> Vec<String> {
        let schema = serde_json::to_value(T::schema()).unwrap_or_default();
        schema["enum"]
            .as_array()
            .map(|values| {
                values
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The error code and status each error variant answers with. The match has no
    /// wildcard: a new variant does not compile until it is documented here and in
    /// `ErrorCode` and has a reusable response.
    fn documented(error: &ApiError) -> (&'static str, u16) {
        match error {
            ApiError::InvalidInput(_) | ApiError::InvalidBody(_) => ("invalid_input", 400),
            ApiError::Unauthorized(_) => ("unauthorized", 401),
            ApiError::NotFound(_) => ("not_found", 404),
            ApiError::MethodNotAllowed => ("method_not_allowed", 405),
            ApiError::Duplicate { .. } | ApiError::IdentifierConflict { .. } => {
                ("duplicate_contact", 409)
            }
            ApiError::IdempotencyConflict(_) => ("idempotency_conflict", 409),
            ApiError::MergeConflict(_) => ("merge_conflict", 409),
            ApiError::PreconditionFailed { .. } => ("precondition_failed", 412),
            ApiError::RequestTimeout => ("request_timeout", 408),
            ApiError::PayloadTooLarge { .. } => ("payload_too_large", 413),
            ApiError::RateLimited { .. } => ("rate_limited", 429),
            ApiError::Unavailable(_) => ("unavailable", 503),
            ApiError::Internal(_) => ("internal_error", 500),
        }
    }

    #[test]
    fn every_error_is_documented() {
        let errors = [
            ApiError::InvalidInput(FieldError::new("phone", "bad")),
            ApiError::InvalidBody("bad".into()),
            ApiError::Unauthorized("no"),
            ApiError::NotFound("no".into()),
            ApiError::MethodNotAllowed,
            ApiError::MergeConflict("undone".into()),
            ApiError::Duplicate {
                message: "taken".into(),
                field: "phone",
                existing_contact_id: "cnt_1".into(),
            },
            ApiError::IdentifierConflict {
                phone_contact_id: "cnt_1".into(),
                email_contact_id: "cnt_2".into(),
            },
            ApiError::IdempotencyConflict("used"),
            ApiError::PreconditionFailed {
                current_etag: "\"x\"".into(),
            },
            ApiError::RequestTimeout,
            ApiError::PayloadTooLarge { limit: 1 },
            ApiError::RateLimited {
                retry_after_secs: 1,
            },
            ApiError::Unavailable("down".into()),
            ApiError::Internal(anyhow::anyhow!("bug")),
        ];
        let codes = enum_values::<contactd_wire::ErrorCode>();
        let doc = serde_json::to_value(document()).unwrap_or_default();
        let responses: Vec<(String, u16)> = doc["components"]["responses"]
            .as_object()
            .into_iter()
            .flat_map(|responses| responses.values())
            .flat_map(|r| {
                let examples = r["content"]["application/json"]["examples"].as_object();
                examples.into_iter().flat_map(|e| e.values()).map(|e| {
                    let body = &e["value"];
                    let code = body["error"].as_str().unwrap_or_default().to_owned();
                    (code, body["code"].as_u64().unwrap_or_default() as u16)
                })
            })
            .collect();
        for error in &errors {
            let (code, status) = documented(error);
            let body = error.body();
            assert_eq!(body["error"], code, "{error:?}");
            assert_eq!(body["code"], status, "{error:?}");
            assert!(codes.iter().any(|c| c == code), "{code} is in ErrorCode");
            assert!(
                responses.contains(&(code.to_owned(), status)),
                "{code} has a reusable response"
            );
        }
    }

    #[test]
    fn the_document_is_openapi_3_1() {
        let doc = serde_json::to_value(document()).unwrap_or_default();
        assert_eq!(doc["openapi"], "3.1.0");
        assert!(doc["paths"]["/v2/contact/{ref}"]["get"].is_object());
    }
}
