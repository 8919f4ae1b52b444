//! Reading a JSON request body into its wire type, so every rejection names its field.
//!
//! Bodies decode into the types of `contactd-wire` (the one definition of the API's JSON),
//! then convert into domain types, which check the values. A body that does not decode
//! gets an error naming the field (dotted for nested, `[i]` for an item), what was received
//! and what was expected, as hand-written parsers would.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use super::FieldError;

/// Decodes a JSON object into `T`, a request type whose answer type is `A`: a field of the
/// answer the request does not take is read-only, any other unknown field is unknown.
pub fn decode<T: DeserializeOwned, A: DeserializeOwned>(
    body: Map<String, Value>,
) -> Result<T, FieldError> {
    let body = Value::Object(body);
    serde_path_to_error::deserialize(&body).map_err(|e| {
        let field = field_of(e.path());
        let message = e.inner().to_string();
        decode_error(&field, &message, lookup(&body, e.path()), |name| {
            serde_aux::serde_introspection::serde_introspect::<A>().contains(&name)
        })
    })
}

/// Decodes a JSON object into `T`, which no answer shares fields with.
pub fn decode_request<T: DeserializeOwned>(body: Map<String, Value>) -> Result<T, FieldError> {
    let body = Value::Object(body);
    serde_path_to_error::deserialize(&body).map_err(|e| {
        let field = field_of(e.path());
        let message = e.inner().to_string();
        decode_error(&field, &message, lookup(&body, e.path()), |_| false)
    })
}

/// `contacts[2].phone`, `filter.metadata.plan`; empty for the body itself.
fn field_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut field = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => field.push_str(&format!("[{index}]")),
            Segment::Map { key } => {
                if !field.is_empty() {
                    field.push('.');
                }
                field.push_str(&truncate(key, 100));
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    field
}

/// The value at `path` in `body`, if the path leads to one.
fn lookup<'v>(body: &'v Value, path: &serde_path_to_error::Path) -> Option<&'v Value> {
    use serde_path_to_error::Segment;
    path.iter().try_fold(body, |value, segment| match segment {
        Segment::Seq { index } => value.get(*index),
        Segment::Map { key } => value.get(key.as_str()),
        Segment::Enum { .. } | Segment::Unknown => Some(value),
    })
}

/// Turns serde's words for a decoding failure at `field` into the API's: which field,
/// what it received, what it expected.
fn decode_error(
    field: &str,
    message: &str,
    received: Option<&Value>,
    read_only: impl Fn(&str) -> bool,
) -> FieldError {
    let within = |name: &str| {
        if field.is_empty() {
            truncate(name, 100)
        } else {
            format!("{field}.{}", truncate(name, 100))
        }
    };
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (name, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let expected = expected
            .trim_start_matches(", expected one of ")
            .trim_start_matches(", expected ")
            .replace('`', "");
        let message = if read_only(name) {
            format!("Field '{name}' is read-only")
        } else {
            format!("Unknown field '{}'", truncate(name, 100))
        };
        // The path already ends at the unknown key.
        let error = FieldError::new(
            if field.is_empty() {
                within(name)
            } else {
                field.to_owned()
            },
            message,
        );
        return if expected.starts_with(", there are no fields") {
            error
        } else {
            error.expected(expected)
        };
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or(rest);
        return FieldError::new(within(name), format!("{name} is required"));
    }
    let expected = message
        .split_once(", expected ")
        .map(|(_, expected)| plain(expected));
    match (received, expected) {
        (Some(Value::Null), Some(expected)) => {
            FieldError::new(field, format!("{field} cannot be null"))
                .received(Value::Null)
                .expected(expected)
        }
        (Some(value), Some(expected)) => wrong_type(field, value.clone(), &expected),
        _ => FieldError::new(field, format!("{field} is not valid: {message}")),
    }
}

