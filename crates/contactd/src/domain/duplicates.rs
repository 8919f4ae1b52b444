//! Duplicate suggestions (contract §8): the keys that make two contacts look like one
//! person, computed from one contact alone when it is written, so that finding its
//! duplicates is an index lookup per key and never a comparison of every pair.
//!
//! | reason | key kept on write | a pair when |
//! |---|---|---|
//! | `email_normalized` | the address case-folded, `+tag` dropped, dots dropped at Gmail | the keys are equal |
//! | `identity_overlap` | every phone-like and email-like value of the contact | one contact's phone is the other's whatsapp, and the like |
//! | `name_and_email_domain` | the folded full name and a company domain | both are equal |
//! | `name_similar` | a block: the phone's country and the name's first letters | same block and Jaro-Winkler ≥ 0.9 |

use std::collections::BTreeSet;

use super::search::fold;

/// Names at least this close (Jaro-Winkler, 0–1) are `name_similar`.
pub const NAME_SIMILARITY: f64 = 0.9;
/// Letters of the folded full name that make its block for `name_similar`: two names
/// whose first letters differ are rarely 0.9 apart, and the block keeps lookups indexed.
const BLOCK_LETTERS: usize = 2;

/// Mail providers whose domain says nothing about who a person works for.
const FREE_MAIL: &[&str] = &[
    "aol.com",
    "gmail.com",
    "googlemail.com",
    "gmx.de",
    "gmx.net",
    "hotmail.com",
    "hotmail.co.uk",
    "icloud.com",
    "live.com",
    "mail.com",
    "mail.ru",
    "me.com",
    "msn.com",
    "outlook.com",
    "proton.me",
    "protonmail.com",
    "qq.com",
    "web.de",
    "yahoo.com",
    "yahoo.co.uk",
    "yandex.ru",
    "zoho.com",
    "163.com",
];
const GMAIL: &[&str] = &["gmail.com", "googlemail.com"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Reason {
    EmailNormalized,
    IdentityOverlap,
    NameAndEmailDomain,
    NameSimilar,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// How much this reason alone says that two contacts are one person.
    fn weight(self) -> f64 {
        match self {
            Reason::EmailNormalized => 0.9,
            Reason::IdentityOverlap => 0.85,
            Reason::NameAndEmailDomain => 0.6,
            Reason::NameSimilar => 0.5,
        }
    }
}

/// The address two spellings of one mailbox share: lowercased, without a `+tag`, and for
/// Gmail without dots and with `googlemail.com` read as `gmail.com`. `None` for a value
/// without `@`.
pub fn email_key(address: &str) -> Option<String> {
    let lower = address.to_ascii_lowercase();
    let (local, domain) = lower.rsplit_once('@')?;
    let local = local.split('+').next().unwrap_or(local);
    if GMAIL.contains(&domain) {
        let local: String = local.chars().filter(|c| *c != '.').collect();
        return Some(format!("{local}@gmail.com"));
    }
    Some(format!("{local}@{domain}"))
}

/// The domain of an address when it names an organisation (not a free mail provider).
pub fn company_domain(address: &str) -> Option<String> {
    let (_, domain) = address.rsplit_once('@')?;
    let domain = domain.to_ascii_lowercase();
    (!FREE_MAIL.contains(&domain.as_str())).then_some(domain)
}

/// A full name as names are compared: case and accents folded, words joined by one space.
/// `None` when the contact has no name.
pub fn name_key(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let words: Vec<String> = [first, last]
        .into_iter()
        .flatten()
        .flat_map(|part| {
            fold(part)
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// The block of `name_similar`: the phone's country calling code and the first letters
/// of the name key. Contacts are compared only within one block.
pub fn name_block(name_key: &str, phone: &str) -> Option<String> {
    let country = country_code(phone)?;
    let start: String = name_key.chars().take(BLOCK_LETTERS).collect();
    Some(format!("{country}:{start}"))
}

/// The calling code of an E.164 number (`+44…` → `44`), by libphonenumber's metadata.
pub fn country_code(phone: &str) -> Option<u16> {
    phonenumber::parse(None, phone)
        .ok()
        .map(|n| n.code().value())
}

/// Jaro-Winkler similarity of two name keys, 0 (nothing alike) to 1 (equal).
pub fn name_similarity(a: &str, b: &str) -> f64 {
    strsim::jaro_winkler(a, b)
}

/// What one contact brings to the comparison: the keys above, and every phone-like and
/// email-like value it holds (primary fields and identities).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    pub email_keys: BTreeSet<String>,
    /// `phone` and `whatsapp` values, E.164.
    pub numbers: BTreeSet<String>,
    /// Lowercased `email` values, primary and identities.
    pub addresses: BTreeSet<String>,
    pub name: Option<String>,
    pub company_domains: BTreeSet<String>,
    pub countries: BTreeSet<u16>,
}

/// Why `a` and `b` look like one person, if they do. Both numbers or both addresses in
/// common count as `identity_overlap` only where the uniqueness rules let two contacts
/// share them (one's `phone` as the other's `whatsapp`).
pub fn reasons(a: &Profile, b: &Profile) -> Vec<Reason> {
    let mut reasons = Vec::new();
    if !a.email_keys.is_disjoint(&b.email_keys) {
        reasons.push(Reason::EmailNormalized);
    }
    if !a.numbers.is_disjoint(&b.numbers) || !a.addresses.is_disjoint(&b.addresses) {
        reasons.push(Reason::IdentityOverlap);
    }
    if let (Some(na), Some(nb)) = (&a.name, &b.name) {
        if na == nb && !a.company_domains.is_disjoint(&b.company_domains) {
            reasons.push(Reason::NameAndEmailDomain);
        }
        if !a.countries.is_disjoint(&b.countries) && name_similarity(na, nb) >= NAME_SIMILARITY {
            reasons.push(Reason::NameSimilar);
        }
    }
    reasons
}

/// A score from 0 to 1: reasons add up as independent evidence (1 − Π(1 − weight)).
pub fn score(reasons: &[Reason]) -> f64 {
    let doubt: f64 = reasons.iter().map(|r| 1.0 - r.weight()).product();
    ((1.0 - doubt) * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_keys_fold_case_tags_and_gmail_dots() {
        assert_eq!(
            email_key("John.Doe+crm@Example.com").as_deref(),
            Some("john.doe@example.com")
        );
        assert_eq!(
            email_key("j.o.h.n+x@googlemail.com").as_deref(),
            Some("john@gmail.com")
        );
        assert_eq!(
            email_key("JOHN@gmail.com"),
            email_key("jo.hn+news@gmail.com")
        );
        assert_ne!(
            email_key("j.ohn@example.com"),
            email_key("john@example.com")
        );
        assert_eq!(email_key("no-at-sign"), None);
    }

    #[test]
    fn company_domains_leave_free_mail_out() {
        assert_eq!(company_domain("ana@Acme.io").as_deref(), Some("acme.io"));
        assert_eq!(company_domain("ana@gmail.com"), None);
        assert_eq!(company_domain("ana@outlook.com"), None);
    }

    #[test]
    fn name_keys_fold_accents_case_and_spacing() {
        assert_eq!(
            name_key(Some(" José "), Some("GARCÍA-López")).as_deref(),
            Some("jose garcia lopez")
        );
        assert_eq!(name_key(None, Some("Doe")).as_deref(), Some("doe"));
        assert_eq!(name_key(Some(" "), None), None);
    }

    #[test]
    fn blocks_join_country_and_first_letters() {
        assert_eq!(
            name_block("jose garcia", "+34612345678").as_deref(),
            Some("34:jo")
        );
        assert_eq!(
            name_block("jose garcia", "+14155550123").as_deref(),
            Some("1:jo")
        );
    }

    #[test]
    fn similar_names_pass_the_threshold_and_others_do_not() {
        assert!(name_similarity("jonathan smith", "jonathon smith") >= NAME_SIMILARITY);
        assert_eq!(name_similarity("jose garcia", "jose garcia"), 1.0);
        assert!(name_similarity("jonathan smith", "maria lopez") < NAME_SIMILARITY);
    }

    fn profile(email: Option<&str>, numbers: &[&str], name: Option<&str>) -> Profile {
        Profile {
            email_keys: email.and_then(email_key).into_iter().collect(),
            numbers: numbers.iter().map(|n| n.to_string()).collect(),
            addresses: email.map(|e| e.to_ascii_lowercase()).into_iter().collect(),
            name: name.map(str::to_owned),
            company_domains: email.and_then(company_domain).into_iter().collect(),
            countries: numbers.iter().filter_map(|n| country_code(n)).collect(),
        }
    }

    #[test]
    fn reasons_of_planted_pairs() {
        let a = profile(Some("jo.hn+a@gmail.com"), &[], None);
        let b = profile(Some("john@gmail.com"), &[], None);
        assert_eq!(reasons(&a, &b), vec![Reason::EmailNormalized]);

        let a = profile(None, &["+14155550123"], None);
        let b = profile(None, &["+14155550123"], None);
        assert_eq!(reasons(&a, &b), vec![Reason::IdentityOverlap,]);

        let a = profile(Some("ana@acme.io"), &[], Some("ana lima"));
        let b = profile(Some("a.lima@acme.io"), &[], Some("ana lima"));
        assert_eq!(reasons(&a, &b), vec![Reason::NameAndEmailDomain]);

        let a = profile(None, &["+14155550123"], Some("jonathan smith"));
        let b = profile(None, &["+14155550999"], Some("jonathon smith"));
        assert_eq!(reasons(&a, &b), vec![Reason::NameSimilar]);
        let c = profile(None, &["+447911123456"], Some("jonathon smith"));
        assert!(reasons(&a, &c).is_empty(), "phones of different countries");
    }

    #[test]
    fn scores_grow_with_evidence_and_stay_below_one() {
        assert_eq!(score(&[]), 0.0);
        let one = score(&[Reason::NameSimilar]);
        let two = score(&[Reason::NameSimilar, Reason::NameAndEmailDomain]);
        assert!(one < two && two < 1.0);
        assert_eq!(Reason::EmailNormalized.as_str(), "email_normalized");
    }
}
