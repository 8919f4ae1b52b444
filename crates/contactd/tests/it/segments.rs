//! A marketer saves "all premium customers in Germany" as a segment (contract §6): it keeps
//! the list's filter, counts its contacts live and exactly, and pages through them.

use serde_json::{json, Value};

use crate::utils::{assert_error, assert_invalid, ids, phone, TestServer};

async fn premium_de(server: &TestServer) -> Vec<String> {
    let mut premium_de = Vec::new();
    for i in 0..12 {
        let plan = if i % 2 == 0 { "premium" } else { "basic" };
        let country = if i % 3 == 0 { "DE" } else { "FR" };
        let c = server
            .create_contact(json!({"phone": phone(i), "first_name": "Ada",
                                   "metadata": {"plan": plan, "country": country}}))
            .await;
        if plan == "premium" && country == "DE" {
            premium_de.push(c["id"].as_str().unwrap().to_owned());
        }
    }
    premium_de
}

fn assert_segment_shape(s: &Value) {
    let keys: Vec<&str> = s.as_object().unwrap().keys().map(String::as_str).collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        ["count", "created_at", "filter", "id", "name", "updated_at"],
        "{s}"
    );
    assert!(s["id"].as_str().unwrap().starts_with("seg_"), "{s}");
}

#[tokio::test]
async fn a_segment_counts_and_lists_its_contacts_live() {
    let server = TestServer::start().await;
    let expected = premium_de(&server).await;
    let filter = json!({"metadata.plan": "premium", "metadata.country": "DE", "status": "active"});
    let created = server
        .post(
            "/v2/segment",
            &json!({"name": "Premium DE", "filter": filter}),
        )
        .await
        .expect(201);
    assert_segment_shape(&created);
    assert_eq!(created["name"], "Premium DE");
    assert_eq!(created["filter"], filter);
    assert_eq!(created["count"], expected.len());
    let id = created["id"].as_str().unwrap();

    let read = server.get(&format!("/v2/segment/{id}")).await.expect(200);
    assert_eq!(read, created);
    let page = server
        .get(&format!("/v2/segment/{id}/contacts?limit=100"))
        .await
        .expect(200);
    assert_eq!(ids(page["data"].as_array().unwrap()), expected);
    assert_eq!(page["total"], expected.len());

    // Walk it by cursor, two at a time, with and without totals.
    let mut walked = Vec::new();
    let mut path = format!("/v2/segment/{id}/contacts?limit=2&include_total=false");
    loop {
        let page = server.get(&path).await.expect(200);
        walked.extend(ids(page["data"].as_array().unwrap()));
        match page["next_cursor"].as_str() {
            Some(c) => {
                path = format!("/v2/segment/{id}/contacts?limit=2&cursor={c}&include_total=true")
            }
            None => break,
        }
    }
    assert_eq!(walked, expected);

    // The count follows writes at once.
    let joined = server
        .create_contact(
            json!({"phone": phone(50), "metadata": {"plan": "premium", "country": "DE"}}),
        )
        .await;
    let read = server.get(&format!("/v2/segment/{id}")).await.expect(200);
    assert_eq!(read["count"], expected.len() + 1);
    server
        .update_contact(
            joined["id"].as_str().unwrap(),
            json!({"status": "inactive"}),
        )
        .await;
    assert_eq!(
        server.get(&format!("/v2/segment/{id}")).await.expect(200)["count"],
        expected.len()
    );

    // Rename, then change the filter.
    let renamed = server
        .put(
            &format!("/v2/segment/{id}"),
            &json!({"name": "Premium Germany"}),
        )
        .await
        .expect(200);
    assert_eq!(renamed["name"], "Premium Germany");
    assert_eq!(renamed["filter"], filter);
    assert!(renamed["updated_at"].as_str() > created["updated_at"].as_str());
    let all_premium = server
        .put(
            &format!("/v2/segment/{id}"),
            &json!({"filter": {"metadata.plan": "premium"}}),
        )
        .await
        .expect(200);
    assert_eq!(all_premium["count"], 7);
    assert_eq!(all_premium["name"], "Premium Germany");

    let listed = server.get("/v2/segment").await.expect(200);
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["data"][0], all_premium);

    let deleted = server
        .delete(&format!("/v2/segment/{id}"))
        .await
        .expect(200);
    assert_eq!(deleted["id"], id);
    assert_error(
        &server.get(&format!("/v2/segment/{id}")).await,
        404,
        "not_found",
    );
    assert_error(
        &server.get(&format!("/v2/segment/{id}/contacts")).await,
        404,
        "not_found",
    );
    assert_eq!(server.get("/v2/segment").await.expect(200)["total"], 0);
    // Its contacts stay.
    assert_eq!(
        server.get("/v2/contact/count").await.expect(200)["total"],
        13
    );
}

