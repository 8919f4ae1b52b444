//! The OpenAPI document: `GET /v2/openapi.json` needs no key, is the committed
//! `docs/openapi.json`, is a well-formed OpenAPI 3.1 document, and describes every route,
//! parameter, body and error of the contract. (`.ci/run` also checks the committed copy
//! with `openapi-spec-validator`.)

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;

use serde_json::Value;

use crate::utils::{TestServer, CONTACT_FIELDS};

const REGENERATE: &str = "CONTACTD_WRITE_OPENAPI=1 cargo test -p contactd --test it openapi";

/// Every operation of docs/api.md, as (method, path, operationId).
const OPERATIONS: [(&str, &str, &str); 40] = [
    ("get", "/v2/contact", "listContacts"),
    ("get", "/v2/contact/count", "countContacts"),
    ("post", "/v2/segment", "createSegment"),
    ("get", "/v2/segment", "listSegments"),
    ("get", "/v2/segment/{segment_id}", "getSegment"),
    ("put", "/v2/segment/{segment_id}", "updateSegment"),
    ("delete", "/v2/segment/{segment_id}", "deleteSegment"),
    (
        "get",
        "/v2/segment/{segment_id}/contacts",
        "listSegmentContacts",
    ),
    ("get", "/v2/events", "listEvents"),
    ("post", "/v2/webhook", "createWebhook"),
    ("get", "/v2/webhook", "listWebhooks"),
    ("get", "/v2/webhook/{webhook_id}", "getWebhook"),
    ("put", "/v2/webhook/{webhook_id}", "updateWebhook"),
    ("delete", "/v2/webhook/{webhook_id}", "deleteWebhook"),
    (
        "post",
        "/v2/webhook/{webhook_id}/rotate-secret",
        "rotateWebhookSecret",
    ),
    (
        "get",
        "/v2/webhook/{webhook_id}/deliveries",
        "listWebhookDeliveries",
    ),
    (
        "post",
        "/v2/webhook/{webhook_id}/deliveries/{delivery_id}/retry",
        "retryWebhookDelivery",
    ),
    ("post", "/v2/contact", "createContact"),
    ("get", "/v2/contact/{ref}", "getContact"),
    ("put", "/v2/contact/{ref}", "updateContact"),
    ("delete", "/v2/contact/{ref}", "deleteContact"),
    ("post", "/v2/contact/upsert", "upsertContact"),
    ("post", "/v2/contact/batch", "batchContacts"),
    ("post", "/v2/contact/{ref}/identities", "addContactIdentity"),
    (
        "delete",
        "/v2/contact/{ref}/identities/{identity}",
        "removeContactIdentity",
    ),
    ("post", "/v2/contact/{ref}/merge", "mergeContacts"),
    ("get", "/v2/contact/{ref}/merges", "listContactMerges"),
    ("post", "/v2/merge/{merge_id}/undo", "undoMerge"),
    (
        "get",
        "/v2/contact/{ref}/duplicates",
        "listContactDuplicates",
    ),
    ("get", "/v2/duplicates", "listDuplicates"),
    (
        "get",
        "/v2/contact/{ref}/conversations",
        "listContactConversations",
    ),
    ("post", "/v2/conversation", "createConversation"),
    (
        "get",
        "/v2/conversation/{conversation_id}",
        "getConversation",
    ),
    (
        "put",
        "/v2/conversation/{conversation_id}",
        "updateConversation",
    ),
    (
        "get",
        "/v2/conversation/{conversation_id}/messages",
        "listMessages",
    ),
    (
        "post",
        "/v2/conversation/{conversation_id}/messages",
        "createMessage",
    ),
    ("get", "/healthz", "checkHealth"),
    ("get", "/readyz", "checkReadiness"),
    ("get", "/metrics", "getMetrics"),
    ("get", "/v2/openapi.json", "getOpenApi"),
];

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
}

/// The document as the server serves it, fetched without an API key.
async fn served_document() -> Value {
    let server = TestServer::start().await;
    let resp = server
        .request("GET", "/v2/openapi.json", None, None, None)
        .await;
    let content_type = resp.header("content-type").unwrap_or("");
    assert!(
        content_type.starts_with("application/json"),
        "the document is JSON, got {content_type:?}"
    );
    resp.expect(200)
}

