//! Search keys: what a contact is indexed under so that `q` and the metadata filters are
//! answered from indexes, never by reading every contact of a tenant.
//!
//! A contact has a set of *terms* (rows of `contact_terms`, written in the same
//! transaction as the contact): `w:WORD` for each word of its names, and for every node of
//! its metadata reachable by a filter path, `m:PATH/VALUE` (equality and array
//! containment), `r:PATH` with the number (comparisons), and a marker for nodes that have
//! no value term (`null`, an empty object or array), so that "PATH exists" is the range of
//! terms starting `m:PATH.` or `m:PATH/`. The same functions give the terms a backend
//! writes and the terms a query looks up, so the two cannot disagree.
//!
//! Text is folded before it is indexed or searched: Unicode NFKD, marks removed, case
//! folded, so `jose` finds `José` and `zoe` finds `Zoë`.

use std::collections::BTreeMap;

use serde_json::{Number, Value};
use sha2::{Digest, Sha256};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use super::contact::{Contact, ContactStatus};

/// Greater than every character, so `[p, p + PREFIX_END)` is the range of strings that
/// start with `p`.
pub const PREFIX_END: char = '\u{10FFFF}';
/// Longest string value kept as itself in a term; longer ones are kept as their hash.
const MAX_INLINE_VALUE: usize = 200;
/// Longest metadata key a filter path can name.
pub const MAX_KEY_CHARS: usize = 64;

/// Case- and accent-insensitive form of `s`.
pub fn fold(s: &str) -> String {
    caseless::default_case_fold_str(s)
        .nfkd()
        .filter(|c| !is_combining_mark(*c))
        .collect()
}

