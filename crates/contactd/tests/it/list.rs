//! A business finds its contacts: `GET /v2/contact` with filters, search, sort and paging,
//! and bad or hostile query strings answered with 400 `invalid_input`, never a 500 or SQL.

use std::time::Duration;

use serde_json::{json, Value};

use crate::utils::{
    assert_contact_shape, assert_error, assert_invalid, assert_list, ids, phone, ts, Resp,
    TestServer,
};

/// Percent-encodes a query-string value: everything but the unreserved characters.
pub(crate) fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `GET /v2/contact?{query}`, asserting 200 and the shape of every item; the whole body.
pub(crate) async fn list(server: &TestServer, query: &str) -> Value {
    list_as(server, &server.key, query).await
}

pub(crate) async fn list_as(server: &TestServer, key: &str, query: &str) -> Value {
    let resp = server.get_as(key, &format!("/v2/contact?{query}")).await;
    assert_no_sql(&resp);
    let body = resp.expect(200);
    let data = body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("?{query}: a list has a `data` array: {body}"));
    for item in data {
        assert_contact_shape(item);
    }
    body
}

/// The ids found by `GET /v2/contact?limit=100&{query}`, in the order answered.
pub(crate) async fn found(server: &TestServer, query: &str) -> Vec<String> {
    let body = list(server, &format!("limit=100&{query}")).await;
    assert!(
        body["has_more"] == json!(false),
        "?{query}: everything fits one page: {body}"
    );
    ids(body["data"].as_array().unwrap())
}

/// Every contact of `GET /v2/contact?limit={limit}&{query}`, following `next_cursor` to
/// the end. Asserts the paging fields of every page on the way.
pub(crate) async fn walk(server: &TestServer, query: &str, limit: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for page in 0.. {
        assert!(page < 10_000, "?{query}: paging never ends");
        let mut q = format!("limit={limit}");
        if !query.is_empty() {
            q.push('&');
            q.push_str(query);
        }
        if let Some(c) = &cursor {
            q.push_str(&format!("&cursor={}", enc(c)));
        }
        let body = list(server, &q).await;
        let data = body["data"].as_array().unwrap().clone();
        assert_eq!(body["limit"].as_u64(), Some(limit as u64), "limit: {body}");
        assert!(data.len() <= limit, "at most `limit` items: {body}");
        if cursor.is_some() {
            assert!(
                body["total"].is_null(),
                "a cursor page has total null: {body}"
            );
            assert!(
                body["offset"].is_null(),
                "a cursor page has offset null: {body}"
            );
        } else {
            assert_eq!(body["offset"].as_u64(), Some(0), "offset: {body}");
            assert!(body["total"].is_u64(), "the first page counts: {body}");
        }
        let has_more = body["has_more"]
            .as_bool()
            .unwrap_or_else(|| panic!("has_more is a boolean: {body}"));
        items.extend(data.iter().cloned());
        if has_more {
            assert_eq!(
                data.len(),
                limit,
                "a page with more after it is full: {body}"
            );
            let next = body["next_cursor"]
                .as_str()
                .unwrap_or_else(|| panic!("has_more, so next_cursor is a string: {body}"));
            cursor = Some(next.to_string());
        } else {
            assert!(
                body["next_cursor"].is_null(),
                "next_cursor is null on the last page: {body}"
            );
            break;
        }
    }
    items
}

/// No SQL, driver or internal text anywhere in a response.
#[track_caller]
pub(crate) fn assert_no_sql(resp: &Resp) {
    let message = resp.body["message"].as_str().unwrap_or("").to_lowercase();
    for leak in [
        "sql", "syntax", "select ", "where ", "postgres", "sqlite", "panicked", ".rs:",
    ] {
        assert!(
            !message.contains(leak),
            "the message leaks internals ({leak}): {}",
            resp.text
        );
    }
    assert_ne!(resp.status, 500, "never a 500: {}", resp.text);
}

fn id_of(contact: &Value) -> String {
    contact["id"].as_str().unwrap().to_string()
}

async fn create_all(server: &TestServer, bodies: Vec<Value>) -> Vec<String> {
    let mut out = Vec::new();
    for body in bodies {
        out.push(id_of(&server.create_contact(body).await));
    }
    out
}

#[tokio::test]
async fn the_list_is_the_tenants_contacts_oldest_first() {
    let server = TestServer::start().await;
    let empty = list(&server, "").await;
    assert_list(&empty, 0, 20, 0, false);
    assert!(empty["next_cursor"].is_null(), "{empty}");

    let mut created = Vec::new();
    for n in 0..3 {
        created.push(
            server
                .create_contact(json!({"phone": phone(n), "metadata": {"n": n}}))
                .await,
        );
    }
    // Another tenant's contacts (other mode, other workspace) never show.
    let other_workspace = server.new_key("globex", "live").await;
    for key in [&server.test_key, &other_workspace] {
        server
            .post_as(key, "/v2/contact", &json!({"phone": phone(0)}))
            .await
            .expect(201);
    }
    let body = server.get("/v2/contact").await.expect(200);
    let data = assert_list(&body, 3, 20, 0, false);
    assert_eq!(data, created, "every contact as GET shows it, oldest first");
    assert!(body["next_cursor"].is_null(), "{body}");
    for key in [&server.test_key, &other_workspace] {
        let theirs = list_as(&server, key, "").await;
        assert_eq!(theirs["total"], 1, "{theirs}");
    }
}

