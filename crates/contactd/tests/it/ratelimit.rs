//! Rate limits: a token bucket per API key with `X-RateLimit-*` headers and 429
//! `rate_limited` with `Retry-After`; wrong keys limited per client address, never valid
//! ones; the client's address taken from forwarding headers of trusted proxies only.

use crate::utils::{assert_error, capture_logs, Resp, TestServer};

#[tokio::test]
async fn a_key_gets_its_burst_then_429_with_retry_after() {
    let server = TestServer::start_with(|c| {
        c.rate_limit_per_second = 0.5;
        c.rate_limit_burst = 3.0;
    })
    .await;
    for remaining in ["2", "1", "0"] {
        let resp = server.get("/v2/contact/%2B14155550100").await;
        assert_eq!(resp.status, 404);
        assert_eq!(resp.header("x-ratelimit-limit"), Some("3"));
        assert_eq!(resp.header("x-ratelimit-remaining"), Some(remaining));
        let reset: u64 = resp.header("x-ratelimit-reset").unwrap().parse().unwrap();
        assert!(reset >= 1, "{reset}");
    }
    let limited = server.get("/v2/contact/%2B14155550100").await;
    assert_error(&limited, 429, "rate_limited");
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert_eq!(limited.header("x-ratelimit-remaining"), Some("0"));

    let other = server.new_key("globex", "live").await;
    assert_eq!(
        server
            .get_as(&other, "/v2/contact/%2B14155550100")
            .await
            .status,
        404,
        "buckets are per key"
    );
    assert_eq!(
        server.get("/healthz").await.status,
        200,
        "health checks are not limited"
    );
}

const WRONG_KEY: &str = "sk_live_0000000000000000000000000000wrong";
const CONTACT: &str = "/v2/contact/%2B14155550100";

/// A request with a wrong key, from `client` when a proxy says so.
async fn guess(server: &TestServer, forwarded_for: Option<&str>) -> Resp {
    let mut headers = vec![("X-API-Key", WRONG_KEY)];
    if let Some(client) = forwarded_for {
        headers.push(("X-Forwarded-For", client));
    }
    server.send("GET", CONTACT, &headers, None).await
}

#[tokio::test]
async fn wrong_keys_from_one_address_are_limited_and_valid_keys_still_pass() {
    let capture = capture_logs();
    let server = TestServer::start_with(|c| c.auth_failures_per_minute = 5.0).await;
    for _ in 0..5 {
        assert_error(&guess(&server, None).await, 401, "unauthorized");
    }
    let blocked = guess(&server, None).await;
    assert_error(&blocked, 429, "rate_limited");
    assert!(blocked.header("retry-after").is_some());
    let no_key = server.send("GET", CONTACT, &[], None).await;
    assert_error(&no_key, 429, "rate_limited");

    // The budget is for guesses: a valid key of any tenant from the same address is served.
    let valid = server.get(CONTACT).await;
    assert_eq!(valid.status, 404, "{}", valid.text);
    assert!(valid.header("x-ratelimit-remaining").is_some());
    server
        .create_contact(serde_json::json!({"phone": "+14155550100"}))
        .await;
    server.get_contact("+14155550100").await;
    let other = server.new_key("globex", "test").await;
    assert_eq!(server.get_as(&other, CONTACT).await.status, 404);
    assert_error(&guess(&server, None).await, 429, "rate_limited");

    let logs = capture.logs.text();
    for line in ["no valid API key", "too many wrong API keys"] {
        assert!(
            logs.lines()
                .any(|l| l.contains(line) && l.contains("client=127.0.0.1")),
            "no {line:?} line with the client's address in\n{logs}"
        );
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget() {
    let capture = capture_logs();
    let server = TestServer::start_with(|c| {
        c.auth_failures_per_minute = 3.0;
        c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    let (a, b) = ("203.0.113.7", "203.0.113.8");
    for _ in 0..3 {
        assert_error(&guess(&server, Some(a)).await, 401, "unauthorized");
    }
    assert_error(&guess(&server, Some(a)).await, 429, "rate_limited");
    // What a proxy appends is believed, what the client wrote left of it is not.
    let spoofed = guess(&server, Some(&format!("{b}, {a}"))).await;
    assert_error(&spoofed, 429, "rate_limited");

    assert_error(&guess(&server, Some(b)).await, 401, "unauthorized");
    assert_error(&guess(&server, None).await, 401, "unauthorized");
    let valid = server
        .send(
            "GET",
            CONTACT,
            &[("X-API-Key", &server.key), ("X-Forwarded-For", a)],
            None,
        )
        .await;
    assert_eq!(valid.status, 404, "{}", valid.text);

    let logs = capture.logs.text();
    assert!(
        logs.lines()
            .any(|l| l.contains("too many wrong API keys") && l.contains("client=203.0.113.7")),
        "the 429 line names the forwarded client:\n{logs}"
    );
}

#[tokio::test]
async fn without_trusted_proxies_forwarding_headers_are_ignored() {
    let server = TestServer::start_with(|c| c.auth_failures_per_minute = 3.0).await;
    for _ in 0..3 {
        assert_error(
            &guess(&server, Some("203.0.113.7")).await,
            401,
            "unauthorized",
        );
    }
    // Every guess counted against the peer, whatever the header said.
    assert_error(
        &guess(&server, Some("203.0.113.8")).await,
        429,
        "rate_limited",
    );
    let forwarded = server
        .send(
            "GET",
            CONTACT,
            &[("X-API-Key", WRONG_KEY), ("Forwarded", "for=203.0.113.9")],
            None,
        )
        .await;
    assert_error(&forwarded, 429, "rate_limited");
}
