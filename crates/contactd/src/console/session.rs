//! Console sessions: an API key, given once on the sign-in form, opens a session named by
//! a random token in an HttpOnly, SameSite=Strict cookie scoped to `/console`.
//!
//! Sessions live in this process's memory. A console is used by a few people at a time,
//! and a lost session costs one sign-in, so a restart or another replica asking for a new
//! sign-in is acceptable; behind a load balancer with several replicas, route `/console`
//! to one of them or pin clients to a replica (sticky sessions). What must hold everywhere
//! does: every request checks the key again in the database, so a key revoked on any
//! replica ends its sessions on the next request, and sign-out forgets the token, so the
//! old cookie no longer opens anything. A session also ends after [`IDLE_EXPIRY`] unused.
//!
//! Each session has its own CSRF token, put in every form that changes data and checked on
//! each POST (with the `Origin`/`Sec-Fetch-Site` check of `console::same_origin_writes`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use maud::html;
use serde::Deserialize;

use super::{page, ConsoleState};
use crate::domain::api_key::{self, KeyHash};
use crate::domain::tenant::Tenant;

pub const COOKIE: &str = "contactd_console";
pub const IDLE_EXPIRY: Duration = Duration::from_secs(12 * 60 * 60);
/// Sessions kept at most; past it, expired ones are dropped, then the sign-in is refused.
const MAX_SESSIONS: usize = 10_000;
pub const SIGN_IN_PATH: &str = "/console/sign-in";

/// A signed-in console user: whose data, which key, and the CSRF token of the session.
#[derive(Clone)]
pub struct Session {
    pub tenant: Tenant,
    key: KeyHash,
    /// Whose console this is: the workspace's name and the key's public prefix
    /// (`sk_test_abcd1234`).
    pub workspace: String,
    pub key_prefix: String,
    pub csrf: String,
    last_seen: Instant,
}

#[derive(Default)]
pub struct Sessions {
    by_token: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// Opens a session; returns its token, or None when too many are open.
    fn open(
        &self,
        tenant: Tenant,
        key: KeyHash,
        workspace: String,
        key_prefix: String,
    ) -> Option<String> {
        let mut sessions = self.by_token.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if sessions.len() >= MAX_SESSIONS {
            sessions.retain(|_, s| now.duration_since(s.last_seen) < IDLE_EXPIRY);
            if sessions.len() >= MAX_SESSIONS {
                return None;
            }
        }
        let token = random_token();
        sessions.insert(
            token.clone(),
            Session {
                tenant,
                key,
                workspace,
                key_prefix,
                csrf: random_token(),
                last_seen: now,
            },
        );
        Some(token)
    }

    /// The session of a token, if it is open and was used within [`IDLE_EXPIRY`] of `now`;
    /// using it renews it.
    fn find_at(&self, token: &str, now: Instant) -> Option<Session> {
        let mut sessions = self.by_token.lock().unwrap_or_else(|e| e.into_inner());
        let session = sessions.get_mut(token)?;
        if now.saturating_duration_since(session.last_seen) >= IDLE_EXPIRY {
            sessions.remove(token);
            return None;
        }
        session.last_seen = now;
        Some(session.clone())
    }

    fn close(&self, token: &str) {
        let mut sessions = self.by_token.lock().unwrap_or_else(|e| e.into_inner());
        sessions.remove(token);
    }

    /// Ends every session of a key (it was revoked).
    fn close_key(&self, key: KeyHash) {
        let mut sessions = self.by_token.lock().unwrap_or_else(|e| e.into_inner());
        sessions.retain(|_, s| s.key != key);
    }
}

fn random_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// The value of a cookie in the request's `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// The request's session; pages that need one take it as an extractor, and a request
/// without a live session is sent to the sign-in form.
pub struct SignedIn {
    pub session: Session,
    token: String,
}

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        let console = console_state(parts)?;
        let token = cookie(&parts.headers, COOKIE)
            .ok_or_else(to_sign_in)?
            .to_owned();
        let session = console
            .sessions
            .find_at(&token, Instant::now())
            .ok_or_else(to_sign_in)?;
        // The key is checked on every request, so a revocation ends the session at once.
        match console.store.tenant_for_key(session.key).await {
            Ok(Some(tenant)) if tenant == session.tenant => Ok(SignedIn { session, token }),
            Ok(_) => {
                console.sessions.close_key(session.key);
                Err(to_sign_in())
            }
            Err(e) => Err(super::error_page(e.into())),
        }
    }
}

impl SignedIn {
    /// Checks a form's CSRF token against the session's.
    pub fn check_csrf(&self, sent: Option<&str>) -> Result<(), Response> {
        let expected = self.session.csrf.as_bytes();
        let matches = sent.is_some_and(|sent| {
            let sent = sent.as_bytes();
            sent.len() == expected.len()
                && sent
                    .iter()
                    .zip(expected)
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
        });
        if matches {
            Ok(())
        } else {
            Err(page::refused(
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form does not carry this session's token. Reload the page and send it again.",
            ))
        }
    }
}

fn console_state(parts: &Parts) -> Result<Arc<ConsoleState>, Response> {
    parts
        .extensions
        .get::<Arc<ConsoleState>>()
        .cloned()
        .ok_or_else(|| {
            super::error_page(crate::error::ApiError::Internal(anyhow::anyhow!(
                "the console's state is missing"
            )))
        })
}

fn to_sign_in() -> Response {
    Redirect::to(SIGN_IN_PATH).into_response()
}

pub async fn sign_in_page() -> Response {
    sign_in_form(StatusCode::OK, None)
}