/// The folded words of `s`: runs of letters and digits.
pub fn words(s: &str) -> Vec<String> {
    fold(s)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Whether a filter path can name this metadata key.
pub fn is_path_key(key: &str) -> bool {
    (1..=MAX_KEY_CHARS).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Everything a contact is searched by.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchKeys {
    /// Term → the number of a comparison term, `None` for the others.
    pub terms: BTreeMap<String, Option<f64>>,
    /// The folded words of the names, each after a space: `" ada lovelace"`.
    pub name_words: String,
    /// The folded email, matched by prefix.
    pub email_fold: Option<String>,
}

impl SearchKeys {
    pub fn of(contact: &Contact) -> SearchKeys {
        let mut terms = BTreeMap::new();
        let mut name_words = String::new();
        for name in [&contact.first_name, &contact.last_name]
            .into_iter()
            .flatten()
        {
            for word in words(name) {
                name_words.push(' ');
                name_words.push_str(&word);
                terms.insert(word_term(&word), None);
            }
        }
        let mut path = String::new();
        object_terms(&mut path, &contact.metadata, &mut terms);
        SearchKeys {
            terms,
            name_words,
            email_fold: contact.email.as_ref().map(|e| fold(e.as_str())),
        }
    }
}

/// The term rows to delete and to write (insert, or overwrite) when a contact changes
/// from `old` to `new`. No term is in both lists.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TermChanges {
    pub remove: Vec<String>,
    pub write: Vec<(String, Option<f64>)>,
    /// The terms of `write` that exist already (with another number or status).
    pub rewritten: Vec<String>,
}

impl TermChanges {
    /// `None` for a contact that does not exist (before a create, after a delete). The
    /// contact's status is kept on each of its terms, so a status change rewrites them all.
    pub fn between(old: Option<&Contact>, new: Option<&Contact>) -> TermChanges {
        let before = old.map(|c| (SearchKeys::of(c), c.status));
        let after = new.map(|c| (SearchKeys::of(c), c.status));
        TermChanges::of_keys(
            before.as_ref().map(|(k, s)| (k, *s)),
            after.as_ref().map(|(k, s)| (k, *s)),
        )
    }

    /// As [`TermChanges::between`], from keys already computed.
    pub fn of_keys(
        old: Option<(&SearchKeys, ContactStatus)>,
        new: Option<(&SearchKeys, ContactStatus)>,
    ) -> TermChanges {
        let empty = BTreeMap::new();
        let before = old.map_or(&empty, |(k, _)| &k.terms);
        let after = new.map_or(&empty, |(k, _)| &k.terms);
        let rewrite = matches!((old, new), (Some((_, a)), Some((_, b))) if a != b);
        let write: Vec<(String, Option<f64>)> = after
            .iter()
            .filter(|(k, n)| rewrite || !before.get(*k).is_some_and(|b| same_number(*b, **n)))
            .map(|(k, n)| (k.clone(), *n))
            .collect();
        TermChanges {
            remove: before
                .keys()
                .filter(|k| !after.contains_key(*k))
                .cloned()
                .collect(),
            rewritten: write
                .iter()
                .filter(|(k, _)| before.contains_key(k))
                .map(|(k, _)| k.clone())
                .collect(),
            write,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.remove.is_empty() && self.write.is_empty()
    }

    /// The written terms as two columns, for backends that bind arrays.
    pub fn write_columns(&self) -> (Vec<String>, Vec<Option<f64>>) {
        self.write.iter().cloned().unzip()
    }

    /// The removed and the rewritten terms as a JSON array, for a backend that deletes
    /// both before inserting the written ones (`json_each`).
    pub fn delete_json(&self) -> String {
        let keys: Vec<&String> = self.remove.iter().chain(&self.rewritten).collect();
        serde_json::to_string(&keys).unwrap_or_else(|_| "[]".to_owned())
    }

    /// The written terms as a JSON array of `[term, number or null]`.
    pub fn write_json(&self) -> String {
        serde_json::to_string(&self.write).unwrap_or_else(|_| "[]".to_owned())
    }
}

fn same_number(a: Option<f64>, b: Option<f64>) -> bool {
    a.map(f64::to_bits) == b.map(f64::to_bits)
}

pub fn word_term(word: &str) -> String {
    format!("w:{word}")
}

/// The terms of the words that start with `prefix`: `[low, high)`.
pub fn word_prefix_range(prefix: &str) -> (String, String) {
    (word_term(prefix), format!("w:{prefix}{PREFIX_END}"))
}

/// The terms under a metadata path: its own value terms and those of its descendants.
pub fn path_range(path: &[String]) -> (String, String) {
    let p = path.join(".");
    // '.' and '/' are adjacent in ASCII and '0' follows them; keys never contain them.
    (format!("m:{p}."), format!("m:{p}0"))
}

/// The comparison term of a path; its rows carry the number.
pub fn number_term(path: &[String]) -> String {
    format!("r:{}", path.join("."))
}

/// The equality term of the number at a path whose canonical spelling is `digits`.
pub fn number_value_term(path: &[String], digits: &str) -> String {
    format!("m:{}/n{digits}", path.join("."))
}

/// The equality terms of every number at a path: `[low, high)`.
pub fn number_value_range(path: &[String]) -> (String, String) {
    let low = number_value_term(path, "");
    let high = format!("{low}{PREFIX_END}");
    (low, high)
}

/// The equality term of a scalar at a path.
pub fn value_term(path: &[String], value: &Value) -> Option<String> {
    scalar_code(value).map(|code| format!("m:{}/{code}", path.join(".")))
}

/// A scalar's part of its equality term; strings, numbers and booleans never collide.
fn scalar_code(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if s.len() <= MAX_INLINE_VALUE => Some(format!("s{s}")),
        Value::String(s) => Some(format!("h{}", hex::encode(Sha256::digest(s.as_bytes())))),
        Value::Number(n) => Some(format!("n{}", canonical_number(n))),
        Value::Bool(true) => Some("t".to_owned()),
        Value::Bool(false) => Some("f".to_owned()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// One spelling per numeric value: `500`, `500.0` and `5e2` are all `500`; integers beyond
/// 2^53 stay exact.
pub fn canonical_number(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let x = n.as_f64().unwrap_or(f64::NAN);
    if x.fract() == 0.0 && x.abs() < 1e38 {
        // An integral double is an exact integer; i128 holds it exactly.
        (x as i128).to_string()
    } else {
        format!("{x:e}")
    }
}

fn object_terms(
    path: &mut String,
    map: &serde_json::Map<String, Value>,
    out: &mut BTreeMap<String, Option<f64>>,
) -> bool {
    let mut emitted = false;
    for (key, value) in map {
        if !is_path_key(key) {
            continue;
        }
        let len = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
        node_terms(path, value, out);
        emitted = true;
        path.truncate(len);
    }
    emitted
}

/// Adds the terms of the node at `path`; every node adds at least one term in its range.
fn node_terms(path: &mut String, value: &Value, out: &mut BTreeMap<String, Option<f64>>) {
    fn marker(out: &mut BTreeMap<String, Option<f64>>, path: &str, code: &str) {
        out.insert(format!("m:{path}/{code}"), None);
    }
    match value {
        Value::Object(map) => {
            if !object_terms(path, map, out) {
                marker(out, path, "o");
            }
        }
        Value::Array(items) => {
            let mut emitted = false;
            for code in items.iter().filter_map(scalar_code) {
                out.insert(format!("m:{path}/{code}"), None);
                emitted = true;
            }
            if !emitted {
                marker(out, path, "a");
            }
        }
        Value::Null => marker(out, path, "z"),
        scalar => {
            if let Some(code) = scalar_code(scalar) {
                out.insert(format!("m:{path}/{code}"), None);
            }
            if let Value::Number(n) = scalar {
                out.insert(format!("r:{path}"), n.as_f64());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn contact(v: Value) -> Contact {
        crate::domain::contact::NewContact::from_json(v.as_object().cloned().unwrap())
            .unwrap()
            .into_contact(
                crate::domain::ids::ContactId::generate(),
                crate::domain::time::Timestamp::now(),
            )
    }

    fn path(p: &str) -> Vec<String> {
        p.split('.').map(str::to_owned).collect()
    }

    #[test]
    fn folding_drops_case_and_accents() {
        assert_eq!(fold("José"), "jose");
        assert_eq!(fold("ZOË"), "zoe");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("Ångström"), "angstrom");
        assert_eq!(
            words("Jean-Luc O'Brien  Ünal"),
            ["jean", "luc", "o", "brien", "unal"]
        );
        assert!(words(" -- ").is_empty());
    }

    #[test]
    fn numbers_have_one_spelling() {
        let n = |s: &str| canonical_number(&serde_json::from_str::<Number>(s).unwrap());
        assert_eq!(n("500"), "500");
        assert_eq!(n("500.0"), "500");
        assert_eq!(n("5e2"), "500");
        assert_eq!(n("-0.0"), "0");
        assert_eq!(n("9007199254740993"), "9007199254740993");
        assert_eq!(n("18446744073709551615"), "18446744073709551615");
        assert_eq!(n("0.1"), "1e-1");
        assert_ne!(n("0.1"), n("0.10000000000000002"));
    }

    #[test]
    fn terms_of_a_contact() {
        let c = contact(json!({
            "phone": "+14155550123", "email": "Zoe@Example.COM",
            "first_name": "Zoë", "last_name": "van Dijk",
            "metadata": {"plan": "premium", "score": 7.0, "vip": true, "tags": ["a", 2, null],
                         "prefs": {"lang": "en"}, "empty": {}, "none": null, "list": [],
                         "bad key": 1, "odd": {"bad key": 1}}
        }));
        let keys = SearchKeys::of(&c);
        // A create drops null members, so "none" is not stored at all.
        assert_eq!(keys.name_words, " zoe van dijk");
        assert_eq!(keys.email_fold.as_deref(), Some("zoe@example.com"));
        let terms: Vec<&str> = keys.terms.keys().map(String::as_str).collect();
        assert_eq!(
            terms,
            [
                "m:empty/o",
                "m:list/a",
                "m:odd/o",
                "m:plan/spremium",
                "m:prefs.lang/sen",
                "m:score/n7",
                "m:tags/n2",
                "m:tags/sa",
                "m:vip/t",
                "r:score",
                "w:dijk",
                "w:van",
                "w:zoe",
            ]
        );
        assert_eq!(keys.terms["r:score"], Some(7.0));
    }

    #[test]
    fn a_path_range_holds_the_node_and_its_descendants_only() {
        let (low, high) = path_range(&path("a"));
        for inside in ["m:a/sx", "m:a.b/n1", "m:a/o"] {
            assert!(low.as_str() <= inside && inside < high.as_str(), "{inside}");
        }
        for outside in ["m:ab/sx", "m:a-b/sx", "m:a0/t", "m:a_/t", "r:a"] {
            assert!(
                !(low.as_str() <= outside && outside < high.as_str()),
                "{outside}"
            );
        }
    }

    #[test]
    fn long_values_are_hashed_alike_on_both_sides() {
        let long = "x".repeat(500);
        let c = contact(json!({"phone": "+14155550123", "metadata": {"note": long}}));
        let term = value_term(&path("note"), &json!(long)).unwrap();
        assert!(term.len() < 100);
        assert!(SearchKeys::of(&c).terms.contains_key(&term));
    }

    #[test]
    fn changes_touch_only_what_changed() {
        let a = contact(json!({"phone": "+14155550123", "first_name": "Ada",
                               "metadata": {"plan": "basic", "n": 1}}));
        let mut b = a.clone();
        b.metadata.insert("plan".into(), json!("premium"));
        let changes = TermChanges::between(Some(&a), Some(&b));
        assert_eq!(changes.remove, ["m:plan/sbasic"]);
        assert_eq!(changes.write, [("m:plan/spremium".to_owned(), None)]);
        b.metadata.insert("n".into(), json!(2));
        let changes = TermChanges::between(Some(&a), Some(&b));
        assert!(changes.write.contains(&("r:n".to_owned(), Some(2.0))));
        assert!(changes.write.contains(&("m:n/n2".to_owned(), None)));
        assert!(changes.remove.contains(&"m:n/n1".to_owned()));
        assert!(!changes.remove.contains(&"r:n".to_owned()));
        let mut c = a.clone();
        c.status = crate::domain::contact::ContactStatus::Inactive;
        let changes = TermChanges::between(Some(&a), Some(&c));
        assert!(changes.remove.is_empty());
        assert_eq!(changes.write.len(), SearchKeys::of(&a).terms.len());
        assert_eq!(changes.rewritten.len(), changes.write.len());
        assert!(TermChanges::between(Some(&a), Some(&a)).is_empty());
        assert!(TermChanges::between(Some(&a), None).write.is_empty());
        let written: Value = serde_json::from_str(&changes.write_json()).unwrap();
        assert_eq!(written[0].as_array().unwrap().len(), 2);
        assert_eq!(
            TermChanges::between(None, Some(&a)).remove,
            Vec::<String>::new()
        );
    }
}
