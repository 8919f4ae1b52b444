//! Cursor paging over many contacts: each contact exactly once, in order, at any depth,
//! also while other clients keep adding contacts.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use futures::future::join_all;
use serde_json::{json, Value};

use crate::list::{list, walk};
use crate::utils::{assert_list, ids, phone, ts, TestServer, Ts};

const COUNT: usize = 1_000;

/// Creates `COUNT` contacts (phones `phone(0..COUNT)`), with one batch call when the
/// batch endpoint exists; returns them as created.
async fn thousand(server: &TestServer) -> Vec<Value> {
    let bodies: Vec<Value> = (0..COUNT as u32)
        .map(|n| json!({"phone": phone(n), "first_name": format!("n{n}")}))
        .collect();
    let resp = server
        .post(
            "/v2/contact/batch",
            &json!({"mode": "create", "contacts": bodies}),
        )
        .await;
    if resp.status == 404 || resp.status == 405 {
        // No batch endpoint (yet): concurrent creates, 50 at a time.
        let mut out = Vec::new();
        for chunk in bodies.chunks(50) {
            let created = join_all(chunk.iter().map(|body| server.post("/v2/contact", body))).await;
            out.extend(created.iter().map(|r| r.expect(201)));
        }
        return out;
    }
    let body = resp.expect(200);
    assert_eq!(
        body["created"], COUNT,
        "all created: errors {}",
        body["errors"]
    );
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["contact"].clone())
        .collect()
}

fn key(contact: &Value, field: &str) -> (Ts, String) {
    (
        ts(&contact[field]),
        contact["id"].as_str().unwrap().to_string(),
    )
}

/// The ids sorted by `(field, id)`, reversed when descending.
fn expected(contacts: &[Value], field: &str, descending: bool) -> Vec<String> {
    let mut keys: Vec<(Ts, String)> = contacts.iter().map(|c| key(c, field)).collect();
    keys.sort();
    if descending {
        keys.reverse();
    }
    keys.into_iter().map(|(_, id)| id).collect()
}

#[track_caller]
fn assert_each_once(got: &[String]) {
    let mut seen = HashSet::new();
    for id in got {
        assert!(seen.insert(id), "{id} returned twice");
    }
}

