//! Limits that keep slow or greedy clients from holding the server: header and body read
//! deadlines, a cap on open connections, a deadline per request.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::utils::{assert_error, TestServer};

/// Reads what the server sends until it closes the connection (or 5 s pass).
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let server = TestServer::start_with(|c| c.header_timeout_secs = 1).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let answer = read_until_closed(&mut stream).await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "held for {:?}",
        started.elapsed()
    );
    assert!(!answer.contains("200 OK"), "{answer}");
}

#[tokio::test]
async fn a_client_that_never_finishes_its_body_gets_408() {
    let server = TestServer::start_with(|c| c.body_timeout_secs = 1).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST /v2/contact HTTP/1.1\r\nHost: x\r\nX-API-Key: {}\r\nContent-Length: 100\r\n\r\n{{\"phone\"",
        server.key
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"error\":\"request_timeout\""), "{answer}");
}

#[tokio::test]
async fn connections_over_the_cap_are_closed() {
    let server = TestServer::start_with(|c| c.max_connections = 2).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 12];
        s.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"HTTP/1.1 200");
        held.push(s);
    }
    let mut third = TcpStream::connect(server.addr).await.unwrap();
    let _ = third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let answer = read_until_closed(&mut third).await;
    assert!(
        answer.is_empty(),
        "the third connection was served: {answer}"
    );
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        server.get("/healthz").await.status,
        200,
        "a slot frees when a connection closes"
    );
}

#[tokio::test]
async fn a_request_past_its_deadline_answers_503() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.db");
    let url = format!("sqlite://{}", path.display());
    let server = TestServer::start_with(|c| {
        c.request_timeout_secs = 1;
        c.database.url = url.clone();
    })
    .await;
    // Another process holds SQLite's write lock: writes wait (up to the busy timeout).
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let started = std::time::Instant::now();
    let resp = server
        .post("/v2/contact", &serde_json::json!({"phone": "+14155550100"}))
        .await;
    assert_error(&resp, 503, "unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    other.execute_batch("ROLLBACK").unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        server.get("/v2/contact/%2B14155550100").await.status,
        404,
        "a request answered 503 must not write afterwards"
    );
}

/// Writes `head` and then all of `body` before reading anything, as Python's urllib does,
/// in pieces over a few hundred milliseconds as over a real network (on loopback, socket
/// buffers would swallow a body of a few MiB at once); returns what the server answered.
async fn write_all_then_read(server: &TestServer, head: String, body: &[u8]) -> String {
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    for (i, piece) in body.chunks(64 * 1024).enumerate() {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let written = tokio::time::timeout(Duration::from_secs(10), stream.write_all(piece)).await;
        assert!(
            matches!(written, Ok(Ok(()))),
            "piece {i} of the body could be written: {written:?}"
        );
    }
    read_until_closed(&mut stream).await
}

fn assert_413(answer: &str) {
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer.contains("\"error\":\"payload_too_large\""),
        "{answer}"
    );
}

#[tokio::test]
async fn a_client_that_writes_a_whole_oversized_body_before_reading_gets_413() {
    let server = TestServer::start().await;
    let body = vec![b'x'; 2 * 1024 * 1024];
    let head = format!(
        "POST /v2/contact HTTP/1.1\r\nHost: x\r\nX-API-Key: {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        server.key,
        body.len()
    );
    assert_413(&write_all_then_read(&server, head, &body).await);
    // Chunked, so the size is only known while reading.
    let mut chunked = Vec::new();
    for chunk in body.chunks(64 * 1024) {
        chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        chunked.extend_from_slice(chunk);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let head = format!(
        "PUT /v2/contact/%2B14155550100 HTTP/1.1\r\nHost: x\r\nX-API-Key: {}\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        server.key
    );
    assert_413(&write_all_then_read(&server, head, &chunked).await);
    // A POST with an Idempotency-Key reads its body before the handler (to fingerprint it).
    let head = format!(
        "POST /v2/contact HTTP/1.1\r\nHost: x\r\nX-API-Key: {}\r\nIdempotency-Key: big\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        server.key,
        body.len()
    );
    assert_413(&write_all_then_read(&server, head, &body).await);
    assert_eq!(server.get("/healthz").await.status, 200);
}
