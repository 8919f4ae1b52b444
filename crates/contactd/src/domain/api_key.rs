//! API keys: `sk_live_…` / `sk_test_…` secrets, stored only as SHA-256 hashes.
//!
//! A key is looked up by its hash, so no comparison of secrets happens in our code and
//! nothing leaks through timing. The prefix (mode plus the first random characters) is
//! kept in clear so that operators can tell keys apart and revoke one.

use rand::distr::{Alphanumeric, SampleString};
use sha2::{Digest, Sha256};

use super::tenant::Mode;

const SECRET_LEN: usize = 32;
const PREFIX_RANDOM_LEN: usize = 8;

/// A freshly generated key; `secret` is shown once and never stored.
pub struct GeneratedKey {
    pub secret: String,
    pub prefix: String,
    pub hash: KeyHash,
}

/// SHA-256 of a full secret key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyHash(pub [u8; 32]);

pub fn generate(mode: Mode) -> GeneratedKey {
    let random = Alphanumeric.sample_string(&mut rand::rng(), SECRET_LEN);
    let secret = format!("sk_{}_{}", mode.as_str(), random);
    let prefix = format!("sk_{}_{}", mode.as_str(), &random[..PREFIX_RANDOM_LEN]);
    let hash = hash(&secret);
    GeneratedKey {
        secret,
        prefix,
        hash,
    }
}

pub fn hash(secret: &str) -> KeyHash {
    KeyHash(Sha256::digest(secret.as_bytes()).into())
}

/// The mode a presented key claims by its shape, or None when it cannot be one of ours.
pub fn claimed_mode(presented: &str) -> Option<Mode> {
    let (mode, random) = if let Some(rest) = presented.strip_prefix("sk_live_") {
        (Mode::Live, rest)
    } else if let Some(rest) = presented.strip_prefix("sk_test_") {
        (Mode::Test, rest)
    } else {
        return None;
    };
    let well_formed =
        random.len() == SECRET_LEN && random.bytes().all(|b| b.is_ascii_alphanumeric());
    well_formed.then_some(mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_mode_prefix_and_hash() {
        let key = generate(Mode::Test);
        assert!(key.secret.starts_with("sk_test_"));
        assert!(key.secret.starts_with(&key.prefix));
        assert_eq!(key.prefix.len(), "sk_test_".len() + PREFIX_RANDOM_LEN);
        assert_eq!(hash(&key.secret), key.hash);
        assert_eq!(claimed_mode(&key.secret), Some(Mode::Test));
        assert_eq!(claimed_mode(&generate(Mode::Live).secret), Some(Mode::Live));
    }

    #[test]
    fn malformed_keys_claim_nothing() {
        assert_eq!(claimed_mode("sk_live_your_key"), None);
        assert_eq!(claimed_mode(""), None);
        assert_eq!(
            claimed_mode("pk_live_0123456789abcdef0123456789abcdef"),
            None
        );
        assert_eq!(
            claimed_mode("sk_live_0123456789abcdef0123456789abcde!"),
            None
        );
    }
}