/// Every contact as stored now, by offset pages of 100.
async fn all_now(server: &TestServer) -> Vec<Value> {
    let mut out = Vec::new();
    for offset in (0..COUNT).step_by(100) {
        let body = list(server, &format!("limit=100&offset={offset}")).await;
        out.extend(assert_list(
            &body,
            COUNT as u64,
            100,
            offset as u64,
            offset + 100 < COUNT,
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cursor_pages_return_each_of_1000_contacts_once_in_created_order() {
    let server = TestServer::start().await;
    let created = thousand(&server).await;
    let want = expected(&created, "created_at", false);
    for limit in [100, 37] {
        let got = ids(&walk(&server, "", limit).await);
        assert_each_once(&got);
        assert_eq!(got.len(), COUNT, "limit {limit}");
        assert_eq!(got, want, "sort created_at, limit {limit}");
        let got = ids(&walk(&server, "sort=created_at", limit).await);
        assert_eq!(got, want, "sort=created_at, limit {limit}");
    }
    // Offset paging agrees with cursor paging.
    assert_eq!(ids(&all_now(&server).await), want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cursor_pages_return_each_of_1000_contacts_once_newest_first() {
    let server = TestServer::start().await;
    let created = thousand(&server).await;
    let want = expected(&created, "created_at", true);
    for limit in [100, 37] {
        let got = ids(&walk(&server, "sort=-created_at", limit).await);
        assert_each_once(&got);
        assert_eq!(got.len(), COUNT, "limit {limit}");
        assert_eq!(got, want, "sort=-created_at, limit {limit}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cursor_pages_return_each_of_1000_contacts_once_by_updated_at_descending() {
    let server = TestServer::start().await;
    let created = thousand(&server).await;
    // Touch every seventh contact, so updated_at differs from created_at order.
    let touched: Vec<String> = created
        .iter()
        .enumerate()
        .filter(|(n, _)| n % 7 == 3)
        .map(|(_, c)| c["id"].as_str().unwrap().to_string())
        .collect();
    let touch = json!({"metadata": {"touched": true}});
    let paths: Vec<String> = touched
        .iter()
        .map(|id| format!("/v2/contact/{id}"))
        .collect();
    for chunk in paths.chunks(16) {
        join_all(chunk.iter().map(|path| server.put(path, &touch)))
            .await
            .iter()
            .for_each(|r| {
                r.expect(200);
            });
    }
    let now = all_now(&server).await;
    let want = expected(&now, "updated_at", true);
    assert_eq!(
        &want[..touched.len()]
            .iter()
            .cloned()
            .collect::<HashSet<_>>(),
        &touched.iter().cloned().collect::<HashSet<_>>(),
        "the touched contacts come first"
    );
    for limit in [100, 37] {
        let got = ids(&walk(&server, "sort=-updated_at", limit).await);
        assert_each_once(&got);
        assert_eq!(got.len(), COUNT, "limit {limit}");
        assert_eq!(got, want, "sort=-updated_at, limit {limit}");
    }
}

/// Pages through `sort` (pages of 20) while two writers keep creating contacts; returns
/// the paged items and how many contacts were created while paging.
async fn walk_while_creating(server: &TestServer, sort: &str) -> (Vec<Value>, usize) {
    let stop = AtomicBool::new(false);
    let made = AtomicUsize::new(0);
    let next = AtomicUsize::new(0);
    let (stop, made, next) = (&stop, &made, &next);
    let writer = || async move {
        while !stop.load(Ordering::SeqCst) {
            let n = next.fetch_add(1, Ordering::SeqCst);
            assert!(n < 9_000, "too many contacts made");
            let resp = server
                .post("/v2/contact", &json!({"phone": format!("+1650555{n:04}")}))
                .await;
            resp.expect(201);
            made.fetch_add(1, Ordering::SeqCst);
        }
    };
    let pager = async {
        // Let the writers start first.
        while made.load(Ordering::SeqCst) < 2 {
            tokio::task::yield_now().await;
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        // A machine busy elsewhere can stall the writers' commits for a whole walk: walk
        // again (a few times at most) until one saw contacts created while it paged.
        let mut walked = (Vec::new(), 0);
        for _ in 0..5 {
            let before = made.load(Ordering::SeqCst);
            let items = walk(server, &format!("sort={sort}"), 20).await;
            walked = (items, made.load(Ordering::SeqCst) - before);
            if walked.1 > 0 {
                break;
            }
        }
        stop.store(true, Ordering::SeqCst);
        walked
    };
    let ((items, during), (), ()) = futures::join!(pager, writer(), writer());
    (items, during)
}

#[track_caller]
fn assert_paged_while_creating(
    originals: &[Value],
    items: &[Value],
    during: usize,
    field: &str,
    descending: bool,
) {
    assert!(during > 0, "contacts were created while paging");
    let got = ids(items);
    assert_each_once(&got);
    let returned: HashSet<&String> = got.iter().collect();
    for id in ids(originals) {
        assert!(
            returned.contains(&id),
            "{id}, there from the start, was returned"
        );
    }
    // The whole walk is in strict (field, id) order.
    let keys: Vec<(Ts, String)> = items.iter().map(|c| key(c, field)).collect();
    for pair in keys.windows(2) {
        if descending {
            assert!(pair[0] > pair[1], "out of order: {pair:?}");
        } else {
            assert!(pair[0] < pair[1], "out of order: {pair:?}");
        }
    }
    // The originals come in their order.
    let original_ids: HashSet<String> = ids(originals).into_iter().collect();
    let got_originals: Vec<String> = got
        .iter()
        .filter(|id| original_ids.contains(*id))
        .cloned()
        .collect();
    assert_eq!(got_originals, expected(originals, field, descending));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cursor_paging_ascending_while_contacts_are_added_returns_each_once() {
    let server = TestServer::start().await;
    let created = thousand(&server).await;
    let (items, during) = walk_while_creating(&server, "created_at").await;
    assert_paged_while_creating(&created, &items, during, "created_at", false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cursor_paging_descending_while_contacts_are_added_returns_each_once() {
    let server = TestServer::start().await;
    let created = thousand(&server).await;
    let (items, during) = walk_while_creating(&server, "-created_at").await;
    assert_paged_while_creating(&created, &items, during, "created_at", true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cursor_paging_by_updated_at_while_contacts_are_added_returns_each_once() {
    let server = TestServer::start().await;
    let created = thousand(&server).await;
    let (items, during) = walk_while_creating(&server, "-updated_at").await;
    assert_paged_while_creating(&created, &items, during, "updated_at", true);
}

/// The cursor's JSON with its position `v` replaced, encoded again.
fn with_position(cursor: &str, value: Value) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let mut decoded: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(cursor).unwrap()).unwrap();
    decoded["v"] = value;
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&decoded).unwrap())
}

#[tokio::test]
async fn a_forged_cursor_whose_position_changes_type_is_invalid_input() {
    let server = TestServer::start().await;
    for n in 0..3 {
        server
            .create_contact(json!({"phone": phone(n), "first_name": format!("n{n}")}))
            .await;
    }
    for (sort, forged) in [
        ("full_name", json!(5)),
        ("-full_name", json!(-1)),
        ("created_at", json!("n1")),
        ("-updated_at", json!("")),
        ("last_contacted", json!("x")),
        ("created_at", json!(1.5)),
        ("created_at", json!(null)),
        ("full_name", json!(["n1"])),
    ] {
        let first = list(&server, &format!("limit=1&sort={sort}")).await;
        let cursor = first["next_cursor"].as_str().unwrap();
        let forged = with_position(cursor, forged.clone());
        let resp = server
            .get(&format!("/v2/contact?limit=1&sort={sort}&cursor={forged}"))
            .await;
        crate::utils::assert_invalid(&resp, "cursor");
        // The cursor as answered still works.
        list(&server, &format!("limit=1&sort={sort}&cursor={cursor}")).await;
    }
}
