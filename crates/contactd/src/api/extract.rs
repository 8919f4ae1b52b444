//! Extractors that answer every rejection with the API's error envelope.

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::header::CONTENT_LENGTH;
use axum::http::request::Parts;
use serde_json::{Map, Value};

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
        let limit = state.body_limit;
        let too_large = ApiError::PayloadTooLarge { limit };
        let declared = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(too_large);
        }
        let read = axum::body::to_bytes(req.into_body(), limit);
        let bytes = tokio::time::timeout(state.body_timeout, read)
            .await
            .map_err(|_| ApiError::RequestTimeout)?
            .map_err(|e| {
                if is_length_limit(&e) {
                    too_large
                } else {
                    ApiError::InvalidBody("The request body could not be read".into())
                }
            })?;
        parse_object(&bytes).map(JsonBody)
    }
}

fn is_length_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::InvalidBody(
            "Request body is empty; send a JSON object".into(),
        ));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::InvalidBody(
            "Request body must be a JSON object".into(),
        )),
        Err(e) => Err(ApiError::InvalidBody(format!(
            "Request body is not valid JSON: {e}"
        ))),
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
                .expected(allowed.join(", "))
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
}
