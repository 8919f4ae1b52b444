//! Duplicate suggestions (contract §8): each reason finds its pairs from keys kept on
//! write, per contact and tenant-wide (cursor-paged); a change that removes the reason
//! removes the suggestion. `every_planted_pair_among_100k_contacts_is_suggested` (ignored
//! by default) is the measurement of docs/performance.md.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::utils::TestServer;

/// Every pair of `GET /v2/duplicates`, page by page: `(a, b)` → reasons.
async fn all_pairs(server: &TestServer, limit: u32) -> BTreeMap<(String, String), Vec<String>> {
    let mut pairs = BTreeMap::new();
    let mut path = format!("/v2/duplicates?limit={limit}");
    loop {
        let page = server.get(&path).await.expect(200);
        for pair in page["data"].as_array().unwrap() {
            let reasons = pair["reasons"].as_array().unwrap();
            let key = (
                pair["a"].as_str().unwrap().to_owned(),
                pair["b"].as_str().unwrap().to_owned(),
            );
            assert!(key.0 < key.1, "a sorts before b: {pair}");
            let reasons = reasons
                .iter()
                .map(|r| r.as_str().unwrap().to_owned())
                .collect();
            assert!(pairs.insert(key, reasons).is_none(), "each pair once");
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v2/duplicates?limit={limit}&cursor={cursor}"),
            None => {
                assert_eq!(page["has_more"], false);
                return pairs;
            }
        }
    }
}

fn pair_of(x: &Value, y: &Value) -> (String, String) {
    let (x, y) = (x["id"].as_str().unwrap(), y["id"].as_str().unwrap());
    if x < y {
        (x.to_owned(), y.to_owned())
    } else {
        (y.to_owned(), x.to_owned())
    }
}

#[tokio::test]
async fn each_reason_finds_its_pairs_and_a_change_takes_them_back() {
    let server = TestServer::start().await;
    let c = |body: Value| server.create_contact(body);
    let gmail_a = c(json!({"email": "John.Doe+crm@gmail.com"})).await;
    let gmail_b = c(json!({"email": "johndoe@googlemail.com"})).await;
    let phone = c(json!({"phone": "+14155550101", "email": "x@example.org"})).await;
    let whatsapp = c(json!({"email": "y@example.org",
        "identities": [{"type": "whatsapp", "value": "+14155550101"}]}))
    .await;
    let acme_a = c(json!({"email": "ana@acme.io", "first_name": "Ana", "last_name": "Lima"})).await;
    let acme_b =
        c(json!({"email": "a.lima@acme.io", "first_name": "ANA", "last_name": "Lima"})).await;
    let free_a =
        c(json!({"email": "ana@gmail.com", "first_name": "Ana", "last_name": "Lima"})).await;
    let similar_a =
        c(json!({"phone": "+14155550201", "first_name": "Jonathan", "last_name": "Smith"})).await;
    let similar_b =
        c(json!({"phone": "+14155550202", "first_name": "Jonathon", "last_name": "Smith"})).await;
    let abroad =
        c(json!({"phone": "+447911123456", "first_name": "Jonathon", "last_name": "Smith"})).await;

    let pairs = all_pairs(&server, 2).await;
    let expect = [
        (pair_of(&gmail_a, &gmail_b), "email_normalized"),
        (pair_of(&phone, &whatsapp), "identity_overlap"),
        (pair_of(&acme_a, &acme_b), "name_and_email_domain"),
        (pair_of(&similar_a, &similar_b), "name_similar"),
    ];
    for (pair, reason) in &expect {
        let reasons = pairs
            .get(pair)
            .unwrap_or_else(|| panic!("{reason}: {pairs:?}"));
        assert!(
            reasons.contains(&reason.to_string()),
            "{reason}: {reasons:?}"
        );
    }
    assert!(
        !pairs.contains_key(&pair_of(&acme_a, &free_a)),
        "free mail says nothing"
    );
    assert!(
        !pairs.contains_key(&pair_of(&similar_b, &abroad)),
        "another country"
    );

    let id = similar_a["id"].as_str().unwrap();
    let of_one = server
        .get(&format!("/v2/contact/{id}/duplicates"))
        .await
        .expect(200);
    assert_eq!(of_one["data"].as_array().unwrap().len(), 1, "{of_one}");
    assert_eq!(of_one["data"][0]["contact"], similar_b);
    assert_eq!(of_one["data"][0]["reasons"], json!(["name_similar"]));
    let score = of_one["data"][0]["score"].as_f64().unwrap();
    assert!(score > 0.0 && score < 1.0);

    server
        .update_contact(id, json!({"first_name": "Maria"}))
        .await;
    let of_one = server
        .get(&format!("/v2/contact/{id}/duplicates"))
        .await
        .expect(200);
    assert_eq!(
        of_one["data"],
        json!([]),
        "a changed name takes the pair back"
    );
    server
        .delete(&format!("/v2/contact/{}", gmail_b["id"].as_str().unwrap()))
        .await
        .expect(200);
    let pairs = all_pairs(&server, 100).await;
    assert!(!pairs.contains_key(&pair_of(&gmail_a, &gmail_b)));
    assert!(!pairs.contains_key(&pair_of(&similar_a, &similar_b)));
    let resp = server.get("/v2/duplicates?limit=0").await;
    crate::utils::assert_invalid(&resp, "limit");
    let resp = server.get("/v2/duplicates?cursor=nope").await;
    crate::utils::assert_invalid(&resp, "cursor");
}

