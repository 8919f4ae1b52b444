//! Rate limits: a token bucket per API key, and a bucket of failed authentications per
//! client IP address, so that keys cannot be guessed by brute force.
//!
//! The buckets are `governor`'s keyed limiters (GCRA, one atomic per key in a sharded
//! map): no lock shared by all requests. Buckets live in the process: with several
//! replicas, each enforces its own share.

use std::convert::Infallible;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::{StateInformationMiddleware, StateSnapshot};
use governor::nanos::Nanos;
use governor::state::keyed::{DashMapStateStore, ShrinkableKeyedStateStore};
use governor::state::StateStore;
use governor::{NotUntil, Quota};

use crate::domain::api_key::KeyHash;

/// Rate and burst of a token bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Tokens added per second.
    pub per_second: f64,
    /// Most tokens the bucket holds: how many requests may come at once.
    pub burst: f64,
}

impl Rate {
    /// Slowest refill: one token an hour. Slower rates are rounded up to it, which keeps
    /// governor's arithmetic (nanoseconds in a u64) far from overflowing.
    const LONGEST_PERIOD: Duration = Duration::from_secs(3600);
    const MOST_BURST: u32 = 1_000_000;

    fn quota(self) -> Quota {
        let period = if self.per_second > 0.0 {
            Duration::try_from_secs_f64(1.0 / self.per_second).unwrap_or(Self::LONGEST_PERIOD)
        } else {
            Self::LONGEST_PERIOD
        };
        let period = period.clamp(Duration::from_nanos(1), Self::LONGEST_PERIOD);
        let burst =
            NonZeroU32::new((self.burst as u32).min(Self::MOST_BURST)).unwrap_or(NonZeroU32::MIN);
        Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
            .allow_burst(burst)
    }
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

type Limiter<K, S, C> = governor::RateLimiter<K, S, C, StateInformationMiddleware>;

/// Token buckets keyed by `K`: one limiter spends tokens, the other, on the same
/// state, only looks (governor has no "would this pass" of its own).
struct Buckets<K: Hash + Eq + Clone, C: Clock> {
    quota: Quota,
    spend: Limiter<K, Shared<K>, C>,
    look: Limiter<K, LookOnly<K>, C>,
}

impl<K: Hash + Eq + Clone, C: Clock + Clone> Buckets<K, C> {
    fn new(rate: Rate, clock: C) -> Self {
        let quota = rate.quota();
        let state = Arc::new(DashMapStateStore::default());
        Buckets {
            quota,
            spend: Limiter::new(quota, Shared(state.clone()), clock.clone()),
            look: Limiter::new(quota, LookOnly(state), clock),
        }
    }

    /// Takes a token if there is one.
    fn take(&self, key: &K) -> Decision {
        self.decide(self.spend.check_key(key), self.spend.clock())
    }

    /// Whether a token is there, taking none.
    fn look(&self, key: &K) -> Decision {
        self.decide(self.look.check_key(key), self.look.clock())
    }

    fn decide(&self, outcome: Result<StateSnapshot, NotUntil<C::Instant>>, clock: &C) -> Decision {
        let limit = self.quota.burst_size().get();
        let interval = self.quota.replenish_interval();
        match outcome {
            Ok(state) => {
                let remaining = state.remaining_burst_capacity().min(limit);
                Decision {
                    allowed: true,
                    limit: limit.into(),
                    remaining: remaining.into(),
                    // Whole tokens only: at most one interval more than the exact time.
                    reset_secs: ceil_secs(interval * (limit - remaining)),
                    retry_after_secs: 0,
                }
            }
            Err(refused) => {
                let wait = refused.wait_time_from(clock.now());
                Decision {
                    allowed: false,
                    limit: limit.into(),
                    remaining: 0,
                    reset_secs: ceil_secs(wait + interval * (limit - 1)),
                    retry_after_secs: ceil_secs(wait).max(1),
                }
            }
        }
    }

