//! API key authentication: the tenant of every request comes from its key, and only there;
//! and the rate limits that go with it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::client_ip::shown;
use super::AppState;
use crate::domain::api_key::{self, KeyHash};
use crate::domain::tenant::Tenant;
use crate::error::ApiError;
use crate::store::{KeyRevocations, StoreError};

pub const API_KEY_HEADER: &str = "x-api-key";

/// The tenant (workspace and mode) of an authenticated request.
pub struct Auth(pub Tenant);

/// Put in a request's extensions by [`authenticate_request`].
#[derive(Clone)]
struct Authenticated(Tenant);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match parts.extensions.get::<Authenticated>() {
            Some(Authenticated(tenant)) => Ok(Auth(tenant.clone())),
            None => authenticate(state, &parts.headers)
                .await
                .map(|(t, _)| Auth(t)),
        }
    }
}

/// The tenant [`authenticate_request`] found for this request, if it ran.
pub fn authenticated_tenant(extensions: &axum::http::Extensions) -> Option<Tenant> {
    extensions.get::<Authenticated>().map(|a| a.0.clone())
}

/// Authenticates every request of the API routes once, before anything else runs:
/// looks the key up, spends one request of its rate limit, and adds the `X-RateLimit-*`
/// headers to the answer.
///
/// An address that sent too many wrong keys gets 429 for every request without a valid
/// key; a valid key is still looked up and served, so that one client guessing keys
/// cannot lock out the others behind the same address (a NAT, a proxy).
pub async fn authenticate_request(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let client = state
        .trusted_proxies
        .client_of(req.extensions(), req.headers());
    let (tenant, hash) = match authenticate(&state, req.headers()).await {
        Ok(authenticated) => authenticated,
        Err(e @ ApiError::Unauthorized(_)) => return refuse(&state, client, req.headers(), e),
        Err(e) => return e.into_response(),
    };
    let decision = state.limiter.request(hash);
    let mut response = match decision {
        Some(d) if !d.allowed => {
            tracing::info!(client = %shown(client), "refused: the key is over its rate limit");
            ApiError::RateLimited {
                retry_after_secs: d.retry_after_secs,
            }
            .into_response()
        }
        _ => {
            req.extensions_mut().insert(Authenticated(tenant));
            next.run(req).await
        }
    };
    if let Some(d) = decision {
        let headers = response.headers_mut();
        for (name, value) in [
            ("x-ratelimit-limit", d.limit),
            ("x-ratelimit-remaining", d.remaining),
            ("x-ratelimit-reset", d.reset_secs),
        ] {
            headers.insert(name, HeaderValue::from(value));
        }
    }
    response
}

/// The answer to a request without a valid key: 429 when its address is over its
/// failure budget, else 401, and a wrong key counts against the address (a missing one
/// is no guess).
fn refuse(
    state: &AppState,
    client: Option<IpAddr>,
    headers: &HeaderMap,
    unauthorized: ApiError,
) -> Response {
    if let Some(ip) = client {
        let budget = state.limiter.may_authenticate(ip);
        if !budget.allowed {
            tracing::info!(client = %ip, "refused: too many wrong API keys from this address");
            return ApiError::RateLimited {
                retry_after_secs: budget.retry_after_secs,
            }
            .into_response();
        }
        if headers.contains_key(API_KEY_HEADER) {
            state.limiter.failed_authentication(ip);
        }
    }
    tracing::info!(client = %shown(client), reason = %unauthorized, "refused: no valid API key");
    unauthorized.into_response()
}

/// The tenant of the key in `X-API-Key` (and the key's hash), or `unauthorized`.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(Tenant, KeyHash), ApiError> {
    let presented = headers
        .get(API_KEY_HEADER)
        .ok_or(ApiError::Unauthorized(
            "Missing API key: send it in the X-API-Key header",
        ))?
        .to_str()
        .map_err(|_| ApiError::Unauthorized("Invalid API key"))?
        .trim();
    if let Some((tenant, hash)) = state.key_cache.get(presented) {
        state.note_key_use(hash);
        return Ok((tenant, hash));
    }
    if api_key::claimed_mode(presented).is_none() {
        return Err(ApiError::Unauthorized("Invalid API key"));
    }
    let generation = state.key_cache.generation();
    let hash = api_key::hash(presented);
    let found = match state.store.tenant_for_key(hash).await {
        Ok(found) => {
            state.known_keys.saw(hash, found.as_ref());
            if let Some(tenant) = &found {
                state.key_cache.put(presented, tenant, hash, generation);
            }
            found
        }
        // The database is away: a key that was valid a moment ago still says whose
        // request this is, so the request goes on and fails (503) only where it needs
        // the database, and requests that do not need it are served.
        Err(StoreError::Unavailable(reason)) => match state.known_keys.recent(hash) {
            Some(tenant) => {
                tracing::warn!(%reason, "key lookup failed; authenticated by a key seen valid moments ago");
                Some(tenant)
            }
            None => return Err(StoreError::Unavailable(reason).into()),
        },
        Err(e) => return Err(e.into()),
    };
    let tenant = found.ok_or(ApiError::Unauthorized("Invalid or revoked API key"))?;
    state.note_key_use(hash);
    Ok((tenant, hash))
}

/// Keys that authenticated lately, by the key as presented, so that a request with a
/// known key costs neither a SHA-256 nor a database lookup.
///
/// Revocation stays effective across servers: [`watch_revocations`] asks the database
/// every [`REVOCATION_CHECK`] for its revocations (a count and the latest time, no
/// hashing) and, when they changed or could not be read, moves the cache to a new
/// generation, which empties it. An entry also expires after [`CACHED_FOR`], whatever
/// happens. `contactd keys revoke` waits out one check before it returns, so a key it
/// reports revoked is refused by every running server.
///
/// Only keys the database confirmed are kept; a wrong key is looked up (and counted
/// against its address) every time.
#[derive(Default)]
pub struct KeyCache {
    entries: RwLock<HashMap<Box<str>, Cached>>,
    generation: AtomicU64,
}

