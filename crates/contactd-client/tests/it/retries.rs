//! Retries: `429` and `503` are tried again after `Retry-After` (or a backoff), failed
//! connections and timeouts too, with one `Idempotency-Key` for all the tries of a call,
//! so a retried create never creates twice. Other errors are not retried.

use std::time::{Duration, Instant};

use contactd_client::{Client, Error, ListContacts, NewContact};

use crate::stub::{Step, Stub};
use crate::utils::{phone, TestServer};

fn client(url: &str, key: &str, max_retries: u32) -> Client {
    Client::builder(url, key)
        .max_retries(max_retries)
        .base_backoff(Duration::from_millis(10))
        .build()
}

async fn count_contacts(server: &TestServer) -> u64 {
    let page = server
        .client()
        .contacts()
        .list(&ListContacts::new())
        .await
        .unwrap();
    page.total.unwrap()
}

#[tokio::test]
async fn a_503_and_a_429_are_retried_after_retry_after_with_one_idempotency_key() {
    let server = TestServer::start().await;
    let stub = Stub::start(
        vec![
            Step::error(503, "unavailable", Some(1)),
            Step::error(429, "rate_limited", Some(1)),
        ],
        Some(&server.url),
    )
    .await;
    let started = Instant::now();

    let contact = client(&stub.url, &server.key, 3)
        .contacts()
        .create(&NewContact::with_phone(phone(1)).first_name("Retry"))
        .await
        .unwrap();

    assert_eq!(contact.phone.as_deref(), Some(phone(1).as_str()));
    let seen = stub.seen();
    assert_eq!(seen.len(), 3, "two refusals, then the request that ran");
    for pair in seen.windows(2) {
        let waited = pair[1].at.duration_since(pair[0].at);
        assert!(
            waited >= Duration::from_secs(1),
            "Retry-After: 1 honoured, waited {waited:?}"
        );
    }
    assert!(started.elapsed() >= Duration::from_secs(2));
    let key = seen[0]
        .idempotency_key
        .clone()
        .expect("a POST carries an Idempotency-Key");
    assert!(!key.is_empty());
    assert!(seen
        .iter()
        .all(|s| s.idempotency_key.as_deref() == Some(key.as_str())));
    assert!(seen
        .iter()
        .all(|s| s.body == seen[0].body && s.method == "POST" && s.path == "/v2/contact"));
    assert_eq!(count_contacts(&server).await, 1);
}

#[tokio::test]
async fn an_answer_lost_after_the_create_ran_is_replayed_not_created_again() {
    let server = TestServer::start().await;
    let stub = Stub::start(vec![Step::ForwardThenAnswer(503)], Some(&server.url)).await;

    let contact = client(&stub.url, &server.key, 3)
        .contacts()
        .create(&NewContact::with_phone(phone(2)))
        .await
        .unwrap();

    let seen = stub.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].idempotency_key, seen[1].idempotency_key);
    assert_eq!(seen[0].replayed, None, "the first try ran");
    assert_eq!(
        seen[1].replayed.as_deref(),
        Some("true"),
        "the retry was replayed"
    );
    assert_eq!(count_contacts(&server).await, 1);
    let stored = server.client().contacts().get(&phone(2)).await.unwrap();
    assert_eq!(stored.id, contact.id);
}