/// Serde's name of an expected type, in the API's words.
fn plain(expected: &str) -> String {
    match expected {
        "a sequence" => "an array".to_owned(),
        "a map" => "a JSON object".to_owned(),
        "u8" | "u16" | "u32" | "u64" | "usize" => "a non-negative integer".to_owned(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "an integer".to_owned(),
        other if other.starts_with("struct ") => "a JSON object".to_owned(),
        other => other.to_owned(),
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
pub fn name(field: &str, sent: String) -> Result<String, FieldError> {
    const MAX_CHARS: usize = 255;
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

/// A query parameter's value out of a closed set, parsed by `parse`.
pub fn one_of<T>(
    field: &str,
    value: &str,
    parse: impl Fn(&str) -> Option<T>,
    allowed: &[&str],
) -> Result<T, FieldError> {
    parse(value).ok_or_else(|| {
        FieldError::new(
            field,
            format!("{field} must be one of: {}", allowed.join(", ")),
        )
        .received(truncate(value, 200))
        .expected(allowed.to_vec())
    })
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

    fn new_contact(v: Value) -> Result<contactd_wire::NewContact, FieldError> {
        decode::<_, contactd_wire::Contact>(map(v))
    }

    #[test]
    fn unknown_and_read_only_fields_are_named() {
        let err = new_contact(json!({"phone": "+1", "foo": 2})).err();
        assert_eq!(
            err.as_ref().map(|e| (e.field.as_str(), e.message.as_str())),
            Some(("foo", "Unknown field 'foo'"))
        );
        let err = new_contact(json!({"id": "x"})).err();
        assert_eq!(
            err.map(|e| e.message),
            Some("Field 'id' is read-only".to_owned())
        );
    }

    #[test]
    fn a_wrong_type_names_the_field_what_came_and_what_was_expected() {
        let err = new_contact(json!({"phone": 5})).err();
        assert_eq!(err.as_ref().map(|e| e.field.as_str()), Some("phone"));
        assert_eq!(
            err.as_ref().and_then(|e| e.received.clone()),
            Some(json!(5))
        );
        assert_eq!(err.and_then(|e| e.expected), Some(json!("a string")));
        let err = new_contact(json!({"preferred_channel": "fax"})).err();
        assert_eq!(
            err.as_ref().map(|e| e.message.as_str()),
            Some("preferred_channel must be one of: whatsapp, instagram, sms, email")
        );
        let err = new_contact(json!({"status": null})).err();
        assert_eq!(
            err.map(|e| e.message),
            Some("status cannot be null".to_owned())
        );
    }

    #[test]
    fn nested_fields_are_dotted_and_items_indexed() {
        let err = decode_request::<contactd_wire::NewSegment>(map(
            json!({"name": "a", "filter": {"metadata.plan": 5}}),
        ))
        .err();
        assert_eq!(
            err.map(|e| e.field),
            Some("filter.metadata.plan".to_owned())
        );
        let err =
            decode_request::<contactd_wire::BatchRequest<Value>>(map(json!({"contacts": 5}))).err();
        assert_eq!(err.and_then(|e| e.expected), Some(json!("an array")));
        let err = decode_request::<contactd_wire::NewSegment>(map(json!({"filter": {}}))).err();
        assert_eq!(err.map(|e| e.message), Some("name is required".to_owned()));
    }

    #[test]
    fn names_reject_blank_long_and_control() {
        assert!(name("first_name", "John".into()).is_ok());
        assert!(name("first_name", "  ".into()).is_err());
        assert!(name("first_name", "a".repeat(256)).is_err());
        assert!(name("first_name", "a\u{0}b".into()).is_err());
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
            let err = name("last_name", String::from(blank)).err();
            assert_eq!(
                err.map(|e| e.field).as_deref(),
                Some("last_name"),
                "{blank:?}"
            );
        }
        assert_eq!(name("n", String::from(" Ada ")), Ok("Ada".to_owned()));
        assert_eq!(
            name("n", String::from("\u{200B}Ada\u{FEFF}")),
            Ok("Ada".to_owned())
        );
        assert_eq!(
            name("n", String::from("A\u{200D}da")),
            Ok("A\u{200D}da".to_owned())
        );
        assert_eq!(name("n", String::from("José")), Ok("José".to_owned()));
        assert!(name("n", format!(" {} ", "a".repeat(255))).is_ok());
    }
}