#[tokio::test]
async fn status_and_preferred_channel_filter() {
    let server = TestServer::start().await;
    let made = create_all(
        &server,
        vec![
            json!({"phone": phone(1), "preferred_channel": "whatsapp"}),
            json!({"phone": phone(2), "status": "inactive", "preferred_channel": "sms"}),
            json!({"phone": phone(3)}),
            json!({"email": "d@example.com", "status": "inactive", "preferred_channel": "whatsapp"}),
            json!({"phone": phone(5), "preferred_channel": "instagram"}),
        ],
    )
    .await;
    let pick = |idx: &[usize]| -> Vec<String> { idx.iter().map(|&i| made[i].clone()).collect() };
    for (query, expected) in [
        ("status=active", pick(&[0, 2, 4])),
        ("status=inactive", pick(&[1, 3])),
        ("preferred_channel=whatsapp", pick(&[0, 3])),
        ("preferred_channel=sms", pick(&[1])),
        ("preferred_channel=instagram", pick(&[4])),
        ("preferred_channel=email", pick(&[])),
        ("status=inactive&preferred_channel=whatsapp", pick(&[3])),
        ("status=active&preferred_channel=sms", pick(&[])),
    ] {
        assert_eq!(found(&server, query).await, expected, "?{query}");
    }
    let body = list(&server, "status=active&limit=2").await;
    let data = assert_list(&body, 3, 2, 0, true);
    assert_eq!(ids(&data), pick(&[0, 2]));
}

#[tokio::test]
async fn q_is_a_case_insensitive_prefix_of_names() {
    let server = TestServer::start().await;
    let made = create_all(
        &server,
        vec![
            json!({"phone": "+14155550123", "email": "john.doe@example.com", "first_name": "John", "last_name": "Doe"}),
            json!({"phone": "+442071234567", "email": "apple@example.org", "first_name": "Johnny", "last_name": "Appleseed"}),
            json!({"email": "mj@example.com", "first_name": "Mary", "last_name": "Johnson"}),
            json!({"phone": "+14155559999"}),
            json!({"email": "zed@example.net", "last_name": "Zed"}),
        ],
    )
    .await;
    let pick = |idx: &[usize]| -> Vec<String> { idx.iter().map(|&i| made[i].clone()).collect() };
    for (q, expected) in [
        ("john", pick(&[0, 1, 2])),
        ("JOHN", pick(&[0, 1, 2])),
        ("jOhNnY", pick(&[1])),
        ("john d", pick(&[0])),
        ("JOHN DOE", pick(&[0])),
        ("john doe x", pick(&[])),
        ("doe", pick(&[0])),
        ("mary j", pick(&[2])),
        ("johns", pick(&[2])),
        ("zed", pick(&[4])),
        ("ohn", pick(&[])),
        ("oe", pick(&[])),
        ("nobody", pick(&[])),
    ] {
        assert_eq!(
            found(&server, &format!("q={}", enc(q))).await,
            expected,
            "q={q}"
        );
    }
    // Combined with other filters (AND).
    let body = list(&server, "q=john&limit=1").await;
    let data = assert_list(&body, 3, 1, 0, true);
    assert_eq!(ids(&data), pick(&[0]));
}

#[tokio::test]
async fn q_matches_email_and_phone_prefixes() {
    let server = TestServer::start().await;
    let made = create_all(
        &server,
        vec![
            json!({"phone": "+14155550123", "email": "John.Doe@Example.com", "first_name": "John"}),
            json!({"phone": "+442071234567", "email": "apple@example.org"}),
            json!({"email": "mj@example.com", "first_name": "Mary"}),
            json!({"phone": "+14155559999"}),
        ],
    )
    .await;
    let pick = |idx: &[usize]| -> Vec<String> { idx.iter().map(|&i| made[i].clone()).collect() };
    for (q, expected) in [
        ("john.doe@", pick(&[0])),
        ("JOHN.DOE@EXAMPLE.COM", pick(&[0])),
        ("john.doe@example.com", pick(&[0])),
        ("apple", pick(&[1])),
        ("APPLE@EX", pick(&[1])),
        ("mj@example.com", pick(&[2])),
        ("example", pick(&[])),
        ("+1415", pick(&[0, 3])),
        ("1415", pick(&[0, 3])),
        ("+14155550123", pick(&[0])),
        ("14155550123", pick(&[0])),
        ("+44", pick(&[1])),
        ("4420712", pick(&[1])),
        ("4155550123", pick(&[])),
        ("+4415", pick(&[])),
        ("0123", pick(&[])),
    ] {
        assert_eq!(
            found(&server, &format!("q={}", enc(q))).await,
            expected,
            "q={q}"
        );
    }
    // A literal `+` in a query string is a space; sent as %2B it is the phone's plus.
    assert_eq!(found(&server, "q=%2B1415").await, pick(&[0, 3]));
}

