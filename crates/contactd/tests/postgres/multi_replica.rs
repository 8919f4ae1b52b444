//! As an operator running several stateless contactd replicas on one PostgreSQL database,
//! I get the same answers whichever replica a request lands on: uniqueness and metadata
//! merges hold across replicas, and a write through one is read through the other at once.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Map, Value};

use crate::support::{assert_error, create_key, enc, Api, ScratchDb, Server};

/// Small pools (the suite runs tests in parallel on one PostgreSQL) and a generous wait
/// for a pooled connection, so slowness of the machine is not mistaken for a result.
const POOL: &[&str] = &["--pool-size", "8", "--db-acquire-timeout-ms", "5000"];

/// Two replicas on one fresh database, and a live key of workspace `acme`.
struct Pair {
    // Field order is drop order: the servers stop before their database is dropped.
    a: Server,
    b: Server,
    key: String,
    _db: ScratchDb,
}

impl Pair {
    async fn start() -> Pair {
        let db = ScratchDb::create().await;
        // Migrates the database and creates the key before either replica starts.
        let key = create_key(&db.url(), "acme").await;
        let a = Server::start("A", &db.url(), POOL).await;
        let b = Server::start("B", &db.url(), POOL).await;
        Pair { a, b, key, _db: db }
    }

    fn apis(&self) -> (Api, Api) {
        (self.a.api(&self.key), self.b.api(&self.key))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_of_one_phone_across_replicas_give_exactly_one_201() {
    let pair = Pair::start().await;
    let (a, b) = pair.apis();
    let body = json!({"phone": "+15550001111"});

    let requests = (0..32).map(|i| {
        let api = if i % 2 == 0 { a.clone() } else { b.clone() };
        let body = body.clone();
        async move { (i, api.post("/v2/contact", &body).await) }
    });
    let replies = join_all(requests).await;

    let created: Vec<_> = replies
        .iter()
        .filter(|(_, r)| r.status == StatusCode::CREATED)
        .collect();
    let statuses: BTreeMap<u16, usize> = replies.iter().fold(BTreeMap::new(), |mut m, (_, r)| {
        *m.entry(r.status.as_u16()).or_default() += 1;
        m
    });
    assert_eq!(
        created.len(),
        1,
        "exactly one of 32 concurrent creates must win; statuses {statuses:?}; replies {:?}",
        replies.iter().map(|(_, r)| &r.text).collect::<Vec<_>>()
    );
    let winner = &created[0].1.body;
    let id = winner["id"].as_str().expect("the 201 has an id").to_owned();
    assert!(id.starts_with("cnt_"), "id {id}");
    assert_eq!(winner["phone"], "+15550001111");

    for (i, reply) in &replies {
        if reply.status == StatusCode::CREATED {
            continue;
        }
        let replica = if i % 2 == 0 { "A" } else { "B" };
        assert_error(
            reply,
            409,
            "duplicate_contact",
            &format!("create #{i} on {replica}"),
        );
        assert_eq!(
            reply.body["details"]["existing_contact_id"], id,
            "create #{i} on {replica}: the 409 must name the winner: {}",
            reply.text
        );
    }
    assert_eq!(
        statuses.get(&409).copied(),
        Some(31),
        "statuses {statuses:?}"
    );

    // Both replicas resolve the phone to that one contact.
    for (name, api) in [("A", &a), ("B", &b)] {
        let got = api
            .get(&format!("/v2/contact/{}", enc("+15550001111")))
            .await;
        assert_eq!(
            got.status,
            StatusCode::OK,
            "GET by phone on {name}: {}",
            got.text
        );
        assert_eq!(got.body, *winner, "GET by phone on {name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_metadata_merges_across_replicas_all_land() {
    let pair = Pair::start().await;
    let (a, b) = pair.apis();
    let created = a
        .post(
            "/v2/contact",
            &json!({"phone": "+15550002222", "metadata": {"base": true}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_str().expect("id").to_owned();
    let path = format!("/v2/contact/{id}");

    let requests = (0..64).map(|i| {
        let api = if i % 2 == 0 { a.clone() } else { b.clone() };
        let path = path.clone();
        async move {
            let body = json!({"metadata": {format!("k{i}"): i}});
            (i, api.put(&path, &body).await)
        }
    });
    let replies = join_all(requests).await;
    for (i, reply) in &replies {
        let replica = if i % 2 == 0 { "A" } else { "B" };
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "PUT #{i} on {replica}: {}",
            reply.text
        );
        assert_eq!(
            reply.body["metadata"][format!("k{i}")],
            json!(i),
            "PUT #{i} on {replica}: its own key is in its answer: {}",
            reply.text
        );
    }

    let mut expected = Map::new();
    expected.insert("base".into(), json!(true));
    for i in 0..64 {
        expected.insert(format!("k{i}"), json!(i));
    }
    let expected = Value::Object(expected);
    for (name, api) in [("A", &a), ("B", &b)] {
        let got = api.get(&path).await;
        assert_eq!(got.status, StatusCode::OK, "GET on {name}: {}", got.text);
        let metadata = &got.body["metadata"];
        let missing: Vec<String> = (0..64)
            .map(|i| format!("k{i}"))
            .filter(|k| metadata.get(k).is_none())
            .collect();
        assert!(
            missing.is_empty(),
            "GET on {name}: lost updates, missing keys {missing:?}"
        );
        assert_eq!(*metadata, expected, "GET on {name}: merged metadata");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_on_one_replica_is_read_on_the_other_by_id_phone_and_email() {
    let pair = Pair::start().await;
    let (a, b) = pair.apis();
    let created = a
        .post(
            "/v2/contact",
            &json!({
                "phone": "+15550003333",
                "email": "Grace.Hopper@Example.com",
                "first_name": "Grace",
                "last_name": "Hopper",
                "preferred_channel": "email",
                "metadata": {"plan": "pro", "nested": {"deep": [1, 2, 3]}}
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_str().expect("id").to_owned();
    assert_eq!(created.body["full_name"], "Grace Hopper");

    for (how, reference) in [
        ("id", id.as_str()),
        ("phone", "+15550003333"),
        ("email", "Grace.Hopper@Example.com"),
        ("email in another case", "grace.hopper@example.COM"),
    ] {
        let got = b.get(&format!("/v2/contact/{}", enc(reference))).await;
        assert_eq!(
            got.status,
            StatusCode::OK,
            "GET by {how} on B right after the create on A: {}",
            got.text
        );
        assert_eq!(
            got.body, created.body,
            "GET by {how} on B: same contact as A's 201"
        );
    }

    // And the other way round: a create on B is a duplicate on A at once.
    let again = a
        .post("/v2/contact", &json!({"email": "grace.hopper@example.com"}))
        .await;
    assert_error(
        &again,
        409,
        "duplicate_contact",
        "same email (other case) on A",
    );
    assert_eq!(again.body["details"]["existing_contact_id"], id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_on_one_replica_is_read_on_the_other() {
    let pair = Pair::start().await;
    let (a, b) = pair.apis();
    let created = a
        .post(
            "/v2/contact",
            &json!({"phone": "+15550004444", "first_name": "Ada", "metadata": {"a": 1, "b": {"c": 2}}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_str().expect("id").to_owned();

    // Make sure the update's updated_at can differ from created_at.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let updated = b
        .put(
            &format!("/v2/contact/{id}"),
            &json!({"last_name": "Lovelace", "status": "inactive", "metadata": {"a": null, "b": {"d": 3}}}),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "PUT on B: {}", updated.text);
    assert_eq!(updated.body["full_name"], "Ada Lovelace");
    assert_eq!(updated.body["status"], "inactive");
    assert_eq!(updated.body["metadata"], json!({"b": {"c": 2, "d": 3}}));

    for reference in [id.as_str(), "+15550004444"] {
        let got = a.get(&format!("/v2/contact/{}", enc(reference))).await;
        assert_eq!(
            got.status,
            StatusCode::OK,
            "GET {reference} on A: {}",
            got.text
        );
        assert_eq!(
            got.body, updated.body,
            "GET {reference} on A after the PUT on B"
        );
    }

    // A phone change on A frees the old phone on B at once and takes the new one.
    let moved = a
        .put(
            &format!("/v2/contact/{id}"),
            &json!({"phone": "+15550004445"}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    let old = b.get(&format!("/v2/contact/{}", enc("+15550004444"))).await;
    assert_error(&old, 404, "not_found", "old phone on B");
    let new = b.get(&format!("/v2/contact/{}", enc("+15550004445"))).await;
    assert_eq!(new.status, StatusCode::OK, "new phone on B: {}", new.text);
    assert_eq!(new.body, moved.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_on_one_replica_is_gone_on_the_other() {
    let pair = Pair::start().await;
    let (a, b) = pair.apis();
    let created = b
        .post(
            "/v2/contact",
            &json!({"phone": "+15550005555", "email": "gone@example.com"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_str().expect("id").to_owned();
    let conversation = b
        .post(
            "/v2/conversation",
            &json!({"contact_id": id, "channel": "sms"}),
        )
        .await;
    assert_eq!(
        conversation.status,
        StatusCode::CREATED,
        "{}",
        conversation.text
    );
    let conversation_id = conversation.body["id"]
        .as_str()
        .expect("conv id")
        .to_owned();

    // Seen on A before the delete.
    let seen = a.get(&format!("/v2/contact/{id}")).await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.text);

    let deleted = a.delete(&format!("/v2/contact/{id}")).await;
    assert_eq!(
        deleted.status,
        StatusCode::OK,
        "DELETE on A: {}",
        deleted.text
    );
    assert_eq!(deleted.body["status"], "deleted");
    assert_eq!(deleted.body["id"], id.as_str());

    for reference in [id.as_str(), "+15550005555", "gone@example.com"] {
        let got = b.get(&format!("/v2/contact/{}", enc(reference))).await;
        assert_error(
            &got,
            404,
            "not_found",
            &format!("GET {reference} on B after DELETE on A"),
        );
    }
    let conv = b.get(&format!("/v2/conversation/{conversation_id}")).await;
    assert_error(
        &conv,
        404,
        "not_found",
        "the deleted contact's conversation on B",
    );
    let again = b.delete(&format!("/v2/contact/{id}")).await;
    assert_error(&again, 404, "not_found", "second DELETE, on B");

    // The phone and email are free again, on either replica.
    let reborn = b
        .post(
            "/v2/contact",
            &json!({"phone": "+15550005555", "email": "gone@example.com"}),
        )
        .await;
    assert_eq!(reborn.status, StatusCode::CREATED, "{}", reborn.text);
    assert_ne!(reborn.body["id"], id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_starting_together_on_an_empty_database_both_come_up() {
    let db = ScratchDb::create().await;
    // Spawned back to back, nothing migrated yet: both race for the advisory lock.
    let mut a = Server::spawn("A", &db.url(), POOL);
    let mut b = Server::spawn("B", &db.url(), POOL);
    futures::join!(a.wait_healthy(), b.wait_healthy());

    for server in [&a, &b] {
        let ready = Api::new(&server.base, "").probe("/readyz").await;
        assert_eq!(
            ready.status,
            StatusCode::OK,
            "/readyz on {}: {}",
            server.name,
            ready.text
        );
    }
    assert_eq!(a.exit_status(), None, "A exited");
    assert_eq!(b.exit_status(), None, "B exited");

    // The schema was applied once.
    let (client, connection) = tokio_postgres::connect(&db.url(), tokio_postgres::NoTls)
        .await
        .expect("connect to the scratch database");
    let connection = tokio::spawn(connection);
    let versions: Vec<i32> = client
        .query(
            "SELECT version FROM contactd_migrations ORDER BY version",
            &[],
        )
        .await
        .expect("read contactd_migrations")
        .iter()
        .map(|row| row.get(0))
        .collect();
    drop(client);
    let _ = connection.await;
    assert!(!versions.is_empty(), "no migration recorded");
    let expected: Vec<i32> = (1..=i32::try_from(versions.len()).expect("count")).collect();
    assert_eq!(versions, expected, "each migration recorded exactly once");

    // Both serve the same data.
    let key = create_key(&db.url(), "acme").await;
    let (api_a, api_b) = (a.api(&key), b.api(&key));
    let created = api_a
        .post("/v2/contact", &json!({"phone": "+15550006666"}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_str().expect("id");
    let got = api_b.get(&format!("/v2/contact/{id}")).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    assert_eq!(got.body, created.body);
    let dup = api_b
        .post("/v2/contact", &json!({"phone": "+15550006666"}))
        .await;
    assert_error(&dup, 409, "duplicate_contact", "same phone on B");
}

/// Replicas cache keys that authenticated (no hash, no lookup per request); a key
/// revoked by `contactd keys revoke` is still refused by every replica on its next
/// request, including one that served it a moment before.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revoked_key_is_refused_by_every_replica_on_the_next_request() {
    let pair = Pair::start().await;
    let (a, b) = pair.apis();
    for api in [&a, &b] {
        for _ in 0..20 {
            assert_eq!(api.get("/v2/contact?limit=1").await.status, StatusCode::OK);
        }
    }
    let prefix = &pair.key[.."sk_live_".len() + 8];
    let database = pair._db.url();
    let prefix_owned = prefix.to_owned();
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_contactd"))
            .args(["keys", "revoke", &prefix_owned, "--database", &database])
            .env("CONTACTD_LOG", "warn")
            .status()
            .expect("run contactd keys revoke")
    })
    .await
    .expect("the revoke ran");
    assert!(status.success(), "keys revoke failed: {status}");
    for (name, api) in [("A", &a), ("B", &b)] {
        let reply = api.get("/v2/contact?limit=1").await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "replica {name} still took the revoked key: {}",
            reply.text
        );
    }
}
