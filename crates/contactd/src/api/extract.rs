//! Extractors that answer every rejection with the API's error envelope.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::header::CONTENT_LENGTH;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::AppState;
use crate::domain::input::truncate;
use crate::domain::FieldError;
use crate::error::ApiError;

/// A JSON object body, read as JSON whatever the Content-Type says (curl's `-d` sends
/// `application/x-www-form-urlencoded`), within the configured size limit.
pub struct JsonBody(pub Map<String, Value>);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes = read_body(req, state.body_limit, state.body_timeout).await?;
        parse_object(&bytes).map(JsonBody)
    }
}

/// The body of an action that takes no fields (rotate a secret, retry a delivery, undo a
/// merge): empty or `{}`. A field sent is refused rather than ignored, as a misspelled one
/// is on the other endpoints: the client meant something that would not happen.
pub struct NoBody;

impl FromRequest<AppState> for NoBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes = read_body(req, state.body_limit, state.body_timeout).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(NoBody);
        }
        match parse_object(&bytes)?.keys().next() {
            None => Ok(NoBody),
            Some(field) => Err(FieldError::new(
                truncate(field, 100),
                format!(
                    "Unknown field '{}': this request takes no body fields",
                    truncate(field, 100)
                ),
            )
            .expected("an empty body or {}")
            .into()),
        }
    }
}

/// How much of a body over the limit is read and thrown away before the 413, as a multiple
/// of the limit.
const DRAIN_FACTOR: usize = 4;

/// The body of `req`, at most `limit` bytes, sent within `timeout`.
///
/// A larger body is answered 413, but only after the rest of it is read and discarded (up
/// to [`DRAIN_FACTOR`] × `limit`, within the same `timeout`): a client that writes its whole
/// body before it reads (Python's urllib, many scripts) would otherwise see the connection
/// close under its write, a broken pipe instead of the 413.
pub async fn read_body(req: Request, limit: usize, timeout: Duration) -> Result<Bytes, ApiError> {
    let (parts, body) = req.into_parts();
    read_body_of(&parts.headers, body, limit, timeout).await
}

/// [`read_body`] for a request already taken apart.
pub async fn read_body_of(
    headers: &HeaderMap,
    mut body: Body,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, ApiError> {
    let too_large = || ApiError::PayloadTooLarge { limit };
    let drain_max = limit.saturating_mul(DRAIN_FACTOR);
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > drain_max as u64) {
        // Too large to be worth reading: answer at once and let the connection close.
        return Err(too_large());
    }
    let deadline = Instant::now() + timeout;
    let mut kept = BytesMut::new();
    let mut received: usize = 0;
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(None) => break,
            Ok(Some(Ok(frame))) => frame,
            Err(_) if received > limit => return Err(too_large()),
            Err(_) => return Err(ApiError::RequestTimeout),
            Ok(Some(Err(_))) if received > limit => return Err(too_large()),
            Ok(Some(Err(_))) => {
                return Err(ApiError::InvalidBody(
                    "The request body could not be read".into(),
                ))
            }
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        received = received.saturating_add(data.len());
        if received <= limit {
            kept.extend_from_slice(&data);
        } else if received > drain_max {
            return Err(too_large());
        } else if !kept.is_empty() {
            kept = BytesMut::new();
        }
    }
    if received > limit {
        return Err(too_large());
    }
    Ok(kept.freeze())
}

fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::InvalidBody(
            "Request body is empty; send a JSON object".into(),
        ));
    }
    match unique_keys::parse(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::InvalidBody(
            "Request body must be a JSON object".into(),
        )),
        Err(unique_keys::Error::Repeated { path, key }) => Err(FieldError::new(
            path,
            format!("The key '{key}' appears more than once in one JSON object"),
        )
        .expected("each key at most once per object")
        .into()),
        Err(unique_keys::Error::Json(e)) => Err(ApiError::InvalidBody(format!(
            "Request body is not valid JSON: {e}"
        ))),
    }
}

/// JSON parsing that refuses a key repeated in one object, which serde_json would accept,
/// keeping the last value: `{"phone": "+1…1", "phone": "+1…2"}` must not silently mean the
/// second phone. One pass, no second walk; the path of a repeat is built only on error.
mod unique_keys {
    use std::cell::RefCell;
    use std::fmt;

    use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
    use serde_json::{Map, Value};

    use crate::domain::input::truncate;

    pub enum Error {
        /// `path` is dotted, with `[i]` for array items: `metadata.a[1].b`.
        Repeated {
            path: String,
            key: String,
        },
        Json(serde_json::Error),
    }

    pub fn parse(bytes: &[u8]) -> Result<Value, Error> {
        let repeated = RefCell::new(None);
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let parsed = Node {
            at: Path::Root,
            repeated: &repeated,
        }
        .deserialize(&mut de)
        .and_then(|value| de.end().map(|()| value));
        match (parsed, repeated.into_inner()) {
            (Err(_), Some((path, key))) => Err(Error::Repeated { path, key }),
            (Err(e), None) => Err(Error::Json(e)),
            (Ok(value), _) => Ok(value),
        }
    }

    /// Where a value sits, as a chain of borrowed parents: nothing is allocated while parsing.
    #[derive(Clone, Copy)]
    enum Path<'a> {
        Root,
        Key(&'a Path<'a>, &'a str),
        Index(&'a Path<'a>, usize),
    }