fn sign_in_form(status: StatusCode, error: Option<&str>) -> Response {
    let body = html! {
        h1 { "Sign in" }
        p { "Sign in with an API key. The console shows and changes that key's workspace and mode only." }
        form method="post" action=(SIGN_IN_PATH) class="stack narrow" {
            (page::input_field(&page::Field {
                name: "api_key",
                label: "API key",
                value: "",
                kind: "password",
                hint: Some("sk_live_… or sk_test_…"),
                error: error.map(|message| page::FormError { field: Some("api_key".into()), message: message.to_owned(), expected: None, link: None }).as_ref(),
                required: true,
            }))
            button type="submit" { "Sign in" }
        }
    };
    (
        status,
        page::layout("Sign in", None, page::Section::None, body),
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    api_key: String,
}

pub async fn sign_in(
    Extension(console): Extension<Arc<ConsoleState>>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let presented = form.api_key.trim();
    let Some(prefix) = key_prefix(presented) else {
        return sign_in_form(
            StatusCode::UNAUTHORIZED,
            Some("This is not an API key: they start with sk_live_ or sk_test_"),
        );
    };
    let hash = api_key::hash(presented);
    let tenant = match console.store.tenant_for_key(hash).await {
        Ok(Some(tenant)) => tenant,
        Ok(None) => {
            return sign_in_form(StatusCode::UNAUTHORIZED, Some("Unknown or revoked API key"))
        }
        Err(e) => return super::error_page(e.into()),
    };
    // The workspace's name, for the page header; a sign-in is rare enough to list keys.
    let workspace = match console.store.list_keys().await {
        Ok(keys) => keys
            .into_iter()
            .find(|k| k.prefix == prefix)
            .map(|k| k.workspace),
        Err(_) => None,
    }
    .unwrap_or_else(|| tenant.workspace_id.clone());
    let Some(token) = console.sessions.open(tenant, hash, workspace, prefix) else {
        return super::error_page(crate::error::ApiError::Unavailable(
            "Too many console sessions are open; try again later".into(),
        ));
    };
    let mut response = Redirect::to("/console/contacts").into_response();
    if let Ok(cookie) = HeaderValue::from_str(&session_cookie(&token, is_https(&headers))) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// The public prefix of a well-formed key, as `contactd keys list` shows it.
fn key_prefix(presented: &str) -> Option<String> {
    let mode = api_key::claimed_mode(presented)?;
    let head = format!("sk_{}_", mode.as_str());
    Some(format!(
        "{head}{}",
        presented.get(head.len()..head.len() + 8)?
    ))
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: Option<String>,
}

pub async fn sign_out(
    signed_in: SignedIn,
    Extension(console): Extension<Arc<ConsoleState>>,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Err(refused) = signed_in.check_csrf(form.csrf.as_deref()) {
        return refused;
    }
    console.sessions.close(&signed_in.token);
    let mut response = Redirect::to(SIGN_IN_PATH).into_response();
    if let Ok(cookie) = HeaderValue::from_str(&ended_cookie(is_https(&headers))) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// Whether the browser reached us over HTTPS (through a proxy that terminates TLS): then
/// the cookie is `Secure`.
fn is_https(headers: &HeaderMap) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    text("x-forwarded-proto").is_some_and(|p| p.eq_ignore_ascii_case("https"))
        || text("origin").is_some_and(|o| o.starts_with("https://"))
}

fn session_cookie(token: &str, secure: bool) -> String {
    format!(
        "{COOKIE}={token}; Path=/console; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

fn ended_cookie(secure: bool) -> String {
    format!(
        "{COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tenant::Mode;

    fn tenant() -> Tenant {
        Tenant {
            workspace_id: "ws_1".into(),
            mode: Mode::Test,
        }
    }

    #[test]
    fn a_session_ends_after_twelve_idle_hours_and_lives_while_used() {
        let sessions = Sessions::default();
        let key = api_key::hash("sk_test_x");
        let token = sessions.open(tenant(), key, "acme".into(), "sk_test_x".into());
        let token = token.as_deref().unwrap_or_default();
        let start = Instant::now();
        let hour = Duration::from_secs(3600);
        assert!(sessions.find_at(token, start + 11 * hour).is_some());
        assert!(
            sessions.find_at(token, start + 22 * hour).is_some(),
            "renewed by use"
        );
        assert!(
            sessions.find_at(token, start + 34 * hour).is_none(),
            "12 h idle"
        );
        assert!(sessions.find_at(token, start + 35 * hour).is_none());
    }

    #[test]
    fn sign_out_and_revocation_forget_the_token() {
        let sessions = Sessions::default();
        let key = api_key::hash("sk_test_x");
        let a = sessions
            .open(tenant(), key, "acme".into(), "p".into())
            .unwrap_or_default();
        let b = sessions
            .open(tenant(), key, "acme".into(), "p".into())
            .unwrap_or_default();
        assert_ne!(a, b);
        sessions.close(&a);
        assert!(sessions.find_at(&a, Instant::now()).is_none());
        assert!(sessions.find_at(&b, Instant::now()).is_some());
        sessions.close_key(key);
        assert!(sessions.find_at(&b, Instant::now()).is_none());
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_scoped_to_the_console() {
        let cookie = session_cookie("t", false);
        assert_eq!(
            cookie,
            "contactd_console=t; Path=/console; HttpOnly; SameSite=Strict"
        );
        assert!(session_cookie("t", true).ends_with("; Secure"));
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; contactd_console=tok; b=2"),
        );
        assert_eq!(cookie(&headers, COOKIE), Some("tok"));
    }
}
