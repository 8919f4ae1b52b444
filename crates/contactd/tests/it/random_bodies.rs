//! JSON bodies of random shape, sent to every endpoint that takes a body, never make the
//! server answer 5xx: a body is accepted or refused with a 4xx envelope.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value};

use crate::utils::TestServer;

const FIELDS: [&str; 16] = [
    "phone",
    "email",
    "first_name",
    "last_name",
    "preferred_channel",
    "metadata",
    "status",
    "default_country",
    "contact_id",
    "channel",
    "direction",
    "text",
    "mode",
    "contacts",
    "id",
    "x",
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
        Just(Value::from("+14155550100")),
        Just(Value::from("ada@example.com")),
        Just(Value::from("whatsapp")),
        Just(Value::from("outbound")),
        Just(Value::from("GB")),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(FIELDS.to_vec()), inner), 0..6).prop_map(
                |members| Value::Object(
                    members
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect::<Map<String, Value>>()
                )
            ),
        ]
    })
}

fn body() -> impl Strategy<Value = Value> {
    prop::collection::vec((prop::sample::select(FIELDS.to_vec()), json()), 0..7).prop_map(
        |members| {
            Value::Object(
                members
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
            )
        },
    )
}

#[test]
fn random_json_bodies_never_get_a_5xx() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(TestServer::start());
    let (contact, conversation) = runtime.block_on(async {
        let contact = server
            .create_contact(serde_json::json!({"phone": "+14155550199"}))
            .await;
        let id = contact["id"].as_str().unwrap().to_owned();
        let conversation = server.create_conversation(&id, "sms").await;
        (id, conversation["id"].as_str().unwrap().to_owned())
    });
    let targets = [
        ("POST", "/v2/contact".to_owned()),
        ("POST", "/v2/contact/upsert".to_owned()),
        ("POST", "/v2/contact/batch".to_owned()),
        ("PUT", format!("/v2/contact/{contact}")),
        ("POST", "/v2/conversation".to_owned()),
        ("PUT", format!("/v2/conversation/{conversation}")),
        ("POST", format!("/v2/conversation/{conversation}/messages")),
    ];
    let mut runner = TestRunner::new(Config {
        cases: 300,
        ..Config::default()
    });
    runner
        .run(&(0..targets.len(), body()), |(target, body)| {
            let (method, path) = &targets[target];
            let text = body.to_string();
            let resp = runtime.block_on(server.request(
                method,
                path,
                Some(&server.key),
                Some(text.as_bytes()),
                Some("application/json"),
            ));
            prop_assert!(
                resp.status < 500,
                "{method} {path} {text} answered {}: {}",
                resp.status,
                resp.text
            );
            prop_assert!(
                resp.body.get("error").is_some() || resp.status < 300,
                "{}",
                resp.text
            );
            Ok(())
        })
        .unwrap();
}
