//! Timestamps as the API shows them: RFC 3339, UTC, `Z` suffix, microsecond precision.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Serialize, Serializer};
use time::OffsetDateTime;

/// Microseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub fn now() -> Timestamp {
        let micros = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .unwrap_or(0);
        Timestamp(micros)
    }

    /// The current time, but strictly after `previous`, so that `updated_at` always moves
    /// forward even when two changes land within one microsecond or the clock steps back.
    pub fn now_after(previous: Timestamp) -> Timestamp {
        Timestamp::now().max(Timestamp(previous.0 + 1))
    }

    pub fn from_micros(micros: i64) -> Timestamp {
        Timestamp(micros)
    }

    pub fn as_micros(self) -> i64 {
        self.0
    }

    /// Parses an RFC 3339 timestamp with any offset.
    pub fn parse_rfc3339(s: &str) -> Option<Timestamp> {
        Self::parse_offset(s).map(|(t, _)| t)
    }

    /// Parses an RFC 3339 timestamp in UTC (`Z` or `+00:00`), as the API writes them.
    pub fn parse_rfc3339_utc(s: &str) -> Option<Timestamp> {
        Self::parse_offset(s).and_then(|(t, utc)| utc.then_some(t))
    }

    /// The time, and whether it was written in UTC.
    fn parse_offset(s: &str) -> Option<(Timestamp, bool)> {
        let dt = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
        let micros = i64::try_from(dt.unix_timestamp_nanos() / 1000).ok()?;
        Some((Timestamp(micros), dt.offset().is_utc()))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = i128::from(self.0) * 1000;
        let dt = OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|_| fmt::Error)?;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            dt.year(),
            u8::from(dt.month()),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second(),
            dt.microsecond()
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339_utc_with_micros() {
        let t = Timestamp::from_micros(1_769_337_000_000_000 + 42);
        assert_eq!(t.to_string(), "2026-01-25T10:30:00.000042Z");
    }

    #[test]
    fn parses_what_it_prints() {
        let t = Timestamp::from_micros(1_769_337_000_123_456);
        assert_eq!(Timestamp::parse_rfc3339(&t.to_string()), Some(t));
        assert_eq!(
            Timestamp::parse_rfc3339("2026-01-25T11:30:00+01:00"),
            Some(Timestamp::from_micros(1_769_337_000_000_000))
        );
        assert_eq!(Timestamp::parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn utc_times_only_when_asked() {
        let t = Timestamp::from_micros(1_769_337_000_123_456);
        assert_eq!(Timestamp::parse_rfc3339_utc(&t.to_string()), Some(t));
        assert_eq!(
            Timestamp::parse_rfc3339_utc("2026-01-25T10:30:00.123456+00:00"),
            Some(t)
        );
        assert_eq!(
            Timestamp::parse_rfc3339_utc("2026-01-25T11:30:00.123456+01:00"),
            None
        );
        assert_eq!(Timestamp::parse_rfc3339_utc("2026-01-25"), None);
    }

    #[test]
    fn now_after_is_strictly_later() {
        let future = Timestamp::from_micros(Timestamp::now().as_micros() + 10_000_000);
        assert!(Timestamp::now_after(future) > future);
    }
}