struct Cached {
    tenant: Tenant,
    hash: KeyHash,
    at: Instant,
    generation: u64,
}

/// How often the database's revocations are read.
pub const REVOCATION_CHECK: Duration = Duration::from_millis(50);
/// Longest a cached key is trusted without a lookup.
const CACHED_FOR: Duration = Duration::from_secs(10);
/// Most keys cached; past it the cache starts over.
const CACHED_MAX: usize = 10_000;

impl KeyCache {
    fn get(&self, presented: &str) -> Option<(Tenant, KeyHash)> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let cached = entries.get(presented)?;
        let fresh = cached.generation == self.generation() && cached.at.elapsed() < CACHED_FOR;
        fresh.then(|| (cached.tenant.clone(), cached.hash))
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Caches a key the database confirmed, unless a revocation was seen since the
    /// lookup began (`generation` is the one from before it).
    fn put(&self, presented: &str, tenant: &Tenant, hash: KeyHash, generation: u64) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if generation != self.generation() {
            return;
        }
        if entries.len() >= CACHED_MAX {
            entries.clear();
        }
        entries.insert(
            presented.into(),
            Cached {
                tenant: tenant.clone(),
                hash,
                at: Instant::now(),
                generation,
            },
        );
    }

    /// Forgets every cached key.
    fn invalidate(&self) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }
}

/// Empties the key cache whenever the database's revocations change, or cannot be read
/// in time (then nothing says a cached key is still valid: a check that hangs on an
/// unreachable database must not keep the cache trusted). Runs for as long as the server
/// does.
pub async fn watch_revocations(state: AppState) {
    let mut every = tokio::time::interval(REVOCATION_CHECK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last: Option<KeyRevocations> = None;
    loop {
        every.tick().await;
        let now = tokio::time::timeout(REVOCATION_CHECK, state.store.key_revocations())
            .await
            .ok()
            .and_then(Result::ok);
        if now.is_none() || now != last {
            state.key_cache.invalidate();
        }
        last = now;
    }
}

/// Keys seen valid lately, for authenticating while the database cannot be asked.
/// A key lookup that finds no key forgets it at once, so a revoked key stops working as
/// soon as the database says so; this only bridges moments the database is unreachable.
#[derive(Default)]
pub struct KnownKeys {
    seen: Mutex<HashMap<KeyHash, (Tenant, Instant)>>,
}

/// How long a key seen valid still authenticates while the database is unreachable.
const KNOWN_FOR: Duration = Duration::from_secs(5 * 60);
/// How often a remembered key's time is renewed while it is in use.
const KNOWN_REFRESH: Duration = Duration::from_secs(60);
/// Most keys remembered; past it, those not seen within [`KNOWN_FOR`] are forgotten.
const KNOWN_MAX: usize = 10_000;

impl KnownKeys {
    fn saw(&self, hash: KeyHash, tenant: Option<&Tenant>) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let Some(tenant) = tenant else {
            seen.remove(&hash);
            return;
        };
        let now = Instant::now();
        // Every request passes here: refresh an entry once a minute, not on each request.
        if seen
            .get(&hash)
            .is_some_and(|(_, at)| now.duration_since(*at) < KNOWN_REFRESH)
        {
            return;
        }
        if seen.len() >= KNOWN_MAX && !seen.contains_key(&hash) {
            seen.retain(|_, (_, at)| now.duration_since(*at) < KNOWN_FOR);
            if seen.len() >= KNOWN_MAX {
                return;
            }
        }
        seen.insert(hash, (tenant.clone(), now));
    }

    fn recent(&self, hash: KeyHash) -> Option<Tenant> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let (tenant, at) = seen.get(&hash)?;
        (at.elapsed() < KNOWN_FOR).then(|| tenant.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tenant::Mode;

    fn tenant() -> Tenant {
        Tenant {
            workspace_id: "ws_1".into(),
            mode: Mode::Live,
        }
    }

    #[test]
    fn a_cached_key_is_dropped_by_a_new_generation() {
        let cache = KeyCache::default();
        let hash = api_key::hash("sk_live_example");
        assert!(cache.get("sk_live_example").is_none());
        cache.put("sk_live_example", &tenant(), hash, cache.generation());
        assert_eq!(cache.get("sk_live_example"), Some((tenant(), hash)));
        assert!(cache.get("sk_live_other").is_none());
        cache.invalidate();
        assert!(cache.get("sk_live_example").is_none());
    }

    #[test]
    fn a_lookup_that_raced_a_revocation_is_not_cached() {
        let cache = KeyCache::default();
        let hash = api_key::hash("sk_live_example");
        let before_lookup = cache.generation();
        cache.invalidate();
        cache.put("sk_live_example", &tenant(), hash, before_lookup);
        assert!(cache.get("sk_live_example").is_none());
    }

    #[test]
    fn a_key_found_missing_is_forgotten_at_once() {
        let known = KnownKeys::default();
        let hash = api_key::hash("sk_live_example");
        let tenant = Tenant {
            workspace_id: "ws_1".into(),
            mode: Mode::Live,
        };
        assert_eq!(known.recent(hash), None);
        known.saw(hash, Some(&tenant));
        assert_eq!(known.recent(hash), Some(tenant));
        known.saw(hash, None);
        assert_eq!(known.recent(hash), None, "a revoked key must not linger");
    }
}
