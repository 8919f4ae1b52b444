//! Lists of ever new shapes (issue 11, item 14): each combination of filters is its own
//! SQL text. Cached per connection they would grow contactd's and PostgreSQL's memory
//! without bound; built per request they leave the statement caches as they were.
//! (SQLite's statement cache is a small LRU: there the gauge does not exist.)

use crate::utils::TestServer;

async fn largest_statement_cache(server: &TestServer) -> Option<f64> {
    let metrics = server.send("GET", "/metrics", &[], None).await;
    metrics
        .text
        .lines()
        .find_map(|l| l.strip_prefix("contactd_db_statement_cache_max "))
        .and_then(|v| v.trim().parse().ok())
}

/// A different list shape for every `i`: a varying number of filters of varying ops.
fn shape(i: usize) -> String {
    const OPS: [&str; 7] = ["eq", "ne", "gt", "lt", "exists", "gte", "lte"];
    let filters: Vec<String> = (0..=(i % 7))
        .map(|j| {
            let op = OPS[(i / 7 + j) % OPS.len()];
            let value = if op == "exists" { "true" } else { "1" };
            format!("metadata.k{j}[{op}]={value}")
        })
        .collect();
    let sort = ["created_at", "-updated_at", "full_name"][i % 3];
    format!(
        "/v2/contact?{}&sort={sort}&limit={}",
        filters.join("&"),
        1 + i % 5
    )
}

#[tokio::test]
async fn many_list_shapes_leave_the_statement_caches_flat() {
    let server = TestServer::start_with(|c| c.database.pool_size = 2).await;
    server
        .create_contact(serde_json::json!({"phone": "+14155550100", "metadata": {"k0": 1}}))
        .await;
    for i in 0..20 {
        server.get(&shape(i)).await.expect(200);
    }
    let Some(before) = largest_statement_cache(&server).await else {
        return;
    };
    let shapes: std::collections::HashSet<String> = (0..300).map(shape).collect();
    assert!(shapes.len() > 200, "{}", shapes.len());
    for path in &shapes {
        server.get(path).await.expect(200);
    }
    let after = largest_statement_cache(&server).await.unwrap_or(f64::MAX);
    assert!(
        after <= before + 10.0,
        "statement caches grew from {before} to {after} over {} list shapes",
        shapes.len()
    );
}