/// Five contacts with varied metadata, in creation order.
async fn metadata_contacts(server: &TestServer) -> Vec<String> {
    create_all(
        server,
        vec![
            json!({"phone": phone(0), "metadata": {
                "plan": "premium", "mrr": 500, "vip": true,
                "preferences": {"language": "en"}, "tags": ["vip", "beta"], "scores": [1, 5]}}),
            json!({"phone": phone(1), "metadata": {
                "plan": "basic", "mrr": "500", "vip": "true",
                "preferences": {"language": "fr"}, "tags": ["beta"]}}),
            json!({"phone": phone(2), "metadata": {
                "plan": "premium", "mrr": 99.5, "vip": false,
                "preferences": {"language": "en", "theme": "dark", "deep": {"er": {"est": "yes"}}},
                "utm-source_x": "ads"}}),
            json!({"phone": phone(3)}),
            json!({"phone": phone(4), "metadata": {"mrr": 1000, "tags": "vip", "plan": "Premium"}}),
        ],
    )
    .await
}

#[tokio::test]
async fn metadata_equals_matches_strings_numbers_booleans_nested_paths_and_arrays() {
    let server = TestServer::start().await;
    let made = metadata_contacts(&server).await;
    let pick = |idx: &[usize]| -> Vec<String> { idx.iter().map(|&i| made[i].clone()).collect() };
    for (query, expected) in [
        ("metadata.plan=premium", pick(&[0, 2])),
        ("metadata.plan[eq]=premium", pick(&[0, 2])),
        ("metadata.plan=basic", pick(&[1])),
        ("metadata.plan=gold", pick(&[])),
        // A number, and the string of the same text.
        ("metadata.mrr=500", pick(&[0, 1])),
        ("metadata.mrr=99.5", pick(&[2])),
        ("metadata.mrr=1000", pick(&[4])),
        // A boolean, and the string of the same text.
        ("metadata.vip=true", pick(&[0, 1])),
        ("metadata.vip=false", pick(&[2])),
        // Nested paths.
        ("metadata.preferences.language=en", pick(&[0, 2])),
        ("metadata.preferences.language=fr", pick(&[1])),
        ("metadata.preferences.theme=dark", pick(&[2])),
        ("metadata.preferences.deep.er.est=yes", pick(&[2])),
        ("metadata.preferences.language.x=en", pick(&[])),
        // An array contains the value (and a plain string equals it).
        ("metadata.tags=vip", pick(&[0, 4])),
        ("metadata.tags=beta", pick(&[0, 1])),
        ("metadata.scores=5", pick(&[0])),
        ("metadata.scores=2", pick(&[])),
        // Keys may hold `-` and `_`.
        ("metadata.utm-source_x=ads", pick(&[2])),
        ("metadata.missing=x", pick(&[])),
        // Filters combine with AND.
        (
            "metadata.plan=premium&metadata.preferences.language=en&metadata.vip=true",
            pick(&[0]),
        ),
        ("metadata.plan=premium&metadata.tags=beta", pick(&[0])),
    ] {
        assert_eq!(found(&server, query).await, expected, "?{query}");
    }
}