    impl fmt::Display for Path<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                Path::Root => Ok(()),
                Path::Key(Path::Root, key) => write!(f, "{}", truncate(key, 100)),
                Path::Key(parent, key) => write!(f, "{parent}.{}", truncate(key, 100)),
                Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
            }
        }
    }

    /// A JSON value at `at`; a repeated key is recorded in `repeated`, then parsing stops.
    struct Node<'a> {
        at: Path<'a>,
        repeated: &'a RefCell<Option<(String, String)>>,
    }

    impl<'de> DeserializeSeed<'de> for Node<'_> {
        type Value = Value;

        fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
            deserializer.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Node<'_> {
        type Value = Value;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON value")
        }

        fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
            Ok(Value::Bool(v))
        }

        fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
            Ok(Value::from(v))
        }

        fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
            Ok(Value::from(v))
        }

        fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
            Ok(Value::from(v))
        }

        fn visit_str<E>(self, v: &str) -> Result<Value, E> {
            Ok(Value::String(v.to_owned()))
        }

        fn visit_string<E>(self, v: String) -> Result<Value, E> {
            Ok(Value::String(v))
        }

        fn visit_unit<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
            let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
            while let Some(item) = seq.next_element_seed(Node {
                at: Path::Index(&self.at, items.len()),
                repeated: self.repeated,
            })? {
                items.push(item);
            }
            Ok(Value::Array(items))
        }

        fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
            let mut map = Map::new();
            while let Some(key) = access.next_key::<String>()? {
                if map.contains_key(&key) {
                    let path = Path::Key(&self.at, &key).to_string();
                    *self.repeated.borrow_mut() = Some((path, truncate(&key, 100)));
                    return Err(de::Error::custom("a key is repeated"));
                }
                let value = access.next_value_seed(Node {
                    at: Path::Key(&self.at, &key),
                    repeated: self.repeated,
                })?;
                map.insert(key, value);
            }
            Ok(Value::Object(map))
        }
    }
}

/// The decoded query string, checked against the parameters an endpoint knows.
pub struct QueryParams(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        Ok(QueryParams(
            form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect(),
        ))
    }
}

impl QueryParams {
    /// Rejects unknown and repeated parameters, so a typo is an error, not an ignored filter.
    pub fn only(self, allowed: &[&str]) -> Result<Self, ApiError> {
        for (i, (name, _)) in self.0.iter().enumerate() {
            if !allowed.contains(&name.as_str()) {
                return Err(FieldError::new(
                    truncate(name, 100),
                    format!("Unknown query parameter '{}'", truncate(name, 100)),
                )
                .expected(if allowed.is_empty() {
                    "no query parameters".to_owned()
                } else {
                    allowed.join(", ")
                })
                .into());
            }
            if self.0[..i].iter().any(|(seen, _)| seen == name) {
                return Err(FieldError::new(
                    name.clone(),
                    format!("Query parameter '{name}' is given more than once"),
                )
                .into());
            }
        }
        Ok(self)
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The one path parameter of a route (`{ref}` or `{id}`), percent-decoded.
pub struct PathParam(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(PathParam(value)),
            Err(_) => Err(FieldError::new(
                "ref",
                "The path segment is not valid UTF-8 after percent-decoding",
            )
            .into()),
        }
    }
}

/// Two path segments, e.g. `{ref}` and `{identity}`, percent-decoded.
pub struct PathPair(pub String, pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathPair {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<(String, String)>::from_request_parts(parts, state).await {
            Ok(Path((first, second))) => Ok(PathPair(first, second)),
            Err(_) => Err(FieldError::new(
                "ref",
                "The path segment is not valid UTF-8 after percent-decoding",
            )
            .into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_must_be_json_objects() {
        assert!(parse_object(br#"{"a": 1}"#).is_ok());
        for bad in [
            &b""[..],
            b"  ",
            b"[1]",
            b"null",
            b"\"x\"",
            b"{",
            b"phone=+1",
        ] {
            assert!(matches!(parse_object(bad), Err(ApiError::InvalidBody(_))));
        }
    }

    fn repeated_at(body: &str) -> Option<String> {
        match parse_object(body.as_bytes()) {
            Err(ApiError::InvalidInput(e)) => Some(e.field),
            _ => None,
        }
    }

    #[test]
    fn a_repeated_key_is_named_by_its_path() {
        assert_eq!(repeated_at(r#"{"a": 1, "a": 2}"#).as_deref(), Some("a"));
        assert_eq!(
            repeated_at(r#"{"a": 1, "\u0061": 2}"#).as_deref(),
            Some("a")
        );
        assert_eq!(
            repeated_at(r#"{"m": {"x": [0, {"k": {"b": 1, "b": null}}]}}"#).as_deref(),
            Some("m.x[1].k.b")
        );
        assert_eq!(
            repeated_at(r#"{"a": {"x": 1}, "b": {"x": 1}, "x": 1}"#),
            None
        );
    }

    #[test]
    fn parsing_keeps_values_and_order() {
        let body = r#"{"z": [1, -2, 2.5, 18446744073709551615, "s", null, true], "a": {}}"#;
        let parsed = parse_object(body.as_bytes()).ok().map(Value::Object);
        assert_eq!(parsed, serde_json::from_str::<Value>(body).ok());
        assert_eq!(
            parsed.map(|v| v.to_string()).as_deref(),
            Some(r#"{"z":[1,-2,2.5,18446744073709551615,"s",null,true],"a":{}}"#)
        );
        assert!(matches!(
            parse_object(b"{\"a\": 1} x"),
            Err(ApiError::InvalidBody(_))
        ));
    }
}
