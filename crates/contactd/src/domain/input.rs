//! Reading a JSON request body field by field, so every rejection names its field.
//!
//! Bodies are parsed by hand rather than by `serde(deny_unknown_fields)` because the API
//! must tell absent from `null` (a partial update clears a field sent as null) and must
//! name the offending field, its received value and what was expected.

use serde_json::{Map, Value};
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use super::FieldError;

/// One field of a body: not sent, sent as `null`, or sent with a value.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Absent,
    Null,
    Value(Value),
}

/// The members of a JSON object body, checked against the fields an endpoint knows.
pub struct Body(Map<String, Value>);

impl Body {
    /// Rejects the first member that is read-only or unknown, in the order they were sent.
    pub fn new(
        map: Map<String, Value>,
        writable: &[&str],
        read_only: &[&str],
    ) -> Result<Body, FieldError> {
        for key in map.keys() {
            if writable.contains(&key.as_str()) {
                continue;
            }
            let message = if read_only.contains(&key.as_str()) {
                format!("Field '{key}' is read-only")
            } else {
                format!("Unknown field '{}'", truncate(key, 100))
            };
            return Err(FieldError::new(truncate(key, 100), message)
                .expected(Value::from(writable.join(", "))));
        }
        Ok(Body(map))
    }

    pub fn take(&mut self, key: &str) -> Field {
        match self.0.remove(key) {
            None => Field::Absent,
            Some(Value::Null) => Field::Null,
            Some(v) => Field::Value(v),
        }
    }
}

/// A JSON string, or an error naming `field` and the type that was expected.
pub fn string(field: &str, value: Value) -> Result<String, FieldError> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(wrong_type(field, other, "a string")),
    }
}

/// A short, human name of a field (a first or last name): non-blank, at most 255
/// characters, no control characters. Whitespace and invisible characters at either end
/// are trimmed, so a name of only those is blank.
pub fn name(field: &str, value: Value) -> Result<String, FieldError> {
    const MAX_CHARS: usize = 255;
    let sent = string(field, value)?;
    let s = sent.trim_matches(is_blank).to_owned();
    if s.is_empty() {
        return Err(FieldError::new(
            field,
            format!("{field} must not be blank; send null to clear it"),
        )
        .received(truncate(&sent, 200))
        .expected("a non-empty string or null"));
    }
    if s.chars().count() > MAX_CHARS {
        return Err(FieldError::new(
            field,
            format!("{field} is longer than {MAX_CHARS} characters"),
        )
        .expected(format!("at most {MAX_CHARS} characters")));
    }
    if s.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            format!("{field} must not contain control characters"),
        )
        .received(s));
    }
    Ok(s)
}

/// Whitespace, or an invisible format character (Unicode category Cf: zero-width space
/// and joiners, word joiner, byte order mark, bidi marks), which shows nothing on its own.
pub fn is_blank(c: char) -> bool {
    c.is_whitespace() || c.general_category() == GeneralCategory::Format
}

pub fn wrong_type(field: &str, received: Value, expected: &str) -> FieldError {
    FieldError::new(field, format!("{field} must be {expected}"))
        .received(abbreviate(received))
        .expected(expected)
}

/// Keeps a large received value out of an error body.
fn abbreviate(value: Value) -> Value {
    match value {
        Value::String(s) => Value::String(truncate(&s, 200)),
        Value::Array(_) => Value::from("an array"),
        Value::Object(_) => Value::from("an object"),
        other => other,
    }
}

pub fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_owned(),
    }
}

/// An enumerated string value (channel, status, direction), parsed by `parse`.
pub fn one_of<T>(
    field: &str,
    value: Value,
    allowed: &[&str],
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, FieldError> {
    let expected = format!("one of: {}", allowed.join(", "));
    match &value {
        Value::String(s) => parse(s).ok_or_else(|| {
            FieldError::new(field, format!("{field} must be {expected}"))
                .received(abbreviate(value.clone()))
                .expected(allowed.to_vec())
        }),
        _ => Err(wrong_type(field, value, "a string").expected(Value::from(allowed.to_vec()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn unknown_and_read_only_fields_are_named() {
        let err = Body::new(map(json!({"a": 1, "foo": 2})), &["a"], &["id"]).err();
        assert_eq!(err.map(|e| e.field), Some("foo".to_owned()));
        let err = Body::new(map(json!({"id": "x"})), &["a"], &["id"]).err();
        assert!(err.is_some_and(|e| e.message.contains("read-only")));
    }

    #[test]
    fn take_tells_absent_from_null() {
        let mut body = Body::new(map(json!({"a": null, "b": 1})), &["a", "b", "c"], &[])
            .unwrap_or_else(|_| unreachable!());
        assert_eq!(body.take("a"), Field::Null);
        assert_eq!(body.take("b"), Field::Value(json!(1)));
        assert_eq!(body.take("c"), Field::Absent);
    }

    #[test]
    fn names_reject_blank_long_and_control() {
        assert!(name("first_name", json!("John")).is_ok());
        assert!(name("first_name", json!("  ")).is_err());
        assert!(name("first_name", json!("a".repeat(256))).is_err());
        assert!(name("first_name", json!("a\u{0}b")).is_err());
        assert!(name("first_name", json!(5)).is_err());
    }

    #[test]
    fn names_of_only_invisible_characters_are_blank_and_ends_are_trimmed() {
        for blank in [
            "\u{200B}",
            "\u{200C}\u{200D}",
            " \u{2060} ",
            "\u{FEFF}",
            "\u{200E}\u{00A0}",
        ] {
            let err = name("last_name", json!(blank)).err();
            assert_eq!(
                err.map(|e| e.field).as_deref(),
                Some("last_name"),
                "{blank:?}"
            );
        }
        assert_eq!(name("n", json!(" Ada ")), Ok("Ada".to_owned()));
        assert_eq!(
            name("n", json!("\u{200B}Ada\u{FEFF}")),
            Ok("Ada".to_owned())
        );
        assert_eq!(
            name("n", json!("A\u{200D}da")),
            Ok("A\u{200D}da".to_owned())
        );
        assert_eq!(name("n", json!("José")), Ok("José".to_owned()));
        assert!(name("n", json!(format!(" {} ", "a".repeat(255)))).is_ok());
    }
}
