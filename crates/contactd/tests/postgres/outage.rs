//! As an operator, when PostgreSQL goes away contactd does not crash or hang: requests get a
//! JSON 503 `unavailable`, `/readyz` says so, and once the database is back contactd serves
//! again by itself, without a restart.
//!
//! The connection is cut by a TCP proxy between contactd and PostgreSQL (see `support::Proxy`).
//! The key was used before the outage, so authentication goes on from the key contactd saw
//! valid moments ago and every request meets the outage in its own reads and writes.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_error, create_key, enc, Api, Proxy, Reply, ScratchDb, Server};

const TIMEOUTS: &[&str] = &[
    "--db-connect-timeout-ms",
    "500",
    "--db-acquire-timeout-ms",
    "1000",
    "--pool-size",
    "4",
];

/// How long contactd gets to serve again after the database is back.
const RECOVERY_LIMIT: Duration = Duration::from_secs(10);

struct Setup {
    // Drop order: the server first, then the proxy, then the database.
    server: Server,
    proxy: Proxy,
    api: Api,
    db: ScratchDb,
}

async fn setup() -> Setup {
    let db = ScratchDb::create().await;
    // Migrations and the key go directly to PostgreSQL; contactd goes through the proxy.
    let key = create_key(&db.url(), "acme").await;
    let proxy = Proxy::start(db.url.socket_addr()).await;
    let server = Server::start("A", &db.url_via(&proxy.host_port()), TIMEOUTS).await;
    let api = server.api(&key);
    Setup {
        server,
        proxy,
        api,
        db,
    }
}

#[track_caller]
fn assert_unavailable(reply: &Reply, what: &str) {
    assert_error(reply, 503, "unavailable", what);
    assert_eq!(
        reply.body["details"],
        json!({}),
        "{what}: details of a 503: {}",
        reply.text
    );
    let message = reply.body["message"].as_str().unwrap_or_default();
    for leak in [
        "SELECT",
        "INSERT",
        "UPDATE ",
        "tokio_postgres",
        "127.0.0.1",
        "src/",
    ] {
        assert!(
            !message.contains(leak),
            "{what}: the message leaks internals ({leak}): {message}"
        );
    }
}

/// Sends one request while the database is down: it must answer (no hang: the client gives
/// up after 10 s) with a 503 envelope.
async fn expect_503(api: &Api, method: Method, path: &str, body: Option<Value>, what: &str) {
    let started = Instant::now();
    let reply = api
        .try_send(method, path, body.as_ref())
        .await
        .unwrap_or_else(|e| {
            panic!(
                "{what}: no answer while the database is down (after {:?}): {e}",
                started.elapsed()
            )
        });
    assert_unavailable(&reply, what);
}

