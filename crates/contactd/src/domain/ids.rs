//! Public identifiers (`cnt_…`, `conv_…`, `msg_…`): unguessable, and sorting by
//! creation time as plain strings, so `(created_at, id)` is a stable list order.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use rand::Rng;

/// Crockford's base32 in lowercase; its characters are in ASCII order, so comparing
/// encoded strings compares the encoded numbers.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const STAMP_CHARS: u32 = 13;
const RANDOM_CHARS: u32 = 16;
const RANDOM_BITS: u32 = RANDOM_CHARS * 5;
/// Bits below the milliseconds in a stamp, counting ids made within one millisecond.
const SEQ_BITS: u32 = 16;
/// Milliseconds must fit in the 48 bits above the sequence (enough until year 10889).
const MAX_MILLIS: u64 = (1 << (64 - SEQ_BITS)) - 1;
const MAX_BODY_LEN: usize = 64;

/// The last stamp handed out by this process, `(unix_millis << 16) | seq`.
static LAST_STAMP: AtomicU64 = AtomicU64::new(0);

/// A new id: `prefix` (with its underscore, e.g. `cnt_`), then 13 base32 characters of
/// creation stamp and 16 of randomness (80 bits).
pub fn new_id(prefix: &str) -> String {
    let mut id = String::with_capacity(prefix.len() + (STAMP_CHARS + RANDOM_CHARS) as usize);
    id.push_str(prefix);
    let stamp = next_stamp(&LAST_STAMP, now_millis());
    push_base32(&mut id, u128::from(stamp), STAMP_CHARS);
    let random: u128 = rand::rng().random();
    push_base32(&mut id, random & ((1 << RANDOM_BITS) - 1), RANDOM_CHARS);
    id
}

/// A stamp above every earlier one in `last_stamp`: the clock's when it moved forward,
/// else the last plus one, so ids strictly increase within a millisecond and when the
/// clock steps back.
fn next_stamp(last_stamp: &AtomicU64, millis: u64) -> u64 {
    let floor = millis << SEQ_BITS;
    let mut last = last_stamp.load(Ordering::Relaxed);
    loop {
        let next = floor.max(last.saturating_add(1));
        match last_stamp.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(current) => last = current,
        }
    }
}

fn now_millis() -> u64 {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis());
    u64::try_from(millis).map_or(MAX_MILLIS, |m| m.min(MAX_MILLIS))
}

/// Appends the low `chars * 5` bits of `value`, most significant first.
fn push_base32(out: &mut String, value: u128, chars: u32) {
    for i in (0..chars).rev() {
        let digit = (value >> (i * 5)) & 0x1f;
        out.push(char::from(ALPHABET[digit as usize]));
    }
}

/// Whether `s` is `prefix` followed by 1 to 64 characters of `[0-9a-z]`. Lenient on
/// length and alphabet so that a well-shaped id that was never issued is "not found"
/// rather than invalid input.
fn has_id_shape(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(|body| {
        (1..=MAX_BODY_LEN).contains(&body.len())
            && body
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    })
}

/// Declares an id newtype; the three kinds differ only in name and prefix.
macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The prefix every id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            /// A new, unique id that sorts after every id this process made before.
            pub fn generate() -> Self {
                Self(new_id(Self::PREFIX))
            }

            /// Accepts the prefix followed by 1 to 64 characters of `[0-9a-z]`.
            pub fn parse(s: &str) -> Option<Self> {
                has_id_shape(s, Self::PREFIX).then(|| Self(s.to_owned()))
            }

            /// The id, prefix included.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