    /// Forgets the buckets that are full again (they are the same as no bucket).
    fn forget_full(&self) {
        self.spend.retain_recent();
        self.spend.shrink_to_fit();
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// governor's map of buckets, shared by the spending and the looking limiter.
struct Shared<K: Hash + Eq + Clone>(Arc<DashMapStateStore<K>>);

impl<K: Hash + Eq + Clone> StateStore for Shared<K> {
    type Key = K;

    fn measure_and_replace<T, F, E>(&self, key: &K, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        self.0.measure_and_replace(key, f)
    }
}

impl<K: Hash + Eq + Clone> ShrinkableKeyedStateStore<K> for Shared<K> {
    fn retain_recent(&self, drop_below: Nanos) {
        self.0.retain_recent(drop_below);
    }

    fn shrink_to_fit(&self) {
        ShrinkableKeyedStateStore::shrink_to_fit(&*self.0);
    }

    fn len(&self) -> usize {
        ShrinkableKeyedStateStore::len(&*self.0)
    }

    fn is_empty(&self) -> bool {
        ShrinkableKeyedStateStore::is_empty(&*self.0)
    }
}

/// The same map, read but never written: governor's decision on the current state, with
/// the new state it would store thrown away.
struct LookOnly<K: Hash + Eq + Clone>(Arc<DashMapStateStore<K>>);

impl<K: Hash + Eq + Clone> StateStore for LookOnly<K> {
    type Key = K;

    fn measure_and_replace<T, F, E>(&self, key: &K, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        // An `Err` from the closure leaves the state as it was.
        let looked = self
            .0
            .measure_and_replace(key, |state| Err::<(Infallible, Nanos), _>(f(state)));
        match looked {
            Err(decision) => decision.map(|(outcome, _)| outcome),
            Ok(never) => match never {},
        }
    }
}

pub struct RateLimiter {
    per_key: Option<Buckets<KeyHash, DefaultClock>>,
    auth_failures: Buckets<IpAddr, DefaultClock>,
}

impl RateLimiter {
    /// `per_key` None turns the per-key limit off.
    pub fn new(per_key: Option<Rate>, auth_failures: Rate) -> RateLimiter {
        RateLimiter {
            per_key: per_key.map(|rate| Buckets::new(rate, DefaultClock::default())),
            auth_failures: Buckets::new(auth_failures, DefaultClock::default()),
        }
    }

    /// Spends one request of the key's bucket.
    pub fn request(&self, key: KeyHash) -> Option<Decision> {
        self.per_key.as_ref().map(|b| b.take(&key))
    }

    /// Whether this address may still try to authenticate.
    pub fn may_authenticate(&self, ip: IpAddr) -> Decision {
        self.auth_failures.look(&ip)
    }

    /// Counts a failed authentication from this address.
    pub fn failed_authentication(&self, ip: IpAddr) {
        self.auth_failures.take(&ip);
    }

    /// Forgets full buckets, so that memory stays bounded by the keys and addresses seen
    /// lately rather than ever.
    pub fn forget_full_buckets(&self) {
        if let Some(per_key) = &self.per_key {
            per_key.forget_full();
        }
        self.auth_failures.forget_full();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    fn buckets(
        per_second: f64,
        burst: f64,
    ) -> (Buckets<u32, FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        let rate = Rate { per_second, burst };
        (Buckets::new(rate, clock.clone()), clock)
    }

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let (buckets, clock) = buckets(10.0, 5.0);
        for i in 0..5u64 {
            let d = buckets.take(&1);
            assert!(d.allowed, "{i}");
            assert_eq!(d.limit, 5);
            assert_eq!(d.remaining, 4 - i);
        }
        let refused = buckets.take(&1);
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        assert_eq!(refused.retry_after_secs, 1);
        assert_eq!(refused.reset_secs, 1);
        clock.advance(Duration::from_millis(100));
        assert!(buckets.take(&1).allowed);
        assert!(!buckets.take(&1).allowed);
        assert!(buckets.take(&2).allowed, "buckets are per key");
    }

    #[test]
    fn the_headers_count_whole_seconds_until_full() {
        let (buckets, _clock) = buckets(0.5, 3.0);
        let first = buckets.take(&1);
        assert_eq!((first.remaining, first.reset_secs), (2, 2));
        buckets.take(&1);
        let last = buckets.take(&1);
        assert_eq!((last.remaining, last.reset_secs), (0, 6));
        let refused = buckets.take(&1);
        assert_eq!((refused.retry_after_secs, refused.reset_secs), (2, 6));
    }

    #[test]
    fn looking_spends_nothing() {
        let (buckets, _clock) = buckets(1.0, 2.0);
        assert!(buckets.look(&1).allowed);
        assert!(buckets.take(&1).allowed);
        assert!(buckets.look(&1).allowed);
        assert!(buckets.take(&1).allowed);
        let refused = buckets.look(&1);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after_secs, 1);
    }

    #[test]
    fn full_buckets_are_forgotten() {
        let (buckets, clock) = buckets(1.0, 2.0);
        buckets.take(&1);
        buckets.take(&2);
        buckets.take(&2);
        // governor keeps a bucket one interval past full.
        clock.advance(Duration::from_millis(2500));
        buckets.forget_full();
        assert_eq!(buckets.spend.len(), 1, "key 1 is full again, key 2 is not");
        clock.advance(Duration::from_secs(1));
        buckets.forget_full();
        assert!(buckets.spend.is_empty());
    }

    #[test]
    fn any_rate_makes_a_quota() {
        for (per_second, burst) in [(0.0, 0.0), (1e-12, 1e12), (1e12, 1.0), (f64::NAN, f64::NAN)] {
            let quota = Rate { per_second, burst }.quota();
            assert!(quota.replenish_interval() <= Rate::LONGEST_PERIOD);
        }
    }
}
