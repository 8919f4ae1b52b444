//! Security basics: API answers are not sniffed or cached, and API keys are stored only
//! as hashes, so a copy of the database gives no working key.

use serde_json::json;

use crate::utils::TestServer;

#[tokio::test]
async fn api_answers_carry_nosniff_and_no_store() {
    let server = TestServer::start().await;
    let created = server
        .post("/v2/contact", &json!({"phone": "+14155550100"}))
        .await;
    let missing = server.get("/v2/contact/%2B19999999999").await;
    let unauthorized = server
        .get_as("sk_live_nope", "/v2/contact/%2B14155550100")
        .await;
    for resp in [&created, &missing, &unauthorized] {
        assert_eq!(
            resp.header("x-content-type-options"),
            Some("nosniff"),
            "{}",
            resp.status
        );
        assert_eq!(
            resp.header("cache-control"),
            Some("no-store"),
            "{}",
            resp.status
        );
    }
}

#[tokio::test]
async fn keys_are_stored_as_hashes_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    let url = format!("sqlite://{}", path.display());
    let mut server = TestServer::start_with(|c| c.database.url = url.clone()).await;
    let key = server.key.clone();
    server.stop().await;
    let conn = rusqlite::Connection::open(&path).unwrap();
    let rows: Vec<(Vec<u8>, String)> = conn
        .prepare("SELECT key_hash, prefix FROM api_keys")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(!rows.is_empty());
    for (hash, prefix) in &rows {
        assert_eq!(hash.len(), 32, "a SHA-256 digest");
        assert!(prefix.len() < key.len(), "the prefix is not the key");
    }
    assert!(rows
        .iter()
        .any(|(_, prefix)| key.starts_with(prefix.as_str())));
    drop(conn);
    let bytes = std::fs::read(&path).unwrap();
    let secret = &key["sk_live_".len()..];
    assert!(
        !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "the secret part of a key is nowhere in the database file"
    );
}
