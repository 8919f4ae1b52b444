//! When to refresh the planner's statistics of a table this process fills quickly.
//!
//! A table loaded from empty has no statistics until autovacuum comes by (a minute or
//! more, and after 10% of change), and meanwhile PostgreSQL takes a tenant for one row and
//! picks plans that scan all of it: a claim of webhook deliveries walked every delivery
//! of the endpoint and sorted them, instead of reading the first rows of its partial
//! index. Refreshing at every doubling of the rows this process inserted (1,000, 2,000,
//! 4,000, …) keeps the cost small; past 64,000 the statistics already say the tenant is
//! large, and autovacuum's own analyze keeps them so (each refresh samples the table
//! whole: 18% of PostgreSQL's time in a 100k import when it ran on).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Inserted rows after which statistics are first refreshed; then at every doubling.
const FIRST_AT: u64 = 1_000;
/// Past this many inserted rows no further refresh falls due.
const LAST_AT: u64 = 64_000;

#[derive(Debug)]
pub(super) struct Refresh {
    inserted: AtomicU64,
    next_at: AtomicU64,
}

impl Refresh {
    pub(super) fn new() -> Refresh {
        Refresh {
            inserted: AtomicU64::new(0),
            next_at: AtomicU64::new(FIRST_AT),
        }
    }

    /// Counts `inserted` rows; true when a refresh falls due (to one caller only).
    pub(super) fn due(&self, inserted: u64) -> bool {
        if inserted == 0 {
            return false;
        }
        let total = self.inserted.fetch_add(inserted, Relaxed) + inserted;
        let due = self.next_at.load(Relaxed);
        total >= due
            && due <= LAST_AT
            && self
                .next_at
                .compare_exchange(due, total.saturating_mul(2), Relaxed, Relaxed)
                .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn falls_due_at_each_doubling_and_not_past_the_last() {
        let refresh = Refresh::new();
        assert!(!refresh.due(0));
        assert!(!refresh.due(999));
        assert!(refresh.due(1)); // 1,000
        assert!(!refresh.due(999)); // 1,999
        assert!(refresh.due(1)); // 2,000
        assert!(refresh.due(10_000)); // 12,000: next at 24,000
        assert!(!refresh.due(11_999));
        assert!(refresh.due(1)); // 24,000: next at 48,000
        assert!(refresh.due(24_000)); // 48,000: next at 96,000, past the last
        assert!(!refresh.due(100_000));
    }
}