#[tokio::test]
async fn metadata_operators_ne_exists_and_comparisons() {
    let server = TestServer::start().await;
    let made = metadata_contacts(&server).await;
    let pick = |idx: &[usize]| -> Vec<String> { idx.iter().map(|&i| made[i].clone()).collect() };
    for (query, expected) in [
        // ne: absent or not equal.
        ("metadata.plan[ne]=premium", pick(&[1, 3, 4])),
        ("metadata.plan[ne]=gold", pick(&[0, 1, 2, 3, 4])),
        ("metadata.preferences.language[ne]=en", pick(&[1, 3, 4])),
        // exists.
        ("metadata.preferences.theme[exists]=true", pick(&[2])),
        (
            "metadata.preferences.theme[exists]=false",
            pick(&[0, 1, 3, 4]),
        ),
        ("metadata.preferences[exists]=true", pick(&[0, 1, 2])),
        ("metadata.preferences[exists]=false", pick(&[3, 4])),
        ("metadata.tags[exists]=true", pick(&[0, 1, 4])),
        ("metadata.nothing[exists]=true", pick(&[])),
        ("metadata.nothing[exists]=false", pick(&[0, 1, 2, 3, 4])),
        // Numeric comparisons: only numbers compare (the string "500" is not a number).
        ("metadata.mrr[gt]=500", pick(&[4])),
        ("metadata.mrr[gte]=500", pick(&[0, 4])),
        ("metadata.mrr[lt]=500", pick(&[2])),
        ("metadata.mrr[lte]=500", pick(&[0, 2])),
        ("metadata.mrr[lte]=99.5", pick(&[2])),
        ("metadata.mrr[lt]=99.5", pick(&[])),
        ("metadata.mrr[gt]=99.4", pick(&[0, 2, 4])),
        ("metadata.mrr[gt]=-1", pick(&[0, 2, 4])),
        ("metadata.mrr[gte]=1e3", pick(&[4])),
        ("metadata.mrr[gt]=100&metadata.mrr[lt]=1000", pick(&[0])),
        ("metadata.nothing[gt]=0", pick(&[])),
        // Combined with other filters.
        ("metadata.plan=premium&metadata.mrr[gt]=100", pick(&[0])),
        (
            "metadata.plan[ne]=premium&metadata.mrr[exists]=true",
            pick(&[1, 4]),
        ),
    ] {
        assert_eq!(found(&server, query).await, expected, "?{query}");
    }
}

#[tokio::test]
async fn created_and_updated_time_filters_are_exclusive_bounds() {
    let server = TestServer::start().await;
    let mut contacts = Vec::new();
    for n in 0..3 {
        contacts.push(server.create_contact(json!({"phone": phone(n)})).await);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let [a, b, c] = [&contacts[0], &contacts[1], &contacts[2]];
    let t = |v: &Value, f: &str| enc(v[f].as_str().unwrap());
    let (ia, ib, ic) = (id_of(a), id_of(b), id_of(c));
    for (query, expected) in [
        (
            format!("created_after={}", t(a, "created_at")),
            vec![ib.clone(), ic.clone()],
        ),
        (format!("created_after={}", t(c, "created_at")), vec![]),
        (
            format!("created_before={}", t(c, "created_at")),
            vec![ia.clone(), ib.clone()],
        ),
        (format!("created_before={}", t(a, "created_at")), vec![]),
        (
            format!(
                "created_after={}&created_before={}",
                t(a, "created_at"),
                t(c, "created_at")
            ),
            vec![ib.clone()],
        ),
        (
            "created_after=2000-01-01T00:00:00Z".to_string(),
            vec![ia.clone(), ib.clone(), ic.clone()],
        ),
        ("created_before=2000-01-01T00:00:00Z".to_string(), vec![]),
        ("created_after=2999-01-01T00:00:00Z".to_string(), vec![]),
        // RFC 3339 with an offset (the `+` sent as %2B).
        (
            "created_after=2000-01-01T02:00:00%2B02:00".to_string(),
            vec![ia.clone(), ib.clone(), ic.clone()],
        ),
        (
            "created_before=2999-01-01T00:00:00.5%2B02:00".to_string(),
            vec![ia.clone(), ib.clone(), ic.clone()],
        ),
        (
            format!("updated_after={}", t(a, "updated_at")),
            vec![ib.clone(), ic.clone()],
        ),
    ] {
        assert_eq!(found(&server, &query).await, expected, "?{query}");
    }
    // An update moves updated_at, not created_at.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let a2 = server
        .update_contact(&ia, json!({"first_name": "Changed"}))
        .await;
    for (query, expected) in [
        (
            format!("updated_after={}", t(c, "updated_at")),
            vec![ia.clone()],
        ),
        (format!("updated_after={}", t(&a2, "updated_at")), vec![]),
        (
            format!("created_after={}", t(a, "created_at")),
            vec![ib.clone(), ic.clone()],
        ),
        (
            format!(
                "updated_after={}&created_before={}",
                t(b, "updated_at"),
                t(b, "created_at")
            ),
            vec![ia.clone()],
        ),
    ] {
        assert_eq!(found(&server, &query).await, expected, "?{query}");
    }
}

/// The ids in the order of `(key, id)`, `key` ascending with `None` after every value.
fn order_by<K: Ord + Clone>(items: &[(Option<K>, String)], descending: bool) -> Vec<String> {
    let mut sorted = items.to_vec();
    sorted.sort_by(|(ka, ia), (kb, ib)| {
        let by_key = match (ka, kb) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        };
        by_key.then_with(|| ia.cmp(ib))
    });
    if descending {
        sorted.reverse();
    }
    sorted.into_iter().map(|(_, id)| id).collect()
}

