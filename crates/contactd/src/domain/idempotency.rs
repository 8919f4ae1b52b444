//! `Idempotency-Key`: which answer a request with a key gets, decided from what is stored.

use super::time::Timestamp;

/// How long an answer is kept for replay.
pub const RETENTION_MICROS: i64 = 24 * 60 * 60 * 1_000_000;
/// A claim with no answer after this long belongs to a request that died (its client went
/// away mid-request, or the process stopped); the next request with the key takes it over.
pub const ABANDONED_MICROS: i64 = 60 * 1_000_000;

/// A kept answer: status, the headers worth replaying, and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What the store holds for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub fingerprint: Vec<u8>,
    pub created_at: Timestamp,
    /// None while the first request runs.
    pub response: Option<StoredResponse>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// The caller runs the request and then completes or releases the key.
    Claimed,
    Replay(StoredResponse),
    /// The key was used for another request.
    Mismatch,
    /// The first request with the key is still running.
    InProgress,
}

/// The claim a request gets given the stored record. `Claimed` means the caller must
/// (re)write the record as in progress with its fingerprint.
pub fn decide(
    existing: Option<&KeyRecord>,
    fingerprint: &[u8],
    now: Timestamp,
) -> IdempotencyClaim {
    let Some(record) = existing else {
        return IdempotencyClaim::Claimed;
    };
    let age = now.as_micros() - record.created_at.as_micros();
    if age > RETENTION_MICROS {
        return IdempotencyClaim::Claimed;
    }
    if record.fingerprint != fingerprint {
        return IdempotencyClaim::Mismatch;
    }
    match &record.response {
        Some(response) => IdempotencyClaim::Replay(response.clone()),
        None if age > ABANDONED_MICROS => IdempotencyClaim::Claimed,
        None => IdempotencyClaim::InProgress,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(fingerprint: &[u8], age_micros: i64, done: bool, now: Timestamp) -> KeyRecord {
        KeyRecord {
            fingerprint: fingerprint.to_vec(),
            created_at: Timestamp::from_micros(now.as_micros() - age_micros),
            response: done.then(|| StoredResponse {
                status: 201,
                headers: vec![],
                body: b"{}".to_vec(),
            }),
        }
    }

    #[test]
    fn claims_follow_the_stored_record() {
        let now = Timestamp::now();
        assert_eq!(decide(None, b"a", now), IdempotencyClaim::Claimed);
        assert!(matches!(
            decide(Some(&record(b"a", 1, true, now)), b"a", now),
            IdempotencyClaim::Replay(_)
        ));
        assert_eq!(
            decide(Some(&record(b"a", 1, true, now)), b"b", now),
            IdempotencyClaim::Mismatch
        );
        assert_eq!(
            decide(Some(&record(b"a", 1, false, now)), b"a", now),
            IdempotencyClaim::InProgress
        );
        assert_eq!(
            decide(
                Some(&record(b"a", ABANDONED_MICROS + 1, false, now)),
                b"a",
                now
            ),
            IdempotencyClaim::Claimed
        );
        assert_eq!(
            decide(
                Some(&record(b"a", RETENTION_MICROS + 1, true, now)),
                b"b",
                now
            ),
            IdempotencyClaim::Claimed
        );
    }
}
