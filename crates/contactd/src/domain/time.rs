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

impl Timestamp {
    /// The time as the API writes it, `2026-01-25T10:30:00.000042Z`, written digit by digit:
    /// every answer carries two or three of these, and `fmt` machinery cost a twentieth
    /// of a GET. Years outside 0000–9999 (never produced by the API) take a slower path.
    pub fn to_rfc3339(self) -> String {
        let parts = Parts::of(self);
        match parts.bytes() {
            Some(bytes) => bytes.iter().map(|&b| char::from(b)).collect(),
            None => parts.to_string(),
        }
    }
}

/// A timestamp's calendar fields, UTC.
struct Parts {
    year: i64,
    month: i64,
    day: i64,
    seconds_of_day: i64,
    micros: i64,
}

impl Parts {
    fn of(t: Timestamp) -> Parts {
        const MICROS_PER_DAY: i64 = 86_400_000_000;
        let (year, month, day) = civil_from_days(t.0.div_euclid(MICROS_PER_DAY));
        let of_day = t.0.rem_euclid(MICROS_PER_DAY);
        Parts {
            year,
            month,
            day,
            seconds_of_day: of_day / 1_000_000,
            micros: of_day % 1_000_000,
        }
    }

    /// The RFC 3339 text, for years 0000–9999.
    fn bytes(&self) -> Option<[u8; 27]> {
        if !(0..=9999).contains(&self.year) {
            return None;
        }
        let seconds = self.seconds_of_day;
        let mut out = *b"0000-00-00T00:00:00.000000Z";
        put_digits(&mut out[0..4], self.year);
        put_digits(&mut out[5..7], self.month);
        put_digits(&mut out[8..10], self.day);
        put_digits(&mut out[11..13], seconds / 3600);
        put_digits(&mut out[14..16], seconds / 60 % 60);
        put_digits(&mut out[17..19], seconds % 60);
        put_digits(&mut out[20..26], self.micros);
        Some(out)
    }
}

impl fmt::Display for Parts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.seconds_of_day;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            self.year,
            self.month,
            self.day,
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60,
            self.micros
        )
    }
}

/// Writes `value` (non-negative, fitting) as decimal digits filling `slot`.
fn put_digits(slot: &mut [u8], mut value: i64) {
    for place in slot.iter_mut().rev() {
        *place = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// The proleptic Gregorian (year, month, day) of a count of days since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts = Parts::of(*self);
        match parts.bytes() {
            Some(bytes) => f.write_str(std::str::from_utf8(&bytes).map_err(|_| fmt::Error)?),
            None => parts.fmt(f),
        }
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

    /// The digit-by-digit writer against the `time` crate, over days from year 0 to 9999
    /// and times across a day.
    #[test]
    fn fast_formatting_agrees_with_the_time_crate() {
        let first = -62_167_219_200_000_000_i64; // 0000-01-01T00:00:00Z
        let last = 253_402_300_799_999_999_i64; // 9999-12-31T23:59:59.999999Z
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut samples = vec![
            first,
            last,
            0,
            -1,
            951_782_400_000_000,
            4_107_542_400_000_000,
        ];
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            samples.push(first + (state % (last - first) as u64) as i64);
        }
        for micros in samples {
            let dt = OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000).unwrap();
            let expected = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
                dt.year(),
                u8::from(dt.month()),
                dt.day(),
                dt.hour(),
                dt.minute(),
                dt.second(),
                dt.microsecond()
            );
            let t = Timestamp::from_micros(micros);
            assert_eq!(t.to_rfc3339(), expected, "{micros}");
            assert_eq!(t.to_string(), expected, "{micros}");
        }
    }

    #[test]
    fn years_past_9999_still_format() {
        let t = Timestamp::from_micros(253_402_300_800_000_000);
        assert_eq!(t.to_rfc3339(), "10000-01-01T00:00:00.000000Z");
        assert_eq!(t.to_string(), "10000-01-01T00:00:00.000000Z");
        // Any i64 formats without a panic.
        let _ = Timestamp::from_micros(i64::MAX).to_rfc3339();
        let _ = Timestamp::from_micros(i64::MIN).to_string();
    }

    #[test]
    fn now_after_is_strictly_later() {
        let future = Timestamp::from_micros(Timestamp::now().as_micros() + 10_000_000);
        assert!(Timestamp::now_after(future) > future);
    }
}