/// Polls `GET path` until 200, at most `RECOVERY_LIMIT`; answers the 200 and how long it took.
async fn wait_until_ok(api: &Api, path: &str) -> (Reply, Duration) {
    let started = Instant::now();
    loop {
        let last = match api.try_send(Method::GET, path, None).await {
            Ok(reply) if reply.status == StatusCode::OK => return (reply, started.elapsed()),
            Ok(reply) => {
                // While recovering, anything but 503 is a bug (a 500 most of all).
                assert_unavailable(&reply, &format!("GET {path} while recovering"));
                format!("{} {}", reply.status, reply.text)
            }
            Err(e) => format!("transport error: {e}"),
        };
        if started.elapsed() > RECOVERY_LIMIT {
            panic!(
                "contactd did not recover within {RECOVERY_LIMIT:?} after the database came \
                 back; last answer to GET {path}: {last}"
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One outage: everything answers 503 while the proxy is down, nothing exits, and after the
/// proxy is up again the contact `id` (whose body is `before`) is served again.
async fn outage_cycle(s: &mut Setup, round: usize, id: &str, before: &Value) {
    s.proxy.set_up(false);
    let api = s.api.clone();
    let contact = format!("/v2/contact/{id}");
    let phone = before["phone"].as_str().expect("phone").to_owned();

    // Several rounds, so both the first requests (whose pooled connections just broke)
    // and later ones (which try to open new connections) are covered.
    for attempt in 0..3 {
        let tag = format!("outage {round}, attempt {attempt}");
        expect_503(
            &api,
            Method::GET,
            &contact,
            None,
            &format!("{tag}: GET by id"),
        )
        .await;
        expect_503(
            &api,
            Method::GET,
            &format!("/v2/contact/{}", enc(&phone)),
            None,
            &format!("{tag}: GET by phone"),
        )
        .await;
        expect_503(
            &api,
            Method::POST,
            "/v2/contact",
            Some(json!({"phone": format!("+1555009{round}{attempt}00")})),
            &format!("{tag}: POST"),
        )
        .await;
        expect_503(
            &api,
            Method::PUT,
            &contact,
            Some(json!({"metadata": {"during_outage": attempt}})),
            &format!("{tag}: PUT"),
        )
        .await;
        expect_503(
            &api,
            Method::GET,
            &format!("{contact}/conversations"),
            None,
            &format!("{tag}: GET conversations"),
        )
        .await;

        let ready = api.probe("/readyz").await;
        assert_unavailable(&ready, &format!("{tag}: /readyz"));
        let health = api.probe("/healthz").await;
        assert_eq!(
            health.status,
            StatusCode::OK,
            "{tag}: /healthz must stay 200 (the process is up): {}",
            health.text
        );
        assert_eq!(
            s.server.exit_status(),
            None,
            "{tag}: contactd exited while the database was down; stderr:\n{}",
            s.server.log_text()
        );
    }

    // By now the key cache has been emptied (its revocation check cannot reach the
    // database), so the burst below authenticates through the keys seen valid lately.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // A burst of concurrent requests while down: all 503, none hangs.
    let burst = (0..8).map(|i| {
        let api = api.clone();
        let contact = contact.clone();
        async move {
            let reply = if i % 2 == 0 {
                api.try_send(Method::GET, &contact, None).await
            } else {
                let body = json!({"metadata": {format!("burst{i}"): i}});
                api.try_send(Method::PUT, &contact, Some(&body)).await
            };
            (i, reply)
        }
    });
    for (i, reply) in futures::future::join_all(burst).await {
        let reply = reply.unwrap_or_else(|e| panic!("outage {round}: burst #{i}: no answer: {e}"));
        assert_unavailable(&reply, &format!("outage {round}: burst #{i}"));
    }

    // The 503s came from the reads and writes themselves, not from authentication: the
    // key was known valid, so each request went on to the database and failed there.
    // (The server writes its log out every 20 ms: give the lines a moment to arrive.)
    let logged = "authenticated by a key seen valid moments ago";
    let waited = Instant::now();
    while !s.server.log_text().contains(logged) && waited.elapsed() < Duration::from_secs(2) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let log = s.server.log_text();
    assert!(
        log.contains(logged),
        "outage {round}: no request got past authentication; log:\n{log}"
    );

    s.proxy.set_up(true);
    let (reply, took) = wait_until_ok(&api, &contact).await;
    for attempt in 0..3 {
        let phone = format!("+1555009{round}{attempt}00");
        let got = api.get(&format!("/v2/contact/{}", enc(&phone))).await;
        assert_eq!(
            got.status,
            StatusCode::NOT_FOUND,
            "outage {round}: a create sent during the outage landed: {}",
            got.text
        );
    }
    eprintln!("outage {round}: contactd served again {took:?} after the database came back");
    assert_eq!(
        reply.body, *before,
        "outage {round}: the contact after recovery (no write during the outage may have landed)"
    );
    assert_eq!(
        s.server.exit_status(),
        None,
        "outage {round}: contactd exited"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_a_503_and_contactd_recovers_by_itself() {
    let mut s = setup().await;
    let api = s.api.clone();

    let ready = api.probe("/readyz").await;
    assert_eq!(
        ready.status,
        StatusCode::OK,
        "/readyz before: {}",
        ready.text
    );
    let created = api
        .post(
            "/v2/contact",
            &json!({"phone": "+15550007777", "email": "outage@example.com", "first_name": "Olga"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_str().expect("id").to_owned();

    outage_cycle(&mut s, 1, &id, &created.body).await;

    // Fully back: reads by every ref, a new create, an update, readiness.
    for reference in [id.as_str(), "+15550007777", "outage@example.com"] {
        let got = api.get(&format!("/v2/contact/{}", enc(reference))).await;
        assert_eq!(
            got.status,
            StatusCode::OK,
            "GET {reference} after recovery: {}",
            got.text
        );
        assert_eq!(got.body, created.body, "GET {reference} after recovery");
    }
    let fresh = api
        .post("/v2/contact", &json!({"phone": "+15550007778"}))
        .await;
    assert_eq!(
        fresh.status,
        StatusCode::CREATED,
        "create after recovery: {}",
        fresh.text
    );
    let dup = api
        .post("/v2/contact", &json!({"phone": "+15550007777"}))
        .await;
    assert_error(&dup, 409, "duplicate_contact", "duplicate after recovery");
    assert_eq!(dup.body["details"]["existing_contact_id"], id.as_str());
    let updated = api
        .put(
            &format!("/v2/contact/{id}"),
            &json!({"metadata": {"after": true}}),
        )
        .await;
    assert_eq!(
        updated.status,
        StatusCode::OK,
        "PUT after recovery: {}",
        updated.text
    );
    assert_eq!(updated.body["metadata"], json!({"after": true}));
    let ready = api.probe("/readyz").await;
    assert_eq!(
        ready.status,
        StatusCode::OK,
        "/readyz after recovery: {}",
        ready.text
    );
    assert_eq!(s.server.exit_status(), None, "contactd exited");

    // A key created after the outage authenticates: the key table is read again too.
    let other = create_key(&s.db.url(), "acme").await;
    let got = s.server.api(&other).get(&format!("/v2/contact/{id}")).await;
    assert_eq!(
        got.status,
        StatusCode::OK,
        "a key created after recovery: {}",
        got.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contactd_recovers_from_repeated_outages() {
    let mut s = setup().await;
    let api = s.api.clone();
    let created = api
        .post("/v2/contact", &json!({"phone": "+15550008888"}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_str().expect("id").to_owned();

    let mut current = created.body.clone();
    for round in 1..=3 {
        outage_cycle(&mut s, round, &id, &current).await;
        let updated = api
            .put(
                &format!("/v2/contact/{id}"),
                &json!({"metadata": {format!("round{round}"): round}}),
            )
            .await;
        assert_eq!(
            updated.status,
            StatusCode::OK,
            "PUT after outage {round}: {}",
            updated.text
        );
        current = updated.body;
    }
    assert_eq!(
        current["metadata"],
        json!({"round1": 1, "round2": 2, "round3": 3}),
        "every update between outages landed, none made during them"
    );
    let ready = api.probe("/readyz").await;
    assert_eq!(
        ready.status,
        StatusCode::OK,
        "/readyz at the end: {}",
        ready.text
    );
}