#[tokio::test]
async fn bad_segments_are_refused_and_change_nothing() {
    let server = TestServer::start().await;
    for (body, field) in [
        (json!({"filter": {}}), "name"),
        (json!({"name": "x"}), "filter"),
        (
            json!({"name": "x", "filter": {"status": "gone"}}),
            "filter.status",
        ),
        (
            json!({"name": "x", "filter": {"metadata.plan[regex]": "p.*"}}),
            "filter.metadata.plan[regex]",
        ),
        (
            json!({"name": "x", "filter": {"metadata.score[gt]": 5}}),
            "filter.metadata.score[gt]",
        ),
        (
            json!({"name": "x", "filter": {"cursor": "abc"}}),
            "filter.cursor",
        ),
        (
            json!({"name": "x", "filter": {"bogus": "1"}}),
            "filter.bogus",
        ),
        (json!({"name": "x", "filter": "status=active"}), "filter"),
        (json!({"name": "", "filter": {}}), "name"),
        (json!({"name": "x", "filter": {}, "count": 3}), "count"),
        (json!({"name": "x", "filter": {}, "id": "seg_1"}), "id"),
    ] {
        assert_invalid(&server.post("/v2/segment", &body).await, field);
    }
    let many: serde_json::Map<String, Value> = (0..21)
        .map(|i| (format!("metadata.k{i}"), json!("v")))
        .collect();
    assert_invalid(
        &server
            .post("/v2/segment", &json!({"name": "x", "filter": many}))
            .await,
        "filter",
    );
    assert_eq!(server.get("/v2/segment").await.expect(200)["total"], 0);

    let s = server
        .post(
            "/v2/segment",
            &json!({"name": "ok", "filter": {"q": "ada"}}),
        )
        .await
        .expect(201);
    let path = format!("/v2/segment/{}", s["id"].as_str().unwrap());
    assert_invalid(
        &server.put(&path, &json!({"filter": {"limit": "5"}})).await,
        "filter.limit",
    );
    assert_invalid(&server.put(&path, &json!({"name": null})).await, "name");
    assert_eq!(server.get(&path).await.expect(200), s);
    assert_invalid(
        &server
            .get(&format!("{path}/contacts?metadata.plan=x"))
            .await,
        "metadata.plan",
    );
    assert_invalid(
        &server.get(&format!("{path}/contacts?limit=0")).await,
        "limit",
    );
    assert_invalid(&server.get("/v2/segment/premium").await, "id");
    assert_error(
        &server.get("/v2/segment/seg_doesnotexist0000").await,
        404,
        "not_found",
    );
}

#[tokio::test]
async fn segments_belong_to_their_tenant() {
    let server = TestServer::start().await;
    premium_de(&server).await;
    let s = server
        .post(
            "/v2/segment",
            &json!({"name": "Premium", "filter": {"metadata.plan": "premium"}}),
        )
        .await
        .expect(201);
    assert_eq!(s["count"], 6);
    let path = format!("/v2/segment/{}", s["id"].as_str().unwrap());
    let other = server.new_key("globex", "live").await;
    for resp in [
        server.get_as(&other, &path).await,
        server.get_as(&other, &format!("{path}/contacts")).await,
        server.put_as(&other, &path, &json!({"name": "mine"})).await,
        server.delete_as(&other, &path).await,
        server.get_as(&server.test_key, &path).await,
    ] {
        assert_error(&resp, 404, "not_found");
    }
    assert_eq!(
        server.get_as(&other, "/v2/segment").await.expect(200)["total"],
        0
    );
    // The same filter in another tenant counts that tenant's contacts only.
    let theirs = server
        .post_as(
            &other,
            "/v2/segment",
            &json!({"name": "Premium", "filter": {"metadata.plan": "premium"}}),
        )
        .await
        .expect(201);
    assert_eq!(theirs["count"], 0);
    assert_eq!(server.get(&path).await.expect(200)["name"], "Premium");
}
