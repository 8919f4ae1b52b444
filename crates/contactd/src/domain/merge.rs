//! Contact metadata rules: JSON Merge Patch (RFC 7396) for updates, and the size and
//! depth limits a stored metadata object must respect.

use serde_json::{Map, Value};

use super::FieldError;

/// Largest accepted metadata, in bytes of its compact JSON serialization.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;
/// Deepest accepted nesting of metadata objects and arrays (`{}` is depth 1).
pub const MAX_METADATA_DEPTH: usize = 10;

/// Applies `patch` to `target` as RFC 7396 defines: an object patch merges member by
/// member (`null` removes, objects merge recursively), anything else replaces `target`.
///
/// Recursion follows the patch's depth, which callers bound (parsed JSON is limited).
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(members) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Some(target_members) = target.as_object_mut() {
        for (key, value) in members {
            merge_member(target_members, key, value);
        }
    }
}

fn merge_member(target: &mut Map<String, Value>, key: &str, value: &Value) {
    if value.is_null() {
        // shift_remove keeps the remaining keys in the order the client wrote them.
        target.shift_remove(key);
    } else {
        let slot = target.entry(key).or_insert(Value::Null);
        merge_patch(slot, value);
    }
}

/// Nesting depth of `v`: 0 for a scalar, else 1 + the deepest child
/// (`{}` is 1, `{"a":{"b":1}}` and `{"a":[1]}` are 2).
pub fn depth(v: &Value) -> usize {
    // An explicit stack so arbitrarily deep values cannot overflow the call stack.
    let mut deepest = 0;
    let mut stack = vec![(v, 1usize)];
    while let Some((value, level)) = stack.pop() {
        match value {
            Value::Object(map) => stack.extend(map.values().map(|child| (child, level + 1))),
            Value::Array(items) => stack.extend(items.iter().map(|child| (child, level + 1))),
            _ => continue,
        }
        deepest = deepest.max(level);
    }
    deepest
}

/// Checks that `v` may be stored as a contact's metadata: a JSON object within
/// [`MAX_METADATA_DEPTH`] and [`MAX_METADATA_BYTES`]. `field` names the input in the error.
pub fn check_metadata(field: &str, v: &Value) -> Result<(), FieldError> {
    check_object(field, v)?;
    let nesting = depth(v);
    if nesting > MAX_METADATA_DEPTH {
        return Err(FieldError::new(
            field,
            format!("Metadata is nested {nesting} levels deep; the limit is {MAX_METADATA_DEPTH}"),
        )
        .expected(format!("at most {MAX_METADATA_DEPTH} levels of nesting")));
    }
    if let Some(path) = nul_path(v, field) {
        return Err(FieldError::new(
            path,
            "Metadata keys and strings must not contain the NUL character (\\u0000)",
        )
        .expected("text without \\u0000"));
    }
    let size = serialized_len(v);
    if size > MAX_METADATA_BYTES {
        return Err(FieldError::new(
            field,
            format!("Metadata is {size} bytes serialized; the limit is {MAX_METADATA_BYTES}"),
        )
        .expected(format!("at most {MAX_METADATA_BYTES} bytes serialized")));
    }
    Ok(())
}

/// Checks that `v` is a JSON object, as metadata and a metadata patch must be.
pub fn check_object(field: &str, v: &Value) -> Result<(), FieldError> {
    if v.is_object() {
        return Ok(());
    }
    Err(FieldError::new(field, "Metadata must be a JSON object")
        .received(kind(v))
        .expected("a JSON object"))
}

/// The dotted path of the first key or string holding a NUL character, which no database
/// stores the same way (PostgreSQL refuses it in text).
fn nul_path(v: &Value, at: &str) -> Option<String> {
    match v {
        Value::String(s) if s.contains('\0') => Some(at.to_owned()),
        Value::Object(map) => map.iter().find_map(|(k, child)| {
            let path = format!(
                "{at}.{}",
                super::input::truncate(k, 100).replace('\0', "\\u0000")
            );
            if k.contains('\0') {
                Some(path)
            } else {
                nul_path(child, &path)
            }
        }),
        Value::Array(items) => items.iter().find_map(|item| nul_path(item, at)),
        _ => None,
    }
}

