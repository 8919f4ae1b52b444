//! `/metrics`: Prometheus text with requests by route pattern and status, latency
//! histograms and database gauges, never a phone number or email in a label; a fixed set
//! of series whatever clients send; behind `--metrics-token` when one is set.

use serde_json::json;

use crate::utils::{assert_error, TestServer};

#[tokio::test]
async fn metrics_count_requests_by_route_pattern() {
    let server = TestServer::start().await;
    server
        .create_contact(json!({"phone": "+14155550100", "email": "ada@example.com"}))
        .await;
    server.get_contact("+14155550100").await;
    server.get_contact("ada@example.com").await;
    assert_eq!(server.get("/v2/contact/%2B19999999999").await.status, 404);

    let resp = reqwest::get(server.url("/metrics")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = resp.text().await.unwrap();
    for line in [
        "contactd_http_requests_total{route=\"/v2/contact\",method=\"POST\",status=\"201\"} 1",
        "contactd_http_requests_total{route=\"/v2/contact/{ref}\",method=\"GET\",status=\"200\"} 2",
        "contactd_http_requests_total{route=\"/v2/contact/{ref}\",method=\"GET\",status=\"404\"} 1",
        "contactd_http_request_duration_seconds_count{route=\"/v2/contact/{ref}\"} 3",
        "contactd_http_request_duration_seconds_bucket{route=\"/v2/contact/{ref}\",le=\"+Inf\"} 3",
        "# TYPE contactd_http_request_duration_seconds histogram",
    ] {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
    let gauges = [
        "contactd_db_write_queue_depth",
        "contactd_db_pool_available",
    ];
    assert!(
        gauges
            .iter()
            .any(|g| text.contains(&format!("# TYPE {g} gauge"))),
        "{text}"
    );
    for secret in ["+1415", "%2B", "ada@example.com", "+1999"] {
        assert!(!text.contains(secret), "{secret} leaked into metrics");
    }
    for label in text.split("route=\"").skip(1) {
        let route = label.split('"').next().unwrap_or_default();
        assert!(
            route == "unmatched" || route.starts_with('/') && !route.contains(['+', '@']),
            "route label {route:?} is not a pattern"
        );
    }
}

const METRICS_TOKEN: &str = "metrics-token-for-the-tests-0123";

#[tokio::test]
async fn with_a_metrics_token_metrics_want_it() {
    let server =
        TestServer::start_with(|c| c.metrics_token = Some(METRICS_TOKEN.parse().unwrap())).await;
    let right = format!("Bearer {METRICS_TOKEN}");
    let wrong = format!("Bearer {METRICS_TOKEN}x");
    let api_key = server.key.clone();
    for headers in [
        vec![],
        vec![("Authorization", wrong.as_str())],
        vec![("Authorization", METRICS_TOKEN)],
        vec![("X-API-Key", api_key.as_str())],
    ] {
        let refused = server.send("GET", "/metrics", &headers, None).await;
        assert_error(&refused, 401, "unauthorized");
        assert!(refused.text.contains("metrics token"), "{}", refused.text);
        assert_eq!(
            refused.header("www-authenticate"),
            Some("Bearer realm=\"metrics\"")
        );
    }
    let served = server
        .send("GET", "/metrics", &[("Authorization", &right)], None)
        .await;
    assert_eq!(served.status, 200, "{}", served.text);
    assert!(
        served
            .text
            .contains("# TYPE contactd_http_requests_total counter"),
        "{}",
        served.text
    );
    assert!(served.text.contains("status=\"401\""), "{}", served.text);
}

/// The `contactd_http_requests_total` lines.
fn request_series(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| l.starts_with("contactd_http_requests_total{"))
        .collect()
}

#[tokio::test]
async fn unknown_methods_and_paths_add_no_series() {
    let server = TestServer::start().await;
    let send_random = |round: usize| {
        let server = &server;
        async move {
            for i in 0..3 {
                let method = format!("RANDOM{round}X{i}");
                let path = format!("/random-path-{round}-{i}");
                let known = server.request(&method, "/v2/contact", Some(&server.key), None, None);
                assert_eq!(known.await.status, 405, "{method} on a route");
                let unknown = server.request(&method, &path, Some(&server.key), None, None);
                assert_eq!(unknown.await.status, 404, "{method} {path}");
            }
        }
    };
    send_random(0).await;
    let first = reqwest::get(server.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    send_random(1).await;
    let text = reqwest::get(server.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    for line in [
        "contactd_http_requests_total{route=\"/v2/contact\",method=\"other\",status=\"405\"} 6",
        "contactd_http_requests_total{route=\"unmatched\",method=\"other\",status=\"404\"} 6",
    ] {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
    assert!(!text.contains("RANDOM"), "{text}");
    assert!(!text.contains("random-path"), "{text}");
    // The second round of new methods and paths made no new series (the first /metrics
    // request is the only one added).
    let (before, after) = (request_series(&first), request_series(&text));
    assert_eq!(after.len(), before.len() + 1, "{before:#?}\n{after:#?}");
}
