//! The console's static files, embedded in the binary: its stylesheet and htmx (vendored
//! from the npm package `htmx.org`, version in `assets/README.md`).

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

const STYLESHEET: &str = include_str!("assets/console.css");
const HTMX: &str = include_str!("assets/htmx.min.js");

/// Paths of the assets, for the pages that link them.
pub const STYLESHEET_PATH: &str = "/console/assets/console.css";
pub const HTMX_PATH: &str = "/console/assets/htmx.min.js";

pub async fn serve(Path(name): Path<String>) -> Response {
    let (body, content_type) = match name.as_str() {
        "console.css" => (STYLESHEET, "text/css; charset=utf-8"),
        "htmx.min.js" => (HTMX, "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        body,
    )
        .into_response()
}