#[tokio::test]
async fn the_served_document_is_the_committed_one() {
    let served = served_document().await;
    let path = committed_path();
    if std::env::var_os("CONTACTD_WRITE_OPENAPI").is_some() {
        let text = serde_json::to_string_pretty(&served).unwrap() + "\n";
        std::fs::write(&path, text).unwrap();
        eprintln!("wrote {}", path.display());
        return;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "reading {}: {e}; write it with `{REGENERATE}`",
            path.display()
        )
    });
    let committed: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "{} is not JSON: {e}; rewrite it with `{REGENERATE}`",
            path.display()
        )
    });
    if let Some(difference) = first_difference(&committed, &served, String::new()) {
        panic!(
            "docs/openapi.json differs from GET /v2/openapi.json at {difference}.\n\
             The API changed: regenerate the committed copy with `{REGENERATE}` and \
             review the diff."
        );
    }
}

/// Where `a` and `b` first differ, as `["paths"]["/v2/contact"]["get"]`.
fn first_difference(a: &Value, b: &Value, at: String) -> Option<String> {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            keys.into_iter()
                .find_map(|key| match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => first_difference(x, y, format!("{at}[{key:?}]")),
                    (Some(_), None) => Some(format!("{at}[{key:?}] (only in the committed copy)")),
                    _ => Some(format!("{at}[{key:?}] (only in the served document)")),
                })
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| first_difference(x, y, format!("{at}[{i}]"))),
        _ if a == b => None,
        _ => Some(if at.is_empty() {
            "the top".to_owned()
        } else {
            at
        }),
    }
}

/// Resolves a local reference (`#/components/schemas/Contact`).
fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

fn collect_refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// The operations of the document: (method, path, operation).
fn operations(doc: &Value) -> Vec<(&str, &str, &Value)> {
    let paths = doc["paths"].as_object().expect("`paths` is an object");
    paths
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter_map(move |m| item.get(*m).map(|op| (*m, path.as_str(), op)))
        })
        .collect()
}

/// A parameter, its `$ref` followed.
fn parameter<'a>(doc: &'a Value, p: &'a Value) -> &'a Value {
    match p["$ref"].as_str() {
        Some(r) => resolve(doc, r).expect("a parameter reference resolves"),
        None => p,
    }
}

#[tokio::test]
async fn the_document_is_well_formed_openapi_3_1() {
    let doc = served_document().await;
    let version = doc["openapi"].as_str().unwrap_or("");
    assert!(version.starts_with("3.1."), "openapi is 3.1.x: {version}");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());

    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        assert!(resolve(&doc, r).is_some(), "$ref {r} resolves");
    }

    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("securitySchemes");
    let mut operation_ids = HashSet::new();
    let ops = operations(&doc);
    assert!(!ops.is_empty());
    for (method, path, op) in ops {
        let name = format!("{} {path}", method.to_uppercase());
        let id = op["operationId"].as_str().unwrap_or("");
        assert!(!id.is_empty(), "{name} has an operationId");
        assert!(operation_ids.insert(id), "operationId {id} is unique");
        assert!(op["summary"].is_string(), "{name} has a summary");

        let responses = op["responses"].as_object().expect("responses");
        assert!(!responses.is_empty(), "{name} has responses");
        for (status, response) in responses {
            let response = match response["$ref"].as_str() {
                Some(r) => resolve(&doc, r).unwrap(),
                None => response,
            };
            assert!(
                response["description"].is_string(),
                "{name} {status} has a description"
            );
            assert!(
                response["headers"].get("X-Request-Id").is_some(),
                "{name} {status} declares X-Request-Id"
            );
        }

        let parameters: Vec<&Value> = op["parameters"]
            .as_array()
            .map(|ps| ps.iter().map(|p| parameter(&doc, p)).collect())
            .unwrap_or_default();
        let mut seen = HashSet::new();
        for p in &parameters {
            let (param, location) = (p["name"].as_str().unwrap(), p["in"].as_str().unwrap());
            assert!(
                ["query", "header", "path", "cookie"].contains(&location),
                "{name}: parameter {param} in {location}"
            );
            assert!(
                seen.insert((param, location)),
                "{name}: {param} appears once"
            );
            assert!(
                p.get("schema").is_some() || p.get("content").is_some(),
                "{name}: {param} has a schema"
            );
            if location == "path" {
                assert_eq!(p["required"], true, "{name}: path parameter {param}");
            }
        }
        for segment in path.split('/') {
            if let Some(param) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                assert!(
                    parameters
                        .iter()
                        .any(|p| p["name"] == param && p["in"] == "path"),
                    "{name} declares its path parameter {param}"
                );
            }
        }

        let security = op.get("security").unwrap_or(&doc["security"]);
        for requirement in security.as_array().expect("security is an array") {
            for scheme in requirement.as_object().unwrap().keys() {
                assert!(schemes.contains_key(scheme), "{name}: scheme {scheme}");
            }
        }
    }
}