/// One page of 100 and cursor pages of 2 give `expected`, for `sort`.
async fn assert_sorted(server: &TestServer, sort: &str, expected: &[String]) {
    let one_page = found(server, &format!("sort={sort}")).await;
    assert_eq!(one_page, expected, "sort={sort}, one page");
    let walked = ids(&walk(server, &format!("sort={sort}"), 2).await);
    assert_eq!(walked, expected, "sort={sort}, cursor pages of 2");
    let mut offset_pages = Vec::new();
    for offset in (0..expected.len()).step_by(3) {
        let body = list(server, &format!("sort={sort}&limit=3&offset={offset}")).await;
        offset_pages.extend(ids(body["data"].as_array().unwrap()));
    }
    assert_eq!(offset_pages, expected, "sort={sort}, offset pages of 3");
}

#[tokio::test]
async fn sort_by_created_at_and_updated_at_both_ways() {
    let server = TestServer::start().await;
    let mut ids_made = Vec::new();
    for n in 0..6 {
        ids_made.push(id_of(
            &server.create_contact(json!({"phone": phone(n)})).await,
        ));
    }
    tokio::time::sleep(Duration::from_millis(2)).await;
    server
        .update_contact(&ids_made[2], json!({"first_name": "x"}))
        .await;
    tokio::time::sleep(Duration::from_millis(2)).await;
    server
        .update_contact(&ids_made[0], json!({"first_name": "y"}))
        .await;
    let i = |n: usize| ids_made[n].clone();
    let by_created = ids_made.clone();
    let mut by_created_desc = by_created.clone();
    by_created_desc.reverse();
    assert_eq!(
        found(&server, "").await,
        by_created,
        "the default order is created_at"
    );
    assert_sorted(&server, "created_at", &by_created).await;
    assert_sorted(&server, "-created_at", &by_created_desc).await;
    let by_updated = vec![i(1), i(3), i(4), i(5), i(2), i(0)];
    let mut by_updated_desc = by_updated.clone();
    by_updated_desc.reverse();
    assert_sorted(&server, "updated_at", &by_updated).await;
    assert_sorted(&server, "-updated_at", &by_updated_desc).await;
}

#[tokio::test]
async fn batch_created_contacts_sort_by_time_then_id_both_ways() {
    let server = TestServer::start().await;
    // Contacts made in one batch: (time, id) order, ties (if any) by id in the sort's direction.
    let batch = server
        .post(
            "/v2/contact/batch",
            &json!({"mode": "create", "contacts": (0..12).map(|n| json!({"phone": phone(n)})).collect::<Vec<_>>()}),
        )
        .await;
    assert_eq!(batch.status, 200, "{}", batch.text);
    server.create_contact(json!({"phone": phone(20)})).await;
    let all = list(&server, "limit=100").await;
    let data = all["data"].as_array().unwrap().clone();
    assert_eq!(data.len(), 13);
    let created: Vec<(Option<_>, String)> = data
        .iter()
        .map(|c| (Some(ts(&c["created_at"])), id_of(c)))
        .collect();
    let updated: Vec<(Option<_>, String)> = data
        .iter()
        .map(|c| (Some(ts(&c["updated_at"])), id_of(c)))
        .collect();
    assert_eq!(
        ids(&data),
        order_by(&created, false),
        "the default order is (created_at, id)"
    );
    assert_sorted(&server, "created_at", &order_by(&created, false)).await;
    assert_sorted(&server, "-created_at", &order_by(&created, true)).await;
    assert_sorted(&server, "updated_at", &order_by(&updated, false)).await;
    assert_sorted(&server, "-updated_at", &order_by(&updated, true)).await;
}

#[tokio::test]
async fn sort_by_last_contacted_puts_nulls_last_ascending_and_first_descending() {
    let server = TestServer::start().await;
    let mut ids_made = Vec::new();
    for n in 0..6 {
        ids_made.push(id_of(
            &server.create_contact(json!({"phone": phone(n)})).await,
        ));
    }
    let c1 = server.create_conversation(&ids_made[1], "sms").await;
    let c3 = server.create_conversation(&ids_made[3], "sms").await;
    let c4 = server.create_conversation(&ids_made[4], "sms").await;
    let c5 = server.create_conversation(&ids_made[5], "sms").await;
    server
        .post_message(c3["id"].as_str().unwrap(), "outbound", "first")
        .await;
    tokio::time::sleep(Duration::from_millis(2)).await;
    server
        .post_message(c1["id"].as_str().unwrap(), "outbound", "second")
        .await;
    tokio::time::sleep(Duration::from_millis(2)).await;
    server
        .post_message(c5["id"].as_str().unwrap(), "outbound", "third")
        .await;
    // Inbound messages do not set last_contacted.
    server
        .post_message(c4["id"].as_str().unwrap(), "inbound", "hello")
        .await;
    let i = |n: usize| ids_made[n].clone();
    let ascending = vec![i(3), i(1), i(5), i(0), i(2), i(4)];
    let descending = vec![i(4), i(2), i(0), i(5), i(1), i(3)];
    assert_sorted(&server, "last_contacted", &ascending).await;
    assert_sorted(&server, "-last_contacted", &descending).await;
}

