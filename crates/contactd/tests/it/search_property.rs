//! Search is exact: random contacts (accented names, nested metadata with strings, numbers
//! up to beyond 2^53, booleans and arrays), random updates, merge-patch removals and
//! deletes, then random filters and `q`. The ids, totals and counts the API answers, on
//! offset and on cursor pages, equal a brute-force evaluation in Rust over the same data.
//! The evaluation below is written from contract §6 and docs/api.md, not from the server's
//! code: it reads the contacts as the API returned them.

use std::cmp::Ordering;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Number, Value};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use crate::list::enc;
use crate::utils::{run_seeded_cases, TestServer};

const FIRST: [&str; 12] = [
    "José",
    "Zoë",
    "Ada",
    "Ángel",
    "François",
    "Björn",
    "Chloé",
    "Renée",
    "Ana María",
    "O'Brien",
    "STRASSE",
    "Łukasz",
];
const LAST: [&str; 9] = [
    "Lovelace",
    "Müller",
    "van Dijk",
    "Núñez",
    "Smith-Jones",
    "Ødegaard",
    "Straße",
    "Ada",
    "Zoé",
];
const KEYS: [&str; 8] = ["plan", "tier", "score", "tags", "prefs", "lang", "n", "0"];
const STRINGS: [&str; 8] = ["premium", "basic", "500", "true", "DE", "de", "é", "5e2"];
const BIG: u64 = (1 << 53) + 1;

fn fold(s: &str) -> String {
    caseless::default_case_fold_str(s)
        .nfkd()
        .filter(|c| !is_combining_mark(*c))
        .collect()
}

fn words(s: &str) -> Vec<String> {
    fold(s)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

fn scalar(rng: &mut StdRng) -> Value {
    match rng.random_range(0..9) {
        0..=2 => json!(STRINGS[rng.random_range(0..STRINGS.len())]),
        3 => json!(rng.random_range(-3..10)),
        4 => json!([1.5, 500.0, -0.25, 2.0][rng.random_range(0..4)]),
        5 => json!([BIG, BIG - 1, u64::MAX][rng.random_range(0..3)]),
        6 => json!(rng.random_bool(0.5)),
        7 => json!(500),
        _ => json!(rng.random_range(0..4) as f64 * 2.5),
    }
}

fn value(rng: &mut StdRng, depth: u32) -> Value {
    match rng.random_range(0..10) {
        0..=5 => scalar(rng),
        6 | 7 => {
            let n = rng.random_range(0..4);
            let mut items: Vec<Value> = (0..n).map(|_| scalar(rng)).collect();
            if rng.random_bool(0.2) {
                items.push(json!({"plan": "premium"}));
            }
            Value::Array(items)
        }
        _ if depth < 3 => Value::Object(object(rng, depth + 1)),
        _ => json!({}),
    }
}

fn object(rng: &mut StdRng, depth: u32) -> Map<String, Value> {
    let n = rng.random_range(0..4);
    (0..n)
        .map(|_| {
            (
                KEYS[rng.random_range(0..KEYS.len())].to_owned(),
                value(rng, depth),
            )
        })
        .collect()
}

fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

fn random_contact(rng: &mut StdRng, i: usize) -> Value {
    let mut c = Map::new();
    let (has_phone, has_email) = match rng.random_range(0..3) {
        0 => (true, false),
        1 => (false, true),
        _ => (true, true),
    };
    if has_phone {
        c.insert(
            "phone".into(),
            json!(format!("+1415{:07}", rng.random_range(0..40) * 1000 + i)),
        );
    }
    if has_email {
        c.insert(
            "email".into(),
            json!(format!(
                "User{i}.{}@Example.com",
                pick(rng, &["ada", "zoe", "x"])
            )),
        );
    }
    if rng.random_bool(0.8) {
        c.insert("first_name".into(), json!(pick(rng, &FIRST)));
    }
    if rng.random_bool(0.7) {
        c.insert("last_name".into(), json!(pick(rng, &LAST)));
    }
    if rng.random_bool(0.5) {
        c.insert("status".into(), json!(pick(rng, &["active", "inactive"])));
    }
    if rng.random_bool(0.5) {
        c.insert(
            "preferred_channel".into(),
            json!(pick(rng, &["sms", "email", "whatsapp"])),
        );
    }
    c.insert("metadata".into(), Value::Object(object(rng, 1)));
    Value::Object(c)
}

fn random_patch(rng: &mut StdRng) -> Value {
    let mut patch = Map::new();
    let mut metadata = Map::new();
    for _ in 0..rng.random_range(1..3) {
        let key = pick(rng, &KEYS).to_owned();
        metadata.insert(
            key,
            if rng.random_bool(0.3) {
                Value::Null
            } else {
                value(rng, 1)
            },
        );
    }
    patch.insert("metadata".into(), Value::Object(metadata));
    if rng.random_bool(0.3) {
        patch.insert("last_name".into(), json!(pick(rng, &LAST)));
    }
    if rng.random_bool(0.3) {
        patch.insert("status".into(), json!(pick(rng, &["active", "inactive"])));
    }
    Value::Object(patch)
}

// ---------------------------------------------------------------- the brute force

/// The value at a path, through objects only.
fn at<'a>(metadata: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter()
        .try_fold(metadata, |v, key| v.as_object()?.get(*key))
}