const SYLLABLES: [&str; 24] = [
    "ka", "lo", "mi", "ra", "te", "su", "no", "vi", "be", "da", "fo", "gu", "ha", "je", "ko", "li",
    "ma", "ne", "po", "qu", "ri", "sa", "to", "ze",
];

fn word(rng: &mut StdRng, syllables: usize) -> String {
    let mut w: String = (0..syllables)
        .map(|_| SYLLABLES[rng.random_range(0..SYLLABLES.len())])
        .collect();
    if let Some(first) = w.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    w
}

/// 100,000 contacts: background ones, and 1,000 planted pairs of each reason. Returns
/// the bodies and the planted pairs by index, with their reason.
fn generated(seed: u64) -> (Vec<Value>, Vec<(usize, usize, &'static str)>) {
    const TOTAL: usize = 100_000;
    const PLANTED: usize = 1_000;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut bodies = Vec::with_capacity(TOTAL);
    let mut planted = Vec::new();
    let mut n = 0u64;
    let mut next = || {
        n += 1;
        n
    };
    for i in 0..PLANTED {
        let (first, last) = (word(&mut rng, 3), word(&mut rng, 3));
        let k = next();
        bodies.push(json!({"email": format!("{}.{}+news@gmail.com", first.to_lowercase(), k)}));
        bodies.push(json!({"email": format!("{}{}@googlemail.com", first.to_lowercase(), k)}));
        planted.push((bodies.len() - 2, bodies.len() - 1, "email_normalized"));

        let number = format!("+1212{:07}", next());
        bodies.push(json!({"phone": number, "first_name": first}));
        bodies.push(json!({"email": format!("wa{}@example.net", next()),
            "identities": [{"type": "whatsapp", "value": number}]}));
        planted.push((bodies.len() - 2, bodies.len() - 1, "identity_overlap"));

        let domain = format!("company{i}.com");
        bodies.push(
            json!({"email": format!("{}@{domain}", first.to_lowercase()),
            "first_name": first, "last_name": last}),
        );
        bodies.push(
            json!({"email": format!("{}.{}@{domain}", first.to_lowercase(), next()),
            "first_name": first, "last_name": last}),
        );
        planted.push((bodies.len() - 2, bodies.len() - 1, "name_and_email_domain"));

        // One letter changed after the third: Jaro-Winkler stays at 0.9 or more.
        let long = format!("{}{}", word(&mut rng, 4), word(&mut rng, 1).to_lowercase());
        let mut typo = long.clone().into_bytes();
        let at = 4 + rng.random_range(0..(typo.len() - 5));
        typo[at] = if typo[at] == b'x' { b'y' } else { b'x' };
        let typo = String::from_utf8(typo).unwrap();
        bodies.push(
            json!({"phone": format!("+1213{:07}", next()), "first_name": long, "last_name": last}),
        );
        bodies.push(
            json!({"phone": format!("+1213{:07}", next()), "first_name": typo, "last_name": last}),
        );
        planted.push((bodies.len() - 2, bodies.len() - 1, "name_similar"));
    }
    while bodies.len() < TOTAL {
        let k = next();
        bodies.push(json!({"phone": format!("+1646{k:07}"),
            "email": format!("person{k}@example.com"),
            "first_name": word(&mut rng, 3), "last_name": word(&mut rng, 3)}));
    }
    (bodies, planted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: 100,000 contacts; run on purpose, see docs/performance.md"]
async fn every_planted_pair_among_100k_contacts_is_suggested() {
    let server = TestServer::start().await;
    let (bodies, planted) = generated(17);
    let started = Instant::now();
    let mut ids = Vec::with_capacity(bodies.len());
    for chunk in bodies.chunks(1000) {
        let answer = server
            .post("/v2/contact/batch", &json!({"contacts": chunk}))
            .await
            .expect(200);
        assert_eq!(answer["errors"], 0, "{answer}");
        for result in answer["results"].as_array().unwrap() {
            ids.push(result["contact"]["id"].as_str().unwrap().to_owned());
        }
    }
    let loaded = started.elapsed();
    let started = Instant::now();
    let pairs = all_pairs(&server, 100).await;
    let listed = started.elapsed();
    let mut missing = Vec::new();
    let mut by_reason: BTreeMap<&str, usize> = BTreeMap::new();
    for (x, y, reason) in &planted {
        let key = if ids[*x] < ids[*y] {
            (ids[*x].clone(), ids[*y].clone())
        } else {
            (ids[*y].clone(), ids[*x].clone())
        };
        match pairs.get(&key) {
            Some(reasons) if reasons.iter().any(|r| r == reason) => {
                *by_reason.entry(reason).or_default() += 1
            }
            _ => missing.push((reason, bodies[*x].clone(), bodies[*y].clone())),
        }
    }
    let started = Instant::now();
    let mut sample = BTreeSet::new();
    for id in ids.iter().step_by(1000) {
        let answer = server
            .get(&format!("/v2/contact/{id}/duplicates"))
            .await
            .expect(200);
        sample.insert(answer["data"].as_array().unwrap().len());
    }
    let per_contact = started.elapsed() / 100;
    let started = Instant::now();
    for _ in 0..100 {
        server.get("/v2/contact?limit=20").await.expect(200);
    }
    let per_page = started.elapsed() / 100;
    println!(
        "loaded {} contacts in {loaded:?}; listed {} pairs in {listed:?}; \
         a contact's duplicates in {per_contact:?} on average (100 contacts), a list page \
         (GET /v2/contact?limit=20) in {per_page:?}; found {by_reason:?}",
        ids.len(),
        pairs.len()
    );
    assert!(
        missing.is_empty(),
        "{} planted pairs missing, e.g. {:?}",
        missing.len(),
        missing.first()
    );
}

#[tokio::test]
async fn upgrading_to_suggestions_finds_the_pairs_of_contacts_stored_before() {
    let server = TestServer::start().await;
    let a = server
        .create_contact(json!({"email": "jo.hn+a@gmail.com"}))
        .await;
    let b = server
        .create_contact(json!({"email": "john@gmail.com"}))
        .await;
    // The database as it was before the migration that adds suggestions.
    server.sql("DROP TABLE duplicate_keys").await;
    server.sql("DROP TABLE duplicate_pairs").await;
    if server.database_url().starts_with("sqlite") {
        server.sql("PRAGMA user_version = 6").await;
    } else {
        server
            .sql("DELETE FROM contactd_migrations WHERE version >= 7")
            .await;
    }
    let server = server.restart().await;
    let pairs = all_pairs(&server, 10).await;
    assert_eq!(
        pairs.get(&pair_of(&a, &b)),
        Some(&vec!["email_normalized".to_owned()])
    );
}