#[tokio::test]
async fn sort_by_full_name_is_case_insensitive_with_nulls_and_id_ties() {
    let server = TestServer::start().await;
    let ids_made = create_all(
        &server,
        vec![
            json!({"phone": phone(0), "first_name": "Bob"}),
            json!({"phone": phone(1), "first_name": "Carol", "last_name": "Jones"}),
            json!({"phone": phone(2)}),
            json!({"phone": phone(3), "first_name": "alice", "last_name": "Smith"}),
            json!({"phone": phone(4), "first_name": "bob"}),
            json!({"phone": phone(5), "last_name": "dave"}),
            json!({"email": "nameless@example.com"}),
            json!({"phone": phone(7), "first_name": "Eve"}),
        ],
    )
    .await;
    let i = |n: usize| ids_made[n].clone();
    // alice smith < bob = bob (by id) < carol jones < dave < eve < (no name, by id).
    let ascending = vec![i(3), i(0), i(4), i(1), i(5), i(7), i(2), i(6)];
    let mut descending = ascending.clone();
    descending.reverse();
    assert_sorted(&server, "full_name", &ascending).await;
    assert_sorted(&server, "-full_name", &descending).await;
}

#[tokio::test]
async fn offset_paging_reports_total_has_more_and_next_cursor() {
    let server = TestServer::start().await;
    let mut all = Vec::new();
    for n in 0..25 {
        let status = if n % 5 == 0 { "inactive" } else { "active" };
        all.push(id_of(
            &server
                .create_contact(json!({"phone": phone(n), "status": status}))
                .await,
        ));
    }
    for (query, total, limit, offset, has_more, range) in [
        ("limit=10&offset=0", 25, 10, 0, true, 0..10),
        ("limit=10&offset=10", 25, 10, 10, true, 10..20),
        ("limit=10&offset=20", 25, 10, 20, false, 20..25),
        ("limit=10&offset=25", 25, 10, 25, false, 25..25),
        ("limit=10&offset=100", 25, 10, 100, false, 25..25),
        ("limit=10&offset=15", 25, 10, 15, false, 15..25),
        ("limit=10&offset=14", 25, 10, 14, true, 14..24),
        ("limit=25", 25, 25, 0, false, 0..25),
        ("limit=24", 25, 24, 0, true, 0..24),
        ("limit=100", 25, 100, 0, false, 0..25),
        ("limit=1", 25, 1, 0, true, 0..1),
        ("", 25, 20, 0, true, 0..20),
        ("offset=5", 25, 20, 5, false, 5..25),
    ] {
        let body = list(&server, query).await;
        let data = assert_list(&body, total, limit, offset, has_more);
        assert_eq!(ids(&data), all[range].to_vec(), "?{query}");
        if has_more {
            assert!(body["next_cursor"].is_string(), "?{query}: {body}");
        } else {
            assert!(body["next_cursor"].is_null(), "?{query}: {body}");
        }
    }
    // total counts the matches of the filters, not the tenant.
    let body = list(&server, "status=inactive&limit=2&offset=2").await;
    let data = assert_list(&body, 5, 2, 2, true);
    assert_eq!(ids(&data), vec![all[10].clone(), all[15].clone()]);
    // The next_cursor of an offset page continues after its last item.
    let first = list(&server, "limit=10&offset=10").await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let next = list(&server, &format!("limit=10&cursor={}", enc(cursor))).await;
    assert_eq!(ids(next["data"].as_array().unwrap()), all[20..25].to_vec());
    assert!(
        next["total"].is_null() && next["offset"].is_null(),
        "{next}"
    );
    assert_eq!(next["has_more"], false, "{next}");
    assert!(next["next_cursor"].is_null(), "{next}");
    // Cursor pages with a filter.
    let walked = ids(&walk(&server, "status=active", 3).await);
    let active: Vec<String> = all
        .iter()
        .enumerate()
        .filter(|(n, _)| n % 5 != 0)
        .map(|(_, id)| id.clone())
        .collect();
    assert_eq!(walked, active);
}

#[tokio::test]
async fn a_cursor_may_change_the_limit_but_not_the_filters_or_sort() {
    let server = TestServer::start().await;
    let mut all = Vec::new();
    for n in 0..6 {
        all.push(id_of(
            &server
                .create_contact(json!({"phone": phone(n), "first_name": "Ann"}))
                .await,
        ));
    }
    let first = list(&server, "limit=2&q=ann").await;
    let cursor = enc(first["next_cursor"].as_str().unwrap());
    let next = list(&server, &format!("limit=3&q=ann&cursor={cursor}")).await;
    assert_eq!(ids(next["data"].as_array().unwrap()), all[2..5].to_vec());
    for other in [
        format!("limit=2&cursor={cursor}"),
        format!("limit=2&q=an&cursor={cursor}"),
        format!("limit=2&q=ann&status=active&cursor={cursor}"),
        format!("limit=2&q=ann&sort=-created_at&cursor={cursor}"),
        format!("limit=2&q=ann&sort=updated_at&cursor={cursor}"),
        format!("limit=2&q=ann&metadata.a=b&cursor={cursor}"),
    ] {
        let resp = server.get(&format!("/v2/contact?{other}")).await;
        assert_invalid(&resp, "cursor");
        assert_no_sql(&resp);
    }
}