/// A number as an exact integer when it is one, else as a double.
fn numeric(n: &Number) -> (Option<i128>, f64) {
    if let Some(i) = n.as_i64() {
        return (Some(i128::from(i)), i as f64);
    }
    if let Some(u) = n.as_u64() {
        return (Some(i128::from(u)), u as f64);
    }
    let x = n.as_f64().unwrap_or(f64::NAN);
    if x.fract() == 0.0 && x.abs() < 1e30 {
        (Some(x as i128), x)
    } else {
        (None, x)
    }
}

/// A stored number against a comparison's bound, as the API compares them: as doubles,
/// and where the doubles tie an integer bound beyond 2^53, by the exact integers.
fn compare_to_bound(stored: &Number, bound: f64) -> Ordering {
    let (exact, x) = numeric(stored);
    let beyond = bound.fract() == 0.0 && (2f64.powi(53)..1e38).contains(&bound.abs());
    match (exact, beyond.then_some(bound as i128)) {
        (Some(a), Some(b)) if x == bound => a.cmp(&b),
        _ => x.partial_cmp(&bound).unwrap_or(Ordering::Equal),
    }
}

fn scalar_equals(v: &Value, text: &str) -> bool {
    match v {
        Value::String(s) => s == text,
        Value::Bool(b) => text == if *b { "true" } else { "false" },
        Value::Number(n) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Number(q)) => {
                let (a, b) = (numeric(n), numeric(&q));
                match (a.0, b.0) {
                    (Some(x), Some(y)) => x == y,
                    _ => a.1 == b.1,
                }
            }
            _ => false,
        },
        _ => false,
    }
}

fn equals(v: Option<&Value>, text: &str) -> bool {
    match v {
        Some(Value::Array(items)) => items.iter().any(|i| scalar_equals(i, text)),
        Some(v) => scalar_equals(v, text),
        None => false,
    }
}

#[derive(Debug, Clone)]
enum Cond {
    Status(String),
    Channel(String),
    Q(String),
    Eq(Vec<String>, String),
    Ne(Vec<String>, String),
    Exists(Vec<String>, bool),
    Cmp(Vec<String>, &'static str, f64),
    CreatedAfter(String),
}

impl Cond {
    fn param(&self) -> String {
        let p = |path: &[String]| path.join(".");
        match self {
            Cond::Status(s) => format!("status={s}"),
            Cond::Channel(c) => format!("preferred_channel={c}"),
            Cond::Q(q) => format!("q={}", enc(q)),
            Cond::Eq(path, v) => format!("metadata.{}={}", p(path), enc(v)),
            Cond::Ne(path, v) => format!("metadata.{}[ne]={}", p(path), enc(v)),
            Cond::Exists(path, e) => format!("metadata.{}[exists]={e}", p(path)),
            Cond::Cmp(path, op, n) => format!("metadata.{}[{op}]={n}", p(path)),
            Cond::CreatedAfter(t) => format!("created_after={}", enc(t)),
        }
    }