#[tokio::test]
async fn the_document_describes_the_whole_api() {
    let doc = served_document().await;
    let described: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(m, p, _)| (m.to_owned(), p.to_owned()))
        .collect();
    let expected: BTreeSet<(String, String)> = OPERATIONS
        .iter()
        .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(
        described, expected,
        "the document has exactly the API's routes"
    );
    for (method, path, id) in OPERATIONS {
        assert_eq!(doc["paths"][path][method]["operationId"], id);
    }

    let api_key = &doc["components"]["securitySchemes"]["apiKey"];
    assert_eq!(api_key["type"], "apiKey");
    assert_eq!(api_key["in"], "header");
    assert_eq!(api_key["name"], "X-API-Key");
    assert_eq!(doc["security"][0]["apiKey"], serde_json::json!([]));
    for public in ["/healthz", "/readyz", "/metrics", "/v2/openapi.json"] {
        assert_eq!(
            doc["paths"][public]["get"]["security"],
            serde_json::json!([{}]),
            "{public} needs no key"
        );
    }

    let schemas = &doc["components"]["schemas"];
    let mut required: Vec<&str> = schemas["Contact"]["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    required.sort_unstable();
    let mut fields = CONTACT_FIELDS.to_vec();
    fields.sort_unstable();
    assert_eq!(required, fields, "every contact field is always present");
    assert_eq!(
        schemas["Contact"]["properties"]["phone"]["pattern"],
        r"^\+[1-9][0-9]{1,14}$"
    );
    assert_eq!(
        schemas["Contact"]["properties"]["id"]["pattern"],
        "^cnt_[0-9a-z]+$"
    );
    assert_eq!(
        schemas["Conversation"]["properties"]["id"]["pattern"],
        "^conv_[0-9a-z]+$"
    );
    assert_eq!(
        schemas["Message"]["properties"]["id"]["pattern"],
        "^msg_[0-9a-z]+$"
    );
    let enum_of = |name: &str| -> Vec<String> {
        schemas[name]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} is an enum"))
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        enum_of("Channel"),
        ["whatsapp", "instagram", "sms", "email"]
    );
    assert_eq!(enum_of("ContactStatus"), ["active", "inactive", "deleted"]);
    assert_eq!(
        enum_of("ConversationStatus"),
        ["open", "closed", "archived"]
    );
    assert_eq!(enum_of("Direction"), ["inbound", "outbound"]);
    assert_eq!(enum_of("ContactSort").len(), 8);
    let codes = enum_of("ErrorCode");
    for code in [
        "invalid_input",
        "unauthorized",
        "not_found",
        "method_not_allowed",
        "duplicate_contact",
        "idempotency_conflict",
        "precondition_failed",
        "payload_too_large",
        "rate_limited",
        "unavailable",
        "internal_error",
    ] {
        assert!(codes.iter().any(|c| c == code), "ErrorCode has {code}");
    }
    let envelope: BTreeSet<&str> = schemas["Error"]["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        envelope,
        BTreeSet::from(["error", "message", "code", "details"])
    );

    for (method, path, op) in operations(&doc) {
        for (status, response) in op["responses"].as_object().unwrap() {
            let is_error = status.starts_with('4') || status.starts_with('5');
            if !is_error {
                continue;
            }
            let response = match response["$ref"].as_str() {
                Some(r) => resolve(&doc, r).unwrap(),
                None => response,
            };
            assert_eq!(
                response["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/Error",
                "{method} {path} {status} answers with the error envelope"
            );
        }
        if method == "post" && path.starts_with("/v2/") {
            let has_key = op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == "Idempotency-Key"));
            assert!(has_key, "POST {path} accepts Idempotency-Key");
        }
        if path.starts_with("/v2/contact") || path.starts_with("/v2/conversation") {
            for status in ["401", "429", "500", "503"] {
                assert!(
                    op["responses"].get(status).is_some(),
                    "{method} {path} documents {status}"
                );
            }
        }
    }

    let contact = &doc["paths"]["/v2/contact/{ref}"];
    for method in ["put", "delete"] {
        let params = contact[method]["parameters"].as_array().unwrap();
        assert!(params.iter().any(|p| p["name"] == "If-Match"));
        assert!(contact[method]["responses"].get("412").is_some());
    }
    assert!(contact["get"]["responses"]["200"]["headers"]
        .get("ETag")
        .is_some());
    let upsert = &doc["paths"]["/v2/contact/upsert"]["post"]["responses"];
    for status in ["200", "201"] {
        assert!(upsert[status]["headers"].get("X-Upsert-Result").is_some());
    }
    let list_params: Vec<&str> = doc["paths"]["/v2/contact"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in [
        "status",
        "preferred_channel",
        "q",
        "created_after",
        "created_before",
        "updated_after",
        "sort",
        "limit",
        "offset",
        "cursor",
        "metadata",
    ] {
        assert!(
            list_params.contains(&name),
            "GET /v2/contact documents {name}"
        );
    }
    for (path, body) in [
        ("/v2/contact", "ContactCreate"),
        ("/v2/contact/upsert", "ContactCreate"),
        ("/v2/contact/batch", "BatchRequest"),
        ("/v2/conversation", "ConversationCreate"),
        (
            "/v2/conversation/{conversation_id}/messages",
            "MessageCreate",
        ),
    ] {
        assert_eq!(
            doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
                ["$ref"],
            format!("#/components/schemas/{body}"),
            "POST {path} body"
        );
    }
}