#[tokio::test]
async fn bad_parameters_are_invalid_input_naming_the_parameter() {
    let server = TestServer::start().await;
    for n in 0..3 {
        server.create_contact(json!({"phone": phone(n)})).await;
    }
    let first = list(&server, "limit=1").await;
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let half = enc(&cursor[..cursor.len() / 2]);
    let cursor = enc(&cursor);
    let long_q = "a".repeat(101);
    let long_path = (0..11)
        .map(|n| format!("k{n}"))
        .collect::<Vec<_>>()
        .join(".");
    let not_a_cursor = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"hello":"world"}"#)
    };
    let long_field = format!("metadata.{long_path}");
    let cases: Vec<(String, &str)> = vec![
        ("foo=1".into(), "foo"),
        ("Status=active".into(), "Status"),
        ("metadata=x".into(), "metadata"),
        // The bracket form is a filter (search.rs); a malformed one names itself.
        ("metadata%5Bplan=x".into(), "metadata[plan"),
        (
            "metadata%5Bplan%5D%5Bregex%5D=x".into(),
            "metadata[plan][regex]",
        ),
        ("metadata[plan][gt]=abc".into(), "metadata[plan][gt]"),
        ("sort=name".into(), "sort"),
        ("sort=phone".into(), "sort"),
        ("sort=-email".into(), "sort"),
        ("sort=".into(), "sort"),
        ("sort=-".into(), "sort"),
        ("sort=--created_at".into(), "sort"),
        ("sort=CREATED_AT".into(), "sort"),
        ("sort=created_at%3BDROP%20TABLE%20contacts".into(), "sort"),
        ("status=deleted".into(), "status"),
        ("status=".into(), "status"),
        ("status=active'%20OR%20'1'%3D'1".into(), "status"),
        ("preferred_channel=fax".into(), "preferred_channel"),
        ("q=".into(), "q"),
        (format!("q={long_q}"), "q"),
        ("metadata.plan%5Bregex%5D=x".into(), "metadata.plan[regex]"),
        ("metadata.plan[regex]=x".into(), "metadata.plan[regex]"),
        ("metadata.plan[]=x".into(), "metadata.plan[]"),
        ("metadata.plan[gt=5".into(), "metadata.plan[gt"),
        ("metadata.=x".into(), "metadata."),
        ("metadata.a..b=x".into(), "metadata.a..b"),
        ("metadata.a.=x".into(), "metadata.a."),
        ("metadata..a=x".into(), "metadata..a"),
        ("metadata.a%20b=x".into(), "metadata.a b"),
        ("metadata.a'b=x".into(), "metadata.a'b"),
        ("metadata.a%22b=x".into(), "metadata.a\"b"),
        (format!("metadata.{long_path}=x"), long_field.as_str()),
        ("metadata.mrr[gt]=abc".into(), "metadata.mrr[gt]"),
        ("metadata.mrr[gte]=".into(), "metadata.mrr[gte]"),
        (
            "metadata.mrr[lt]=1%3B%20DROP%20TABLE%20contacts".into(),
            "metadata.mrr[lt]",
        ),
        ("metadata.mrr[lte]=NaN".into(), "metadata.mrr[lte]"),
        ("metadata.x[exists]=yes".into(), "metadata.x[exists]"),
        ("created_after=yesterday".into(), "created_after"),
        ("created_after=".into(), "created_after"),
        (
            "created_before=2026-13-01T00:00:00Z".into(),
            "created_before",
        ),
        ("created_before=2026-01-25".into(), "created_before"),
        (
            "updated_after=2026-01-25%2010:30:00".into(),
            "updated_after",
        ),
        ("updated_after=1769337000".into(), "updated_after"),
        ("limit=0".into(), "limit"),
        ("limit=101".into(), "limit"),
        ("limit=abc".into(), "limit"),
        ("limit=-1".into(), "limit"),
        ("limit=".into(), "limit"),
        ("offset=-1".into(), "offset"),
        ("offset=abc".into(), "offset"),
        ("cursor=!!!".into(), "cursor"),
        ("cursor=abc".into(), "cursor"),
        ("cursor=".into(), "cursor"),
        (format!("cursor={half}"), "cursor"),
        (format!("cursor={not_a_cursor}"), "cursor"),
        (
            "cursor=%27%3B%20DROP%20TABLE%20contacts%3B%20--".into(),
            "cursor",
        ),
    ];
    for (query, field) in &cases {
        let resp = server.get(&format!("/v2/contact?{query}")).await;
        assert_no_sql(&resp);
        assert_invalid(&resp, field);
    }
    // offset and cursor together: one of the two is named.
    let resp = server
        .get(&format!("/v2/contact?limit=1&offset=0&cursor={cursor}"))
        .await;
    let details = assert_error(&resp, 400, "invalid_input");
    assert!(
        details["field"] == "cursor" || details["field"] == "offset",
        "names cursor or offset: {}",
        resp.text
    );
    // The valid cursor itself works, and nothing was harmed.
    let next = list(&server, &format!("limit=1&cursor={cursor}")).await;
    assert_eq!(next["data"].as_array().unwrap().len(), 1);
    assert_eq!(list(&server, "").await["total"], 3);
}