    fn holds(&self, c: &Value) -> bool {
        let metadata = &c["metadata"];
        fn path(p: &[String]) -> Vec<&str> {
            p.iter().map(String::as_str).collect()
        }
        match self {
            Cond::Status(s) => c["status"] == json!(s),
            Cond::Channel(ch) => c["preferred_channel"] == json!(ch),
            Cond::CreatedAfter(t) => c["created_at"].as_str().unwrap() > t.as_str(),
            Cond::Q(q) => {
                let qw = words(q);
                let names: Vec<String> = ["first_name", "last_name"]
                    .iter()
                    .filter_map(|f| c[f].as_str())
                    .flat_map(words)
                    .collect();
                let by_name = !qw.is_empty()
                    && qw
                        .iter()
                        .all(|w| names.iter().any(|n| n.starts_with(w.as_str())));
                let by_email = c["email"]
                    .as_str()
                    .is_some_and(|e| fold(e).starts_with(&fold(q)));
                let digits = q.strip_prefix('+').unwrap_or(q);
                let by_phone = !digits.is_empty()
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && c["phone"]
                        .as_str()
                        .is_some_and(|p| p.starts_with(&format!("+{digits}")));
                by_name || by_email || by_phone
            }
            Cond::Eq(p, v) => equals(at(metadata, &path(p)), v),
            Cond::Ne(p, v) => !equals(at(metadata, &path(p)), v),
            Cond::Exists(p, e) => at(metadata, &path(p)).is_some() == *e,
            Cond::Cmp(p, op, n) => match at(metadata, &path(p)) {
                Some(Value::Number(x)) => {
                    let order = compare_to_bound(x, *n);
                    match *op {
                        "gt" => order.is_gt(),
                        "gte" => order.is_ge(),
                        "lt" => order.is_lt(),
                        _ => order.is_le(),
                    }
                }
                _ => false,
            },
        }
    }
}

fn random_path(rng: &mut StdRng) -> Vec<String> {
    (0..rng.random_range(1..3))
        .map(|_| pick(rng, &KEYS).to_owned())
        .collect()
}

fn random_q(rng: &mut StdRng, contacts: &[Value]) -> String {
    let Some(c) = contacts.get(rng.random_range(0..contacts.len().max(1))) else {
        return "ada".to_owned();
    };
    let name_words: Vec<String> = ["first_name", "last_name"]
        .iter()
        .filter_map(|f| c[f].as_str())
        .flat_map(|n| {
            n.split([' ', '-', '\''])
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|w| !w.is_empty())
        .collect();
    let cut = |s: &str, rng: &mut StdRng| -> String {
        let chars: Vec<char> = s.chars().collect();
        chars[..rng.random_range(1..=chars.len())].iter().collect()
    };
    match rng.random_range(0..7) {
        0 | 1 if !name_words.is_empty() => {
            let w = &name_words[rng.random_range(0..name_words.len())];
            let w = cut(w, rng);
            if rng.random_bool(0.5) {
                fold(&w).to_uppercase()
            } else {
                w
            }
        }
        2 if name_words.len() > 1 => {
            let mut ws: Vec<String> = name_words.iter().map(|w| cut(w, rng)).collect();
            ws.reverse();
            ws.join(" ")
        }
        3 if c["email"].is_string() => cut(c["email"].as_str().unwrap(), rng).to_uppercase(),
        4 if c["phone"].is_string() => {
            let p = cut(c["phone"].as_str().unwrap(), rng);
            match p.trim_start_matches('+') {
                "" => p,
                digits if rng.random_bool(0.5) => digits.to_owned(),
                _ => p,
            }
        }
        5 => pick(
            rng,
            &["zz", "a", "lov", "ZOE", "jose", "strasse", "@", "+", "o'b"],
        )
        .to_owned(),
        _ => pick(rng, &["ad", "mu", "nunez", "van d", "user1", "14155"]).to_owned(),
    }
}

fn random_cond(rng: &mut StdRng, contacts: &[Value]) -> Cond {
    let text = |rng: &mut StdRng| -> String {
        match rng.random_range(0..6) {
            0 => pick(rng, &STRINGS).to_owned(),
            1 => BIG.to_string(),
            2 => pick(rng, &["500", "500.0", "1.5", "2", "true", "false", "-3"]).to_owned(),
            3 => u64::MAX.to_string(),
            _ => pick(rng, &["premium", "basic", "DE"]).to_owned(),
        }
    };
    match rng.random_range(0..12) {
        0 => Cond::Status(pick(rng, &["active", "inactive"]).into()),
        1 => Cond::Channel(pick(rng, &["sms", "email", "whatsapp"]).into()),
        2 | 3 => Cond::Q(random_q(rng, contacts)),
        4 | 5 => Cond::Eq(random_path(rng), text(rng)),
        6 => Cond::Ne(random_path(rng), text(rng)),
        7 | 8 => Cond::Exists(random_path(rng), rng.random_bool(0.7)),
        9 | 10 => Cond::Cmp(
            random_path(rng),
            pick(rng, &["gt", "gte", "lt", "lte"]),
            [-1.0, 0.0, 2.0, 2.5, 500.0, BIG as f64][rng.random_range(0..6)],
        ),
        _ => match contacts.get(rng.random_range(0..contacts.len().max(1))) {
            Some(c) => Cond::CreatedAfter(c["created_at"].as_str().unwrap().to_owned()),
            None => Cond::Status("active".into()),
        },
    }
}

/// The order of a list sorted by `sort`, ids breaking ties the same way.
fn compare(sort: &str, a: &Value, b: &Value) -> Ordering {
    let (field, desc) = match sort.strip_prefix('-') {
        Some(f) => (f, true),
        None => (sort, false),
    };
    let key = |c: &Value| -> String {
        match field {
            "full_name" => c["full_name"]
                .as_str()
                .map_or_else(|| "\u{10FFFF}".to_owned(), str::to_lowercase),
            f => c[f].as_str().unwrap().to_owned(),
        }
    };
    let order = key(a)
        .cmp(&key(b))
        .then_with(|| a["id"].as_str().cmp(&b["id"].as_str()));
    if desc {
        order.reverse()
    } else {
        order
    }
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn check_case(server: &TestServer, key: &str, seed: u64) -> Result<(), String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut contacts: Vec<Value> = Vec::new();
    for i in 0..36 {
        let resp = server
            .post_as(key, "/v2/contact", &random_contact(&mut rng, i))
            .await;
        match resp.status {
            201 => contacts.push(resp.body),
            409 => {}
            s => return Err(format!("create answered {s}: {}", resp.text)),
        }
    }
    for _ in 0..24 {
        if contacts.is_empty() {
            break;
        }
        let i = rng.random_range(0..contacts.len());
        let id = contacts[i]["id"].as_str().unwrap().to_owned();
        if rng.random_bool(0.2) {
            server
                .delete_as(key, &format!("/v2/contact/{id}"))
                .await
                .expect(200);
            contacts.remove(i);
        } else {
            let resp = server
                .put_as(key, &format!("/v2/contact/{id}"), &random_patch(&mut rng))
                .await;
            match resp.status {
                200 => contacts[i] = resp.body,
                400 => {} // a merged result over a limit changes nothing
                s => return Err(format!("update answered {s}: {}", resp.text)),
            }
        }
    }
    for _ in 0..30 {
        let conds: Vec<Cond> = (0..rng.random_range(1..4))
            .map(|_| random_cond(&mut rng, &contacts))
            .collect();
        let mut seen = std::collections::HashSet::new();
        let conds: Vec<Cond> = conds
            .into_iter()
            .filter(|c| seen.insert(c.param().split('=').next().unwrap_or("").to_owned()))
            .collect();
        let filter: Vec<String> = conds.iter().map(Cond::param).collect();
        let filter = filter.join("&");
        let sort = pick(
            &mut rng,
            &[
                "created_at",
                "-created_at",
                "updated_at",
                "-updated_at",
                "full_name",
                "-full_name",
            ],
        );
        let mut expected: Vec<Value> = contacts
            .iter()
            .filter(|c| conds.iter().all(|cond| cond.holds(c)))
            .cloned()
            .collect();
        expected.sort_by(|a, b| compare(sort, a, b));
        let expected_ids = ids(&expected);
        let ctx = |what: &str| format!("seed {seed}, ?{filter}&sort={sort}: {what}");

        let count = server
            .get_as(key, &format!("/v2/contact/count?{filter}"))
            .await;
        if count.status != 200 || count.body["total"] != json!(expected.len()) {
            return Err(ctx(&format!(
                "count {} but {} match",
                count.text,
                expected.len()
            )));
        }
        // Offset pages, with their totals.
        let mut got = Vec::new();
        for offset in (0..expected.len().max(1)).step_by(7) {
            let page = server
                .get_as(
                    key,
                    &format!("/v2/contact?{filter}&sort={sort}&limit=7&offset={offset}"),
                )
                .await;
            if page.status != 200 || page.body["total"] != json!(expected.len()) {
                return Err(ctx(&format!("offset page {}", page.text)));
            }
            got.extend(ids(page.body["data"].as_array().unwrap()));
        }
        if got != expected_ids {
            return Err(ctx(&format!(
                "offset pages gave {got:?}, expected {expected_ids:?}"
            )));
        }
        // Cursor pages, the first without a total, the later with include_total.
        let mut got = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                None => format!("/v2/contact?{filter}&sort={sort}&limit=5&include_total=false"),
                Some(c) => format!(
                    "/v2/contact?{filter}&sort={sort}&limit=5&include_total=true&cursor={c}"
                ),
            };
            let page = server.get_as(key, &path).await;
            if page.status != 200 {
                return Err(ctx(&format!("cursor page {}", page.text)));
            }
            let want_total = if cursor.is_some() {
                json!(expected.len())
            } else {
                Value::Null
            };
            if page.body["total"] != want_total {
                return Err(ctx(&format!("cursor page total {}", page.body["total"])));
            }
            got.extend(ids(page.body["data"].as_array().unwrap()));
            match page.body["next_cursor"].as_str() {
                Some(next) if got.len() <= contacts.len() => cursor = Some(next.to_owned()),
                _ => break,
            }
        }
        if got != expected_ids {
            return Err(ctx(&format!(
                "cursor pages gave {got:?}, expected {expected_ids:?}"
            )));
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_and_counts_equal_a_brute_force_evaluation() {
    let server = TestServer::start().await;
    run_seeded_cases(&server, 16, "property", |server, key, seed| {
        Box::pin(check_case(server, key, seed))
    })
    .await;
}
