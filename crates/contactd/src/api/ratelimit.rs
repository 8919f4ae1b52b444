//! Rate limits: a token bucket per API key, and a bucket of failed authentications per
//! client IP address, so that keys cannot be guessed by brute force.
//!
//! Buckets live in the process: with several replicas, each enforces its own share.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use crate::domain::api_key::KeyHash;

/// Rate and burst of a token bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Tokens added per second.
    pub per_second: f64,
    /// Most tokens the bucket holds: how many requests may come at once.
    pub burst: f64,
}

/// What a bucket says about a request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u64,
    pub remaining: u64,
    /// Seconds until the bucket is full again.
    pub reset_secs: u64,
    /// Seconds until one more request is allowed (0 when allowed now).
    pub retry_after_secs: u64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets keyed by `K`; pruned of full, idle buckets when they grow many.
struct Buckets<K> {
    rate: Rate,
    buckets: Mutex<HashMap<K, Bucket>>,
}

const PRUNE_ABOVE: usize = 100_000;

impl<K: Eq + Hash + Copy> Buckets<K> {
    fn new(rate: Rate) -> Self {
        Buckets {
            rate,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes `cost` tokens if there are that many (cost 0 only looks).
    fn take(&self, key: K, cost: f64, now: Instant) -> Decision {
        let rate = self.rate;
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > PRUNE_ABOVE {
            buckets.retain(|_, b| refill(*b, rate, now) < rate.burst);
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: rate.burst,
            at: now,
        });
        let tokens = refill(*bucket, rate, now);
        let allowed = tokens >= 1.0;
        let left = if allowed { tokens - cost } else { tokens };
        *bucket = Bucket {
            tokens: left,
            at: now,
        };
        let per_second = rate.per_second.max(f64::MIN_POSITIVE);
        Decision {
            allowed,
            limit: rate.burst as u64,
            remaining: left.max(0.0).floor() as u64,
            reset_secs: ((rate.burst - left) / per_second).ceil().max(0.0) as u64,
            retry_after_secs: if allowed {
                0
            } else {
                ((1.0 - left) / per_second).ceil().max(1.0) as u64
            },
        }
    }
}

fn refill(bucket: Bucket, rate: Rate, now: Instant) -> f64 {
    let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
    (bucket.tokens + elapsed * rate.per_second).min(rate.burst)
}

pub struct RateLimiter {
    per_key: Option<Buckets<KeyHash>>,
    auth_failures: Buckets<IpAddr>,
}

impl RateLimiter {
    /// `per_key` None turns the per-key limit off.
    pub fn new(per_key: Option<Rate>, auth_failures: Rate) -> RateLimiter {
        RateLimiter {
            per_key: per_key.map(Buckets::new),
            auth_failures: Buckets::new(auth_failures),
        }
    }

    /// Spends one request of the key's bucket.
    pub fn request(&self, key: KeyHash) -> Option<Decision> {
        self.per_key
            .as_ref()
            .map(|b| b.take(key, 1.0, Instant::now()))
    }

    /// Whether this address may still try to authenticate.
    pub fn may_authenticate(&self, ip: IpAddr) -> Decision {
        self.auth_failures.take(ip, 0.0, Instant::now())
    }

    /// Counts a failed authentication from this address.
    pub fn failed_authentication(&self, ip: IpAddr) {
        self.auth_failures.take(ip, 1.0, Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let buckets = Buckets::new(Rate {
            per_second: 10.0,
            burst: 5.0,
        });
        let start = Instant::now();
        for i in 0..5 {
            let d = buckets.take(1, 1.0, start);
            assert!(d.allowed, "{i}");
            assert_eq!(d.remaining, 4 - i);
        }
        let refused = buckets.take(1, 1.0, start);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after_secs, 1);
        assert!(
            buckets
                .take(1, 1.0, start + Duration::from_millis(100))
                .allowed
        );
        assert!(
            !buckets
                .take(1, 1.0, start + Duration::from_millis(100))
                .allowed
        );
        assert!(buckets.take(2, 1.0, start).allowed, "buckets are per key");
    }

    #[test]
    fn looking_spends_nothing() {
        let buckets = Buckets::new(Rate {
            per_second: 1.0,
            burst: 2.0,
        });
        let now = Instant::now();
        assert!(buckets.take(1, 0.0, now).allowed);
        assert!(buckets.take(1, 1.0, now).allowed);
        assert!(buckets.take(1, 1.0, now).allowed);
        assert!(!buckets.take(1, 0.0, now).allowed);
    }
}