#[tokio::test]
async fn filter_values_match_literally_never_as_patterns_or_sql() {
    let server = TestServer::start().await;
    let drop = "'; DROP TABLE contacts; --";
    let ids_made = create_all(
        &server,
        vec![
            json!({"phone": phone(0), "first_name": "%Percy", "metadata": {
                "code": "50%_off'\"", "note": "back\\slash", "q": drop}}),
            json!({"phone": phone(1), "first_name": "_under", "metadata": {"code": "50XYoff'\""}}),
            json!({"phone": phone(2), "first_name": "O'Brien", "last_name": "D\"Quote"}),
            json!({"phone": phone(3), "first_name": "\\back", "metadata": {"note": "backXslash"}}),
            json!({"phone": phone(4), "first_name": drop}),
            json!({"phone": phone(5), "first_name": "John", "email": "j_hn%x@example.com"}),
            json!({"phone": phone(6), "first_name": "Backslash"}),
        ],
    )
    .await;
    let pick =
        |idx: &[usize]| -> Vec<String> { idx.iter().map(|&i| ids_made[i].clone()).collect() };
    for (q, expected) in [
        // q matches words of the names (runs of letters and digits, so punctuation only
        // separates them) or literally the start of the email or the phone.
        ("%", pick(&[])),
        ("%p", pick(&[0])),
        ("%%", pick(&[])),
        ("_", pick(&[])),
        ("_u", pick(&[1])),
        ("j_hn", pick(&[5])), // the email, literally, not John
        ("j_hn%", pick(&[5])),
        ("j_hn%x@", pick(&[5])),
        ("jo_n", pick(&[])),
        ("%ohn", pick(&[])),
        ("o'", pick(&[2])),
        ("O'BRIEN D\"", pick(&[2])),
        ("o''", pick(&[2])),
        ("\\", pick(&[])),
        ("\\b", pick(&[2, 3, 6])),
        ("\\%", pick(&[])),
        ("\\_", pick(&[])),
        ("\\\\", pick(&[])),
        (drop, pick(&[4])),
        ("'", pick(&[])),
        ("\"", pick(&[])),
        ("' OR '1'='1", pick(&[])),
        ("*", pick(&[])),
        ("?", pick(&[])),
        ("[a-z]", pick(&[])),
        (".", pick(&[])),
    ] {
        assert_eq!(
            found(&server, &format!("q={}", enc(q))).await,
            expected,
            "q={q}"
        );
    }
    for (path, value, expected) in [
        ("code", "50%_off'\"", pick(&[0])),
        ("code", "50%", pick(&[])),
        ("code", "50%_off%", pick(&[])),
        ("code", "50__off'\"", pick(&[])),
        ("code", "50XYoff'\"", pick(&[1])),
        ("note", "back\\slash", pick(&[0])),
        ("note", "back_slash", pick(&[])),
        ("note", "back%", pick(&[])),
        ("q", drop, pick(&[0])),
        ("q", "'", pick(&[])),
        ("q", "' OR '1'='1", pick(&[])),
    ] {
        let query = format!("metadata.{path}={}", enc(value));
        assert_eq!(found(&server, &query).await, expected, "?{query}");
        let query = format!("metadata.{path}[eq]={}", enc(value));
        assert_eq!(found(&server, &query).await, expected, "?{query}");
    }
    let query = format!("metadata.code[ne]={}", enc("50%_off'\""));
    assert_eq!(
        found(&server, &query).await,
        pick(&[1, 2, 3, 4, 5, 6]),
        "?{query}"
    );
    let query = format!("metadata.code[gt]={}", enc(drop));
    let resp = server.get(&format!("/v2/contact?{query}")).await;
    assert_no_sql(&resp);
    assert_invalid(&resp, "metadata.code[gt]");
    // The table is still there, whole, and writable.
    assert_eq!(list(&server, "").await["total"], 7);
    server.create_contact(json!({"phone": phone(9)})).await;
    assert_eq!(list(&server, "").await["total"], 8);
}
