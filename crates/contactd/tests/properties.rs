//! Property tests of the domain rules: RFC 7396 merge laws, the E.164 rule, ref parsing.
//! Inputs are random; each property must hold for all of them and nothing may panic.

use contactd::domain::merge::merge_patch;
use contactd::domain::phone::Phone;
use contactd::domain::refs::ContactRef;
use proptest::prelude::*;
use serde_json::{Map, Value};

/// The contract's pattern, written independently of the parser: `+`, then 2 to 15 ASCII
/// digits, the first not 0.
fn is_e164(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.len() >= 3
        && bytes.len() <= 16
        && bytes[0] == b'+'
        && (b'1'..=b'9').contains(&bytes[1])
        && bytes[2..].iter().all(u8::is_ascii_digit)
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[a-z]{0,6}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-e]", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

fn has_null_member(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.values().any(|v| v.is_null() || has_null_member(v)),
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn phone_parse_accepts_exactly_the_contract_pattern(s in "\\PC{0,20}|\\+[0-9]{0,17}|[0-9+ ()-]{0,18}") {
        prop_assert_eq!(Phone::parse("phone", &s).is_ok(), is_e164(&s), "{:?}", s);
    }

    #[test]
    fn refs_never_panic_and_classify_by_shape(s in "\\PC{0,40}|cnt_[0-9a-z]{0,30}|\\+[0-9]{0,16}|[a-z]{1,8}@[a-z]{1,8}\\.[a-z]{2,4}|(instagram|whatsapp|external|fax):\\PC{0,20}") {
        match ContactRef::parse(&s) {
            Ok(ContactRef::Id(id)) => prop_assert!(s.starts_with("cnt_") && id.as_str() == s),
            Ok(ContactRef::Phone(p)) => prop_assert!(is_e164(&s) && p.as_str() == s),
            Ok(ContactRef::Email(_)) => prop_assert!(s.contains('@') && !s.starts_with('+') && !s.starts_with("cnt_")),
            Ok(ContactRef::Identity(i)) => {
                let prefix = [i.kind().as_str(), ":"].concat();
                prop_assert!(s.starts_with(&prefix));
            }
            Err(e) => prop_assert_eq!(e.field, "ref"),
        }
    }

    #[test]
    fn merge_is_idempotent(target in json_value(), patch in json_value()) {
        let mut once = target.clone();
        merge_patch(&mut once, &patch);
        let mut twice = once.clone();
        merge_patch(&mut twice, &patch);
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn merging_an_empty_object_changes_no_object(target in prop::collection::btree_map("[a-e]", json_value(), 0..4)) {
        let target = Value::Object(target.into_iter().collect());
        let mut merged = target.clone();
        merge_patch(&mut merged, &Value::Object(Map::new()));
        prop_assert_eq!(merged, target);
    }

    #[test]
    fn merge_follows_the_patch_member_by_member(target in json_value(), patch in prop::collection::btree_map("[a-e]", json_value(), 0..4)) {
        let patch = Value::Object(patch.into_iter().collect());
        let mut merged = target.clone();
        merge_patch(&mut merged, &patch);
        let merged = merged.as_object().cloned().unwrap_or_default();
        for (key, value) in patch.as_object().into_iter().flatten() {
            if value.is_null() {
                prop_assert!(!merged.contains_key(key), "null removes {}", key);
            } else {
                let mut expected = target.get(key).cloned().unwrap_or(Value::Null);
                merge_patch(&mut expected, value);
                prop_assert_eq!(merged.get(key), Some(&expected));
            }
        }
        if let Value::Object(t) = &target {
            for (key, value) in t {
                if !patch.as_object().is_some_and(|p| p.contains_key(key)) {
                    prop_assert_eq!(merged.get(key), Some(value), "untouched {} stays", key);
                }
            }
        }
    }

    #[test]
    fn merging_onto_null_free_targets_leaves_no_nulls_in_objects(target in json_value(), patch in json_value()) {
        prop_assume!(!has_null_member(&target));
        prop_assume!(patch.is_object());
        let mut merged = target;
        merge_patch(&mut merged, &patch);
        prop_assert!(!has_null_member(&merged), "{}", merged);
    }
}