/// The JSON type of `v`; echoed instead of the value itself, which may be large.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn serialized_len(v: &Value) -> usize {
    // Serializing a Value cannot fail (its keys are strings); should it ever,
    // counting it as too large rejects rather than stores something unmeasured.
    serde_json::to_vec(v).map_or(usize::MAX, |bytes| bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn merged(target: Value, patch: Value) -> Value {
        let mut target = target;
        merge_patch(&mut target, &patch);
        target
    }

    #[test]
    fn rfc7396_appendix_a() {
        let cases = [
            (json!({"a":"b"}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"b"}), json!({"b":"c"}), json!({"a":"b","b":"c"})),
            (json!({"a":"b"}), json!({"a":null}), json!({})),
            (
                json!({"a":"b","b":"c"}),
                json!({"a":null}),
                json!({"b":"c"}),
            ),
            (json!({"a":["b"]}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"c"}), json!({"a":["b"]}), json!({"a":["b"]})),
            (
                json!({"a":{"b":"c"}}),
                json!({"a":{"b":"d","c":null}}),
                json!({"a":{"b":"d"}}),
            ),
            (json!({"a":[{"b":"c"}]}), json!({"a":[1]}), json!({"a":[1]})),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a":"b"}), json!(["c"]), json!(["c"])),
            (json!({"a":"foo"}), json!(null), json!(null)),
            (json!({"a":"foo"}), json!("bar"), json!("bar")),
            (json!({"e":null}), json!({"a":1}), json!({"e":null,"a":1})),
            (json!([1, 2]), json!({"a":"b","c":null}), json!({"a":"b"})),
            (
                json!({}),
                json!({"a":{"bb":{"ccc":null}}}),
                json!({"a":{"bb":{}}}),
            ),
        ];
        for (target, patch, want) in cases {
            let label = format!("{target} + {patch}");
            assert_eq!(merged(target, patch), want, "{label}");
        }
    }

    #[test]
    fn seed_examples() {
        let stored = json!({"plan":"premium","source":"website"});
        let updated = merged(stored, json!({"plan":"enterprise"}));
        assert_eq!(updated, json!({"plan":"enterprise","source":"website"}));
        assert_eq!(
            merged(updated, json!({"source":null})),
            json!({"plan":"enterprise"})
        );
    }

    #[test]
    fn removal_keeps_key_order() {
        let result = merged(json!({"a":1,"b":2,"c":3}), json!({"a":null,"d":4}));
        assert_eq!(result.to_string(), r#"{"b":2,"c":3,"d":4}"#);
    }

    #[test]
    fn depth_counts_containers() {
        assert_eq!(depth(&json!(1)), 0);
        assert_eq!(depth(&json!("x")), 0);
        assert_eq!(depth(&json!({})), 1);
        assert_eq!(depth(&json!([])), 1);
        assert_eq!(depth(&json!({"a":1})), 1);
        assert_eq!(depth(&json!({"a":{"b":1}})), 2);
        assert_eq!(depth(&json!({"a":[1]})), 2);
        assert_eq!(depth(&json!({"a":1,"b":{"c":[[]]},"d":{}})), 4);
    }

    fn nested(levels: usize) -> Value {
        let mut v = json!({});
        for _ in 1..levels {
            v = json!({ "a": v });
        }
        v
    }

    #[test]
    fn depth_limit_boundary() {
        assert_eq!(depth(&nested(10)), 10);
        assert_eq!(check_metadata("metadata", &nested(10)), Ok(()));
        let err = check_metadata("metadata", &nested(11)).unwrap_err();
        assert_eq!(err.field, "metadata");
        assert_eq!(
            err.message,
            "Metadata is nested 11 levels deep; the limit is 10"
        );
        assert_eq!(err.received, None);
        assert_eq!(err.expected, Some(json!("at most 10 levels of nesting")));
    }

    fn of_size(bytes: usize) -> Value {
        // `{"k":""}` is 8 bytes; the string fills the rest.
        let v = json!({ "k": "x".repeat(bytes - 8) });
        assert_eq!(v.to_string().len(), bytes);
        v
    }

    #[test]
    fn size_limit_boundary() {
        assert_eq!(check_metadata("metadata", &of_size(16384)), Ok(()));
        let err = check_metadata("metadata", &of_size(16385)).unwrap_err();
        assert_eq!(err.field, "metadata");
        assert_eq!(
            err.message,
            "Metadata is 16385 bytes serialized; the limit is 16384"
        );
        assert_eq!(err.received, None);
        assert_eq!(err.expected, Some(json!("at most 16384 bytes serialized")));
    }

    #[test]
    fn metadata_must_be_an_object() {
        for (value, kind) in [
            (json!([1]), "array"),
            (json!("x"), "string"),
            (json!(null), "null"),
            (json!(3), "number"),
            (json!(true), "boolean"),
        ] {
            let err = check_metadata("metadata", &value).unwrap_err();
            assert_eq!(err.message, "Metadata must be a JSON object");
            assert_eq!(err.received, Some(json!(kind)));
            assert_eq!(err.expected, Some(json!("a JSON object")));
        }
        assert_eq!(check_metadata("metadata", &json!({})), Ok(()));
    }
}
