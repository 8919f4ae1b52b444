//! Rate limits: a token bucket per API key with `X-RateLimit-*` headers and 429
//! `rate_limited` with `Retry-After`; failed authentications limited per address.

use crate::utils::{assert_error, TestServer};

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

#[tokio::test]
async fn failed_authentications_from_one_address_are_limited() {
    let server = TestServer::start_with(|c| c.auth_failures_per_minute = 5.0).await;
    let wrong = "sk_live_0000000000000000000000000000wrong";
    for _ in 0..5 {
        let resp = server.get_as(wrong, "/v2/contact/%2B14155550100").await;
        assert_error(&resp, 401, "unauthorized");
    }
    let blocked = server.get_as(wrong, "/v2/contact/%2B14155550100").await;
    assert_error(&blocked, 429, "rate_limited");
    assert!(blocked.header("retry-after").is_some());
    // The address is blocked whatever key it presents, so guessing gets no answers.
    let valid = server.get("/v2/contact/%2B14155550100").await;
    assert_error(&valid, 429, "rate_limited");
}