typed_id!(
    /// Identifies a contact: `cnt_…`.
    ContactId,
    "cnt_"
);
typed_id!(
    /// Identifies a conversation: `conv_…`.
    ConversationId,
    "conv_"
);
typed_id!(
    /// Identifies a message: `msg_…`.
    MessageId,
    "msg_"
);
typed_id!(
    /// Identifies a saved segment: `seg_…`.
    SegmentId,
    "seg_"
);
typed_id!(
    /// Identifies a merge of two contacts: `mrg_…`.
    MergeId,
    "mrg_"
);

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_well_formed(id: &str, prefix: &str) {
        let body = id.strip_prefix(prefix).unwrap();
        assert_eq!(body.len(), 29, "{id}");
        assert!(body.bytes().all(|b| ALPHABET.contains(&b)), "{id}");
    }

    #[test]
    fn generated_ids_have_the_documented_format() {
        assert_well_formed(&new_id("cnt_"), "cnt_");
        assert_well_formed(ContactId::generate().as_str(), "cnt_");
        assert_well_formed(ConversationId::generate().as_str(), "conv_");
        assert_well_formed(MessageId::generate().as_str(), "msg_");
    }

    #[test]
    fn stamp_encodes_the_current_time() {
        let before = now_millis();
        let id = new_id("");
        let after = now_millis();
        let stamp = id[..13].bytes().fold(0u64, |acc, b| {
            (acc << 5) | ALPHABET.iter().position(|&a| a == b).unwrap() as u64
        });
        let millis = stamp >> SEQ_BITS;
        assert!(
            millis >= before && millis <= after,
            "{millis} not in {before}..={after}"
        );
    }

    #[test]
    fn ids_strictly_increase_and_are_unique() {
        let ids: Vec<String> = (0..10_000).map(|_| new_id("cnt_")).collect();
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]));
        let typed: Vec<ContactId> = (0..1000).map(|_| ContactId::generate()).collect();
        assert!(typed.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn random_parts_differ() {
        let a = new_id("cnt_");
        let b = new_id("cnt_");
        assert_ne!(a[17..], b[17..]);
    }

    #[test]
    fn stamps_count_within_a_millisecond_and_survive_the_clock_going_back() {
        let last = AtomicU64::new(0);
        assert_eq!(next_stamp(&last, 1000), 1000 << 16);
        assert_eq!(next_stamp(&last, 1000), (1000 << 16) + 1);
        assert_eq!(next_stamp(&last, 999), (1000 << 16) + 2);
        assert_eq!(next_stamp(&last, 1001), 1001 << 16);
    }

    #[test]
    fn largest_millis_still_fits_and_increases() {
        let last = AtomicU64::new(0);
        assert_eq!(next_stamp(&last, MAX_MILLIS), MAX_MILLIS << 16);
        assert!(next_stamp(&last, MAX_MILLIS) > MAX_MILLIS << 16);
    }

    #[test]
    fn parse_accepts_well_shaped_ids() {
        for raw in ["cnt_1a2b3c4d5e6f", "cnt_123", "cnt_ilou"] {
            assert_eq!(ContactId::parse(raw).unwrap().as_str(), raw);
        }
        let body = "a".repeat(64);
        assert!(ContactId::parse(&format!("cnt_{body}")).is_some());
        let generated = ContactId::generate();
        assert_eq!(ContactId::parse(generated.as_str()), Some(generated));
        assert!(ConversationId::parse("conv_abc").is_some());
        assert!(MessageId::parse("msg_abc").is_some());
    }

    #[test]
    fn parse_rejects_malformed_ids() {
        let long = format!("cnt_{}", "a".repeat(65));
        for raw in [
            "cnt_", "cnt_ABC", "cnt_a-b", "conv_x", "cnt", "", "xcnt_abc", "cnt_é", &long,
        ] {
            assert!(ContactId::parse(raw).is_none(), "{raw:?}");
        }
        assert!(ConversationId::parse("cnt_abc").is_none());
        assert!(MessageId::parse("conv_abc").is_none());
    }

    #[test]
    fn display_and_into_string_give_the_id() {
        let id = ContactId::parse("cnt_123").unwrap();
        assert_eq!(id.to_string(), "cnt_123");
        assert_eq!(id.into_string(), "cnt_123");
        assert_eq!(ContactId::PREFIX, "cnt_");
        assert_eq!(ConversationId::PREFIX, "conv_");
        assert_eq!(MessageId::PREFIX, "msg_");
    }
}
