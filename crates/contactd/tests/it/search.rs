//! A business searches its contacts the way people type (contract §6): accents and case
//! do not matter, words can come in any order, counts are exact and lag-free, a list can
//! skip its total, and at most 20 filters combine.

use serde_json::json;

use crate::list::{enc, found};
use crate::utils::{assert_invalid, phone, TestServer};

async fn create(server: &TestServer, body: serde_json::Value) -> String {
    server.create_contact(body).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn count(server: &TestServer, query: &str) -> u64 {
    server
        .get(&format!("/v2/contact/count?{query}"))
        .await
        .expect(200)["total"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn q_ignores_accents_case_and_word_order() {
    let server = TestServer::start().await;
    let jose = create(
        &server,
        json!({"phone": phone(1), "first_name": "José", "last_name": "Núñez"}),
    )
    .await;
    let zoe = create(
        &server,
        json!({"phone": phone(2), "first_name": "Zoë", "last_name": "Müller-Lüdenscheidt"}),
    )
    .await;
    let ada = create(
        &server,
        json!({"phone": phone(3), "first_name": "Ada", "last_name": "Lovelace",
                                      "email": "countess@Example.com"}),
    )
    .await;
    let strasse = create(&server, json!({"phone": phone(4), "first_name": "Straße"})).await;
    for (q, expected) in [
        ("jose", vec![&jose]),
        ("JOSÉ", vec![&jose]),
        ("nunez jo", vec![&jose]),
        ("zoe", vec![&zoe]),
        ("zoë müller", vec![&zoe]),
        ("lud", vec![&zoe]),
        ("muller-lud", vec![&zoe]),
        ("ada lov", vec![&ada]),
        ("lovelace ada", vec![&ada]),
        ("LOVE", vec![&ada]),
        ("ada x", vec![]),
        ("ovelace", vec![]),
        ("strasse", vec![&strasse]),
        ("countess@ex", vec![&ada]),
        ("COUNTESS", vec![&ada]),
        ("example.com", vec![]),
        ("1415", vec![&jose, &zoe, &ada, &strasse]),
        ("+1415", vec![&jose, &zoe, &ada, &strasse]),
    ] {
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        assert_eq!(
            found(&server, &format!("q={}", enc(q))).await,
            expected,
            "q={q}"
        );
        assert_eq!(
            count(&server, &format!("q={}", enc(q))).await,
            expected.len() as u64,
            "q={q}"
        );
    }
}

#[tokio::test]
async fn matches_follow_every_write_at_once() {
    let server = TestServer::start().await;
    let id = create(
        &server,
        json!({"phone": phone(1), "first_name": "Ada",
                                    "metadata": {"plan": "basic", "score": 3, "tags": ["a"]}}),
    )
    .await;
    assert_eq!(count(&server, "metadata.plan=basic").await, 1);
    server
        .update_contact(&id, json!({"first_name": "Grace", "metadata": {"plan": "premium", "score": 9, "tags": null}}))
        .await;
    assert_eq!(count(&server, "metadata.plan=basic").await, 0);
    assert_eq!(count(&server, "metadata.plan=premium").await, 1);
    assert_eq!(count(&server, "metadata.score[gt]=5").await, 1);
    assert_eq!(count(&server, "metadata.score[lt]=5").await, 0);
    assert_eq!(count(&server, "metadata.tags=a").await, 0);
    assert_eq!(count(&server, "metadata.tags[exists]=false").await, 1);
    assert_eq!(count(&server, "q=ada").await, 0);
    assert_eq!(count(&server, "q=grace").await, 1);
    assert_eq!(
        count(&server, "status=active&metadata.plan=premium").await,
        1
    );
    server
        .update_contact(&id, json!({"status": "inactive"}))
        .await;
    assert_eq!(
        count(&server, "status=active&metadata.plan=premium").await,
        0
    );
    assert_eq!(
        count(&server, "status=inactive&metadata.plan=premium").await,
        1
    );
    server
        .delete(&format!("/v2/contact/{id}"))
        .await
        .expect(200);
    for query in [
        "metadata.plan=premium",
        "q=grace",
        "metadata.score[gt]=5",
        "metadata.plan[exists]=true",
    ] {
        assert_eq!(count(&server, query).await, 0, "{query}");
    }
}

#[tokio::test]
async fn totals_on_request() {
    let server = TestServer::start().await;
    for i in 0..5 {
        create(
            &server,
            json!({"phone": phone(i), "metadata": {"plan": "premium"}}),
        )
        .await;
    }
    let first = server
        .get("/v2/contact?metadata.plan=premium&limit=2")
        .await
        .expect(200);
    assert_eq!(first["total"], 5);
    let lean = server
        .get("/v2/contact?metadata.plan=premium&limit=2&include_total=false")
        .await
        .expect(200);
    assert_eq!(lean["total"], json!(null));
    assert_eq!(lean["data"], first["data"]);
    let cursor = lean["next_cursor"].as_str().unwrap();
    let next = server
        .get(&format!(
            "/v2/contact?metadata.plan=premium&limit=2&cursor={cursor}"
        ))
        .await
        .expect(200);
    assert_eq!(next["total"], json!(null));
    let counted = server
        .get(&format!(
            "/v2/contact?metadata.plan=premium&limit=2&cursor={cursor}&include_total=true"
        ))
        .await
        .expect(200);
    assert_eq!(counted["total"], 5);
    assert_eq!(counted["data"], next["data"]);
    let offset = server
        .get("/v2/contact?metadata.plan=premium&offset=2&include_total=false")
        .await
        .expect(200);
    assert_eq!(offset["total"], 5, "offset pages always carry the total");
    assert_invalid(
        &server.get("/v2/contact?include_total=yes").await,
        "include_total",
    );
    assert_eq!(
        server.get("/v2/contact/count").await.expect(200),
        json!({"total": 5})
    );
}

#[tokio::test]
async fn at_most_twenty_filters() {
    let server = TestServer::start().await;
    let twenty: Vec<String> = (0..20).map(|i| format!("metadata.k{i}[ne]=x")).collect();
    server
        .get(&format!("/v2/contact?{}", twenty.join("&")))
        .await
        .expect(200);
    server
        .get(&format!("/v2/contact/count?{}", twenty.join("&")))
        .await
        .expect(200);
    let many: Vec<String> = (0..21).map(|i| format!("metadata.k{i}[ne]=x")).collect();
    let resp = server.get(&format!("/v2/contact?{}", many.join("&"))).await;
    assert_invalid(&resp, "query");
    assert!(
        resp.body["message"].as_str().unwrap().contains("20"),
        "{}",
        resp.text
    );
    assert_invalid(
        &server
            .get(&format!("/v2/contact/count?{}", many.join("&")))
            .await,
        "query",
    );
    let thousand: Vec<String> = (0..1000).map(|i| format!("metadata.k{i}=x")).collect();
    assert_invalid(
        &server
            .get(&format!("/v2/contact?{}", thousand.join("&")))
            .await,
        "query",
    );
    // Paging parameters do not count as filters.
    let nineteen: Vec<String> = (0..19).map(|i| format!("metadata.k{i}[ne]=x")).collect();
    server
        .get(&format!(
            "/v2/contact?{}&status=active&limit=5&sort=-updated_at&include_total=true",
            nineteen.join("&")
        ))
        .await
        .expect(200);
    assert_invalid(&server.get("/v2/contact/count?limit=5").await, "limit");
}

#[tokio::test]
async fn metadata_filters_keep_their_meaning() {
    let server = TestServer::start().await;
    let a = create(&server, json!({"phone": phone(1), "metadata": {"mrr": 500, "tags": ["vip", 7], "prefs": {"lang": "en"}, "flag": true}})).await;
    let b = create(&server, json!({"phone": phone(2), "metadata": {"mrr": "500", "tags": [], "prefs": {}, "big": 9007199254740993_u64}})).await;
    let c = create(&server, json!({"phone": phone(3), "metadata": {"mrr": 500.0, "tags": "vip", "prefs": {"lang": ["en", "de"]}, "long": "x".repeat(300)}})).await;
    let long = "x".repeat(300);
    for (query, expected) in [
        ("metadata.mrr=500", vec![&a, &b, &c]),
        ("metadata.mrr=5e2", vec![&a, &c]),
        ("metadata.mrr[gte]=500", vec![&a, &c]),
        ("metadata.mrr[gt]=500", vec![]),
        ("metadata.tags=vip", vec![&a, &c]),
        ("metadata.tags=7", vec![&a]),
        ("metadata.tags[gt]=1", vec![]),
        ("metadata.tags[exists]=true", vec![&a, &b, &c]),
        ("metadata.prefs[exists]=true", vec![&a, &b, &c]),
        ("metadata.prefs.lang[exists]=true", vec![&a, &c]),
        ("metadata.prefs.lang=de", vec![&c]),
        ("metadata.prefs.lang[ne]=en", vec![&b]),
        ("metadata.flag=true", vec![&a]),
        ("metadata.big=9007199254740993", vec![&b]),
        ("metadata.big=9007199254740992", vec![]),
        ("metadata.tags.0[exists]=true", vec![]),
    ] {
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        assert_eq!(found(&server, query).await, expected, "{query}");
        assert_eq!(
            count(&server, query).await,
            expected.len() as u64,
            "{query}"
        );
    }
    assert_eq!(
        found(&server, &format!("metadata.long={long}")).await,
        vec![c.clone()]
    );
    assert_eq!(
        found(&server, &format!("metadata.long={}", &long[1..])).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn nul_characters_are_refused_alike_everywhere() {
    let server = TestServer::start().await;
    for (body, field) in [
        (
            json!({"phone": phone(1), "metadata": {"a\u{0}b": 1}}),
            "metadata.a\\u0000b",
        ),
        (
            json!({"phone": phone(1), "metadata": {"a": "x\u{0}"}}),
            "metadata.a",
        ),
        (
            json!({"phone": phone(1), "metadata": {"a": {"b": ["ok", "\u{0}"]}}}),
            "metadata.a.b",
        ),
    ] {
        assert_invalid(&server.post("/v2/contact", &body).await, field);
    }
    assert_eq!(count(&server, "").await, 0);
    let c = create(&server, json!({"phone": phone(2)})).await;
    let conversation = server.create_conversation(&c, "sms").await;
    let path = format!(
        "/v2/conversation/{}/messages",
        conversation["id"].as_str().unwrap()
    );
    let resp = server
        .post(
            &path,
            &json!({"direction": "outbound", "text": "hi\u{0}there"}),
        )
        .await;
    assert_invalid(&resp, "text");
    let messages = server.get(&path).await.expect(200);
    assert_eq!(messages["total"], 0, "a refused message changes nothing");
    let resp = server
        .put(
            &format!("/v2/contact/{c}"),
            &json!({"metadata": {"k\u{0}": 1}}),
        )
        .await;
    assert_invalid(&resp, "metadata.k\\u0000");
}

#[tokio::test]
async fn integers_beyond_2_pow_53_compare_exactly() {
    let server = TestServer::start().await;
    let mut ids = std::collections::BTreeMap::new();
    for (i, (name, n)) in [
        ("above", json!(9007199254740993_u64)),
        ("at", json!(9007199254740992_u64)),
        ("neg_above", json!(-9007199254740993_i64)),
        ("neg_at", json!(-9007199254740992_i64)),
        ("u64_max", json!(u64::MAX)),
        ("i64_max", json!(i64::MAX)),
        ("small", json!(1.5)),
    ]
    .into_iter()
    .enumerate()
    {
        let body = json!({"phone": phone(i as u32), "metadata": {"n": n, "t": "x"}});
        ids.insert(name, create(&server, body).await);
    }
    let all = [
        "above",
        "at",
        "neg_above",
        "neg_at",
        "u64_max",
        "i64_max",
        "small",
    ];
    let but = |out: &[&str]| -> Vec<&'static str> {
        all.iter().copied().filter(|n| !out.contains(n)).collect()
    };
    for (filter, expected) in [
        ("metadata.n=9007199254740993", vec!["above"]),
        ("metadata.n=9007199254740992", vec!["at"]),
        ("metadata.n=-9007199254740993", vec!["neg_above"]),
        ("metadata.n=18446744073709551615", vec!["u64_max"]),
        (
            "metadata.n[gt]=9007199254740992",
            vec!["above", "u64_max", "i64_max"],
        ),
        (
            "metadata.n[gte]=9007199254740993",
            vec!["above", "u64_max", "i64_max"],
        ),
        (
            "metadata.n[gte]=9007199254740992",
            vec!["above", "at", "u64_max", "i64_max"],
        ),
        (
            "metadata.n[lt]=9007199254740993",
            but(&["above", "u64_max", "i64_max"]),
        ),
        (
            "metadata.n[lte]=9007199254740992",
            but(&["above", "u64_max", "i64_max"]),
        ),
        (
            "metadata.n[lt]=9007199254740992",
            but(&["at", "above", "u64_max", "i64_max"]),
        ),
        ("metadata.n[lt]=-9007199254740992", vec!["neg_above"]),
        ("metadata.n[lte]=-9007199254740993", vec!["neg_above"]),
        ("metadata.n[gt]=-9007199254740993", but(&["neg_above"])),
        ("metadata.n[gt]=18446744073709551614", vec!["u64_max"]),
        ("metadata.n[lt]=18446744073709551615", but(&["u64_max"])),
        (
            "metadata.n[gt]=9223372036854775806",
            vec!["u64_max", "i64_max"],
        ),
        (
            "metadata.n[lte]=9223372036854775806",
            but(&["u64_max", "i64_max"]),
        ),
        ("metadata.n[gt]=1", but(&["neg_above", "neg_at"])),
    ] {
        let expected: Vec<String> = expected.iter().map(|n| ids[n].clone()).collect();
        // Alone (the comparison's own index) and beside an equality (a probe per contact).
        for query in [filter.to_owned(), format!("metadata.t=x&{filter}")] {
            assert_eq!(found(&server, &query).await, expected, "{query}");
            assert_eq!(
                count(&server, &query).await,
                expected.len() as u64,
                "{query}"
            );
        }
    }
}

#[tokio::test]
async fn q_of_odd_characters_matches_only_contacts_that_hold_them() {
    let server = TestServer::start().await;
    create(&server, json!({"phone": phone(1)})).await;
    create(&server, json!({"email": "nameless@example.com"})).await;
    create(
        &server,
        json!({"phone": phone(2), "first_name": "Ada", "last_name": "Lovelace"}),
    )
    .await;
    create(
        &server,
        json!({"phone": phone(3), "email": "zoe@example.com", "first_name": "Zoë"}),
    )
    .await;
    for q in [
        "\u{10FFFF}",
        "\u{10FFFF}\u{10FFFF}",
        "\u{FFFF}",
        "\u{FFFE}",
        "\u{E000}",
        "\u{301}",
        "\u{301}\u{308}",
        "\u{200B}",
        "\u{200B}\u{FEFF}\u{2060}",
        "\u{200B}\u{301}",
        " \u{200D} ",
    ] {
        let query = format!("q={}", enc(q));
        assert_eq!(
            found(&server, &query).await,
            Vec::<String>::new(),
            "q={q:?}"
        );
        assert_eq!(count(&server, &query).await, 0, "q={q:?}");
        // Beside another filter, too, which changes the plan.
        let query = format!("{query}&status=active&sort=full_name");
        assert_eq!(
            found(&server, &query).await,
            Vec::<String>::new(),
            "q={q:?}"
        );
    }
}

/// The bracket form of the metadata filters, as OpenAPI's `deepObject` style and
/// openapi-fetch write them (`metadata[plan]=premium`, brackets sent raw or as `%5B`/`%5D`),
/// finds what the dotted form finds, in lists, counts and across cursor pages.
#[tokio::test]
async fn metadata_filters_in_brackets_match_like_dotted_ones() {
    let server = TestServer::start().await;
    let a = create(&server, json!({"phone": phone(1), "metadata": {"plan": "premium", "score": 7, "prefs": {"lang": "en"}}})).await;
    let b = create(
        &server,
        json!({"phone": phone(2), "metadata": {"plan": "premium", "score": 3}}),
    )
    .await;
    let c = create(
        &server,
        json!({"phone": phone(3), "metadata": {"plan": "basic", "score": 9}}),
    )
    .await;
    for (bracket, dotted, expected) in [
        (
            "metadata[plan]=premium",
            "metadata.plan=premium",
            vec![&a, &b],
        ),
        (
            "metadata[score][gte]=5",
            "metadata.score[gte]=5",
            vec![&a, &c],
        ),
        ("metadata[score[lt]]=5", "metadata.score[lt]=5", vec![&b]),
        (
            "metadata[prefs.lang]=en",
            "metadata.prefs.lang=en",
            vec![&a],
        ),
        (
            "metadata[prefs.lang][exists]=false",
            "metadata.prefs.lang[exists]=false",
            vec![&b, &c],
        ),
        (
            "metadata[plan]=premium&metadata.score[gt]=5",
            "metadata.plan=premium&metadata.score[gt]=5",
            vec![&a],
        ),
    ] {
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        assert_eq!(found(&server, dotted).await, expected, "{dotted}");
        assert_eq!(found(&server, bracket).await, expected, "{bracket}");
        let encoded = bracket.replace('[', "%5B").replace(']', "%5D");
        assert_eq!(found(&server, &encoded).await, expected, "{encoded}");
        assert_eq!(
            count(&server, bracket).await,
            expected.len() as u64,
            "{bracket}"
        );
    }

    // A cursor from one form pages the other: the filter is the same.
    let first = server
        .get("/v2/contact?metadata[plan]=premium&limit=1")
        .await
        .expect(200);
    assert_eq!(first["data"][0]["id"], a.as_str());
    let cursor = first["next_cursor"].as_str().unwrap();
    let next = server
        .get(&format!(
            "/v2/contact?metadata.plan=premium&limit=1&cursor={}",
            enc(cursor)
        ))
        .await
        .expect(200);
    assert_eq!(next["data"][0]["id"], b.as_str());

    for name in [
        "metadata[plan",
        "metadata[]",
        "metadata[plan][regex]",
        "metadata[a][b]",
        "metadata[a b]",
    ] {
        let resp = server.get(&format!("/v2/contact?{}=1", enc(name))).await;
        assert_invalid(&resp, name);
    }
    assert_invalid(
        &server.get("/v2/contact?metadata[score][gt]=abc").await,
        "metadata[score][gt]",
    );
}

/// Both forms count towards the one cap of 20 filters.
#[tokio::test]
async fn both_metadata_forms_share_the_filter_cap() {
    let server = TestServer::start().await;
    let mut twenty: Vec<String> = (0..10).map(|i| format!("metadata.k{i}[ne]=x")).collect();
    twenty.extend((10..20).map(|i| format!("metadata[k{i}][ne]=x")));
    server
        .get(&format!("/v2/contact?{}", twenty.join("&")))
        .await
        .expect(200);
    let mut many = twenty.clone();
    many.push("metadata[k20]=x".to_owned());
    assert_invalid(
        &server.get(&format!("/v2/contact?{}", many.join("&"))).await,
        "query",
    );
    assert_invalid(
        &server
            .get(&format!("/v2/contact/count?{}", many.join("&")))
            .await,
        "query",
    );
}