/// What generated clients (openapi-python-client, openapi-typescript with openapi-fetch,
/// redocly lint) stumbled on; `.ci/clients` runs the generators themselves.
#[tokio::test]
async fn the_document_suits_generated_clients() {
    let doc = served_document().await;
    assert!(
        doc["servers"][0]["url"].is_string(),
        "a servers entry (redocly's no-empty-servers)"
    );

    let list = &doc["paths"]["/v2/contact"]["get"];
    let params = list["parameters"].as_array().unwrap();
    let param = |name: &str| {
        params
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("listContacts has {name}"))
    };
    assert!(
        param("offset")["schema"].get("default").is_none(),
        "offset declares no default: clients would send it with every cursor"
    );
    assert_eq!(param("metadata")["style"], "deepObject");
    assert_eq!(param("metadata")["explode"], true);
    assert_eq!(
        param("metadata")["schema"]["additionalProperties"]["type"],
        "string"
    );

    let schemas = &doc["components"]["schemas"];
    for (schema, nullable) in [
        ("Contact", false),
        ("ContactCreate", true),
        ("ContactUpdate", true),
    ] {
        let metadata = &schemas[schema]["properties"]["metadata"];
        assert_eq!(
            metadata["additionalProperties"], true,
            "{schema}.metadata takes any member: {metadata}"
        );
        let null = metadata["type"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t == "null"));
        assert_eq!(null, nullable, "{schema}.metadata: {metadata}");
    }
    for (list, item) in [
        ("ConversationList", "Conversation"),
        ("MessageList", "Message"),
        ("SegmentList", "Segment"),
    ] {
        assert_eq!(
            schemas[list]["properties"]["data"]["items"]["$ref"],
            format!("#/components/schemas/{item}"),
            "{list} refers to {item} instead of copying it"
        );
    }
    let names: Vec<&str> = schemas["ContactSort"]["x-enum-varnames"]
        .as_array()
        .expect("ContactSort names its values")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 8);
    assert!(names.contains(&"CREATED_AT_DESC"), "{names:?}");
    assert_eq!(names.iter().collect::<BTreeSet<_>>().len(), 8);

    let not_allowed = &doc["components"]["responses"]["MethodNotAllowed"];
    assert!(
        not_allowed["headers"].get("Allow").is_some(),
        "{not_allowed}"
    );
    assert_eq!(
        not_allowed["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Error"
    );

    for (method, path, op) in operations(&doc) {
        for name in op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "path")
            .map(|p| p["name"].as_str().unwrap())
        {
            assert_ne!(
                name, "id",
                "{method} {path}: path parameters say what they name"
            );
        }
        if method != "post" || !path.starts_with("/v2/") {
            continue;
        }
        for (status, response) in op["responses"].as_object().unwrap() {
            // An idempotency_conflict is never a replay: it answers a second request.
            let conflict = response["$ref"] == "#/components/responses/IdempotencyConflict";
            if !["400", "404", "409"].contains(&status.as_str()) || conflict {
                continue;
            }
            let response = match response["$ref"].as_str() {
                Some(r) => resolve(&doc, r).unwrap(),
                None => response,
            };
            assert!(
                response["headers"].get("Idempotent-Replayed").is_some(),
                "POST {path} {status} can be a replay"
            );
        }
    }

    // Every example of an error says what its details say.
    for (name, response) in doc["components"]["responses"].as_object().unwrap() {
        let examples = response["content"]["application/json"]["examples"].as_object();
        for example in examples.into_iter().flat_map(|e| e.values()) {
            let body = &example["value"];
            if body["error"] == "duplicate_contact" {
                let field = body["details"]["field"].as_str().unwrap();
                assert!(
                    body["message"].as_str().unwrap().contains(field),
                    "{name}: the message names {field}: {body}"
                );
            }
        }
    }
}