#[tokio::test]
async fn a_timed_out_create_is_retried_with_its_key_and_lands_once() {
    let server = TestServer::start().await;
    let stall = Duration::from_millis(2000);
    let stub = Stub::start(vec![Step::Stall(stall)], Some(&server.url)).await;
    let client = Client::builder(&stub.url, &server.key)
        .timeout(Duration::from_millis(1000))
        .base_backoff(Duration::from_millis(10))
        .max_retries(2)
        .build();
    let started = Instant::now();

    let contact = client
        .contacts()
        .create(&NewContact::with_phone(phone(3)))
        .await
        .unwrap();

    // The stalled first try reaches the server after the retry did; wait for it.
    let mut seen = stub.seen();
    while seen.len() < 2 || started.elapsed() < stall + Duration::from_millis(500) {
        assert!(started.elapsed() < Duration::from_secs(20), "{seen:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        seen = stub.seen();
    }
    assert!(seen
        .iter()
        .all(|s| s.idempotency_key.is_some() && s.idempotency_key == seen[0].idempotency_key));
    assert_eq!(
        seen.iter()
            .filter(|s| s.replayed.as_deref() != Some("true"))
            .count(),
        1,
        "one try ran, the others replayed its answer: {seen:?}"
    );
    assert_eq!(count_contacts(&server).await, 1);
    assert_eq!(
        server.client().contacts().get(&phone(3)).await.unwrap().id,
        contact.id
    );
}

#[tokio::test]
async fn each_call_has_its_own_key_and_a_custom_key_is_sent_as_given() {
    let server = TestServer::start().await;
    let stub = Stub::start(Vec::new(), Some(&server.url)).await;
    let client = client(&stub.url, &server.key, 0);

    client
        .contacts()
        .create(&NewContact::with_phone(phone(4)))
        .await
        .unwrap();
    client
        .contacts()
        .create(&NewContact::with_phone(phone(5)))
        .await
        .unwrap();
    client
        .contacts()
        .create_with_key(&NewContact::with_phone(phone(6)), "order-42")
        .await
        .unwrap();
    client.contacts().get(&phone(4)).await.unwrap();

    let keys: Vec<Option<String>> = stub.seen().into_iter().map(|s| s.idempotency_key).collect();
    assert!(keys[0].is_some() && keys[1].is_some());
    assert_ne!(keys[0], keys[1]);
    assert_eq!(keys[2].as_deref(), Some("order-42"));
    assert_eq!(keys[3], None, "only POSTs carry a key");
}

#[tokio::test]
async fn when_retries_run_out_the_typed_error_is_returned() {
    let stub = Stub::start(vec![Step::error(503, "unavailable", Some(0)); 5], None).await;
    let err = client(&stub.url, "sk_test_x", 2)
        .contacts()
        .get("cnt_doesnotexist0000")
        .await
        .unwrap_err();
    match &err {
        Error::Unavailable { retry_after, .. } => {
            assert_eq!(*retry_after, Some(Duration::ZERO));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!((err.code(), err.status()), ("unavailable", Some(503)));
    assert_eq!(stub.seen().len(), 3, "the try and two retries");

    let stub = Stub::start(vec![Step::error(429, "rate_limited", Some(1))], None).await;
    let err = client(&stub.url, "sk_test_x", 0)
        .contacts()
        .create(&NewContact::with_phone(phone(1)))
        .await
        .unwrap_err();
    match &err {
        Error::RateLimited { retry_after, .. } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(1)));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!((err.code(), err.status()), ("rate_limited", Some(429)));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
    assert_eq!(stub.seen().len(), 1, "max_retries 0 sends once");
}

#[tokio::test]
async fn a_retry_after_longer_than_max_backoff_is_not_waited_for() {
    let stub = Stub::start(vec![Step::error(429, "rate_limited", Some(120))], None).await;
    let started = Instant::now();
    let err = Client::builder(&stub.url, "sk_test_x")
        .max_backoff(Duration::from_secs(5))
        .build()
        .contacts()
        .get("cnt_doesnotexist0000")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(stub.seen().len(), 1);
}

#[tokio::test]
async fn without_retry_after_the_backoff_doubles() {
    let server = TestServer::start().await;
    let stub = Stub::start(
        vec![
            Step::error(503, "unavailable", None),
            Step::error(503, "unavailable", None),
        ],
        Some(&server.url),
    )
    .await;
    let client = Client::builder(&stub.url, &server.key)
        .base_backoff(Duration::from_millis(200))
        .build();
    client
        .contacts()
        .create(&NewContact::with_phone(phone(7)))
        .await
        .unwrap();
    let seen = stub.seen();
    assert_eq!(seen.len(), 3);
    let first_wait = seen[1].at.duration_since(seen[0].at);
    let second_wait = seen[2].at.duration_since(seen[1].at);
    assert!(first_wait >= Duration::from_millis(100), "{first_wait:?}");
    assert!(second_wait >= Duration::from_millis(200), "{second_wait:?}");
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_a_transport_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let started = Instant::now();
    let err = Client::builder(format!("http://127.0.0.1:{port}"), "sk_test_x")
        .max_retries(2)
        .base_backoff(Duration::from_millis(100))
        .build()
        .contacts()
        .get("cnt_doesnotexist0000")
        .await
        .unwrap_err();
    match &err {
        Error::Transport(e) => assert!(e.is_connect(), "{e:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!((err.code(), err.status()), ("transport", None));
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "two backoffs were waited"
    );
}

#[tokio::test]
async fn other_errors_are_not_retried() {
    let stub = Stub::start(
        vec![
            Step::error(500, "internal_error", None),
            Step::Answer {
                status: 502,
                retry_after: None,
                body: "<html>Bad gateway</html>".into(),
            },
            Step::Answer {
                status: 200,
                retry_after: None,
                body: "not json".into(),
            },
        ],
        None,
    )
    .await;
    let client = client(&stub.url, "sk_test_x", 3);

    let err = client
        .contacts()
        .get("cnt_doesnotexist0000")
        .await
        .unwrap_err();
    match &err {
        Error::Server { status, code, .. } => {
            assert_eq!((*status, code.as_str()), (500, "internal_error"))
        }
        other => panic!("{other:?}"),
    }
    let err = client
        .contacts()
        .get("cnt_doesnotexist0000")
        .await
        .unwrap_err();
    match &err {
        Error::Server {
            status,
            code,
            message,
        } => {
            assert_eq!((*status, code.as_str()), (502, "http_error"));
            assert!(message.contains("Bad gateway"));
        }
        other => panic!("{other:?}"),
    }
    let err = client
        .contacts()
        .get("cnt_doesnotexist0000")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { status: 200, .. }), "{err:?}");
    assert_eq!((err.code(), err.status()), ("decode", Some(200)));
    assert_eq!(stub.seen().len(), 3, "one try each");
}
