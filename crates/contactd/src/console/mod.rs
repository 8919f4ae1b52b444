//! `/console`: the web console in the binary, for people who do not write code.
//!
//! Server-rendered HTML (maud), one module per resource like the API (`contacts`,
//! `import`), signed in with an API key (`session`). Pages call the same domain parsers
//! and the same store as the API handlers, in process, so a console user meets the API's
//! rules and errors, shown next to the field they name. Everything the pages need is
//! embedded (`assets`): a stylesheet and htmx for the import's live progress; nothing
//! comes from another host, and a strict Content-Security-Policy says so to the browser.
//!
//! Pages for resources the API does not have yet (identities, merges and duplicates,
//! webhooks) are added as their own modules and routes here, and as a link in
//! `page::NAV`.

mod assets;
mod contacts;
mod import;
mod page;
mod session;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};

use crate::store::Store;

pub use self::session::{Sessions, IDLE_EXPIRY};

/// The Content-Security-Policy of every console answer: only this origin's scripts,
/// styles and images, no inline script or style, no framing, forms posted here only.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// The console's store, and what it keeps in memory: sessions and imports in progress.
pub struct ConsoleState {
    store: Arc<dyn Store>,
    sessions: Sessions,
    imports: import::Imports,
}

/// The console's routes, for the application's router (`api::router` mounts them under
/// its request ids, tracing, deadlines and panic catching). Handlers reach the store
/// through [`ConsoleState`], so the console depends on the store, not on the API.
pub fn router<S: Clone + Send + Sync + 'static>(store: Arc<dyn Store>) -> Router<S> {
    let console = Arc::new(ConsoleState {
        store,
        sessions: Sessions::default(),
        imports: import::Imports::default(),
    });
    Router::new()
        .route(
            "/console",
            get(|| async { Redirect::to("/console/contacts") }),
        )
        .route(
            "/console/",
            get(|| async { Redirect::to("/console/contacts") }),
        )
        .route(
            "/console/sign-in",
            get(session::sign_in_page).post(session::sign_in),
        )
        .route("/console/sign-out", post(session::sign_out))
        .route(
            "/console/contacts",
            get(contacts::list).post(contacts::create),
        )
        .route("/console/contacts/new", get(contacts::new_form))
        .route(
            "/console/contacts/{id}",
            get(contacts::show).post(contacts::update),
        )
        .route("/console/contacts/{id}/edit", get(contacts::edit_form))
        .route(
            "/console/contacts/{id}/delete",
            get(contacts::delete_form).post(contacts::delete),
        )
        .route("/console/export.csv", get(contacts::export))
        .route(
            "/console/import",
            get(import::upload_form)
                .post(import::upload)
                .layer(DefaultBodyLimit::max(import::MAX_UPLOAD)),
        )
        .route("/console/import/{job}", get(import::job_page))
        .route("/console/import/{job}/progress", get(import::progress))
        .route("/console/import/{job}/rejected.csv", get(import::rejected))
        .route("/console/assets/{name}", get(assets::serve))
        .route("/console/{*rest}", get(not_found).post(not_found))
        .layer(axum::middleware::from_fn(same_origin_writes))
        .layer(axum::middleware::from_fn(security_headers))
        .layer(Extension(console))
}

/// Refuses a request that changes data unless the browser says it comes from a console
/// page: `Sec-Fetch-Site` same-origin (or none: typed by the user), and an `Origin`, when
/// sent, naming this host. SameSite=Strict already keeps the cookie off other sites'
/// requests; this also covers other origins of the same site (another port, a subdomain),
/// and the CSRF token of each form covers browsers that send neither header.
async fn same_origin_writes(req: Request, next: Next) -> Response {
    if req.method() == Method::GET || req.method() == Method::HEAD {
        return next.run(req).await;
    }
    if !same_origin(req.headers()) {
        return page::refused(
            StatusCode::FORBIDDEN,
            "Cross-site request refused",
            "This form was sent from another site or origin. Open the console and try again there.",
        );
    }
    next.run(req).await
}

/// `Sec-Fetch-Site`, which browsers compute themselves and pages cannot set, decides when
/// it is sent; older browsers are judged by `Origin` against the host they asked for (the
/// `Host`, or the `X-Forwarded-Host` of a proxy that rewrites it).
fn same_origin(headers: &HeaderMap) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        return site == "same-origin" || site == "none";
    }
    let Some(origin) = text("origin") else {
        return true;
    };
    let host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    host.is_some_and(|host| {
        [text("host"), text("x-forwarded-host")]
            .into_iter()
            .flatten()
            .any(|asked| asked.eq_ignore_ascii_case(host))
    })
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    response
}

async fn not_found() -> Response {
    page::refused(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no such page in the console.",
    )
}

/// An error of a console page, as a page.
pub(crate) fn error_page(e: crate::error::ApiError) -> Response {
    let status = e.status();
    if status.is_server_error() {
        if let crate::error::ApiError::Internal(cause) = &e {
            tracing::error!(error = format!("{cause:#}"), "console: internal error");
        }
    }
    let envelope = e.envelope();
    page::refused(status, &title_of(status), &envelope.message).into_response()
}

fn title_of(status: StatusCode) -> String {
    match status {
        StatusCode::NOT_FOUND => "Not found".to_owned(),
        StatusCode::BAD_REQUEST => "Invalid request".to_owned(),
        StatusCode::SERVICE_UNAVAILABLE => "Unavailable".to_owned(),
        other => other
            .canonical_reason()
            .unwrap_or("Something went wrong")
            .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn only_this_origin_may_post() {
        assert!(same_origin(&headers(&[("host", "h:1")])));
        assert!(same_origin(&headers(&[
            ("host", "h:1"),
            ("origin", "http://h:1"),
            ("sec-fetch-site", "same-origin"),
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "h:1"),
            ("origin", "http://h:2"),
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "h:1"),
            ("sec-fetch-site", "same-site"),
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "h:1"),
            ("origin", "null")
        ])));
        assert!(same_origin(&headers(&[
            ("host", "backend:8080"),
            ("x-forwarded-host", "contacts.example.com"),
            ("origin", "https://contacts.example.com"),
        ])));
    }
}
