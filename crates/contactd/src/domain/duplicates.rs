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

use std::collections::{BTreeMap, BTreeSet};

use super::contact::Contact;
use super::identity::IdentityType;
use super::ids::ContactId;
use super::search::fold;
use super::FieldError;

/// Names at least this close (Jaro-Winkler, 0–1) are `name_similar`.
pub const NAME_SIMILARITY: f64 = 0.9;
/// Letters of the folded full name that make its block for `name_similar`: two names
/// whose first letters differ are rarely 0.9 apart (Jaro-Winkler weighs the start), and
/// the block keeps lookups indexed and small.
const BLOCK_LETTERS: usize = 3;
/// The most contacts of one key a write compares itself with: a key shared by more (a
/// very common name in one country) suggests the newest of them only.
pub const MAX_CANDIDATES_PER_KEY: usize = 8;

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

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    strum::IntoStaticStr,
    strum::EnumString,
)]
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

/// The block of `name_similar`: the phone's country calling code, the first letters of
/// the name key and the first letter of its last word. Contacts are compared only within
/// one block.
pub fn name_block(name_key: &str, phone: &str) -> Option<String> {
    let country = country_code(phone)?;
    let start: String = name_key.chars().take(BLOCK_LETTERS).collect();
    let last = name_key
        .rsplit(' ')
        .next()
        .and_then(|w| w.chars().next())
        .unwrap_or(' ');
    Some(format!("{country}:{start}:{last}"))
}

/// The calling code of an E.164 number (`+44…` → `44`), by libphonenumber's metadata.
/// Calling codes are a prefix code (no code begins another), so the first of the number's
/// first one, two or three digits that is a code is its code, as libphonenumber extracts
/// it. A full parse (regular expressions) cost a write tens of microseconds on SQLite's
/// one writer, two to four times per write.
pub fn country_code(phone: &str) -> Option<u16> {
    let digits = phone.strip_prefix('+').filter(|d| !d.starts_with('0'))?;
    (1..=3)
        .filter_map(|n| digits.get(..n))
        .take_while(|prefix| prefix.bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|prefix| prefix.parse::<u16>().ok())
        .find(|code| phonenumber::metadata::DATABASE.by_code(code).is_some())
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

impl Profile {
    /// What a contact brings: its primary phone and email and its identities of those
    /// kinds, its name.
    pub fn of(contact: &Contact) -> Profile {
        let mut profile = Profile {
            name: name_key(contact.first_name.as_deref(), contact.last_name.as_deref()),
            ..Profile::default()
        };
        let numbers = contact.phone.iter().map(|p| p.as_str().to_owned()).chain(
            contact
                .identities
                .iter()
                .filter(|i| matches!(i.kind(), IdentityType::Phone | IdentityType::Whatsapp))
                .map(|i| i.value().to_owned()),
        );
        for number in numbers {
            profile.countries.extend(country_code(&number));
            profile.numbers.insert(number);
        }
        let addresses = contact.email.iter().map(|e| e.as_str().to_owned()).chain(
            contact
                .identities
                .iter()
                .filter(|i| i.kind() == IdentityType::Email)
                .map(|i| i.value().to_owned()),
        );
        for address in addresses {
            profile.email_keys.extend(email_key(&address));
            profile.company_domains.extend(company_domain(&address));
            profile.addresses.insert(address.to_ascii_lowercase());
        }
        profile
    }

    /// The keys kept on write that find this profile's candidate duplicates: two
    /// contacts that make a pair always share one (`name_similar` within its block).
    pub fn keys(&self) -> BTreeSet<(&'static str, String)> {
        let mut keys = BTreeSet::new();
        for key in &self.email_keys {
            keys.insert(("email", key.clone()));
        }
        for number in &self.numbers {
            keys.insert(("number", number.clone()));
        }
        if let Some(name) = &self.name {
            for domain in &self.company_domains {
                keys.insert(("name_domain", format!("{name}|{domain}")));
            }
            for number in &self.numbers {
                keys.extend(name_block(name, number).map(|block| ("name_block", block)));
            }
        }
        keys
    }
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

/// Per `(kind, key)`, the contacts holding it, each with its folded name on `name_block`
/// keys.
pub type KeyHolders = BTreeMap<(String, String), Vec<(ContactId, Option<String>)>>;

/// Two contacts suggested as one person: `a` sorts before `b`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    pub a: ContactId,
    pub b: ContactId,
    pub reasons: Vec<Reason>,
    pub score: f64,
}

/// A key row of another contact that a written contact shares: its kind, the other
/// contact, and (on `name_block` rows) the other's folded name.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedKey {
    pub kind: String,
    pub other: ContactId,
    pub other_name: Option<String>,
}

impl Pair {
    /// The pairs of `own` (whose folded name is `name`) with the contacts it shares keys
    /// with, read from the key rows alone: an equal `email`, `number` or `name_domain` key
    /// is that reason; a shared `name_block` is `name_similar` when the names are close.
    /// The same reasons as [`reasons`] of the two profiles.
    pub fn from_shared(own: &ContactId, name: Option<&str>, shared: &[SharedKey]) -> Vec<Pair> {
        let mut by_other: std::collections::BTreeMap<&ContactId, BTreeSet<Reason>> =
            std::collections::BTreeMap::new();
        for key in shared.iter().filter(|k| k.other != *own) {
            let reason = match key.kind.as_str() {
                "email" => Some(Reason::EmailNormalized),
                "number" => Some(Reason::IdentityOverlap),
                "name_domain" => Some(Reason::NameAndEmailDomain),
                "name_block" => match (name, key.other_name.as_deref()) {
                    (Some(a), Some(b)) if name_similarity(a, b) >= NAME_SIMILARITY => {
                        Some(Reason::NameSimilar)
                    }
                    _ => None,
                },
                _ => None,
            };
            if let Some(reason) = reason {
                by_other.entry(&key.other).or_default().insert(reason);
            }
        }
        by_other
            .into_iter()
            .map(|(other, reasons)| {
                let reasons: Vec<Reason> = reasons.into_iter().collect();
                let (a, b) = if own < other {
                    (own, other)
                } else {
                    (other, own)
                };
                Pair {
                    a: a.clone(),
                    b: b.clone(),
                    score: score(&reasons),
                    reasons,
                }
            })
            .collect()
    }

    /// The pairs of contacts inserted together, in order, as one insert after another
    /// would find them: each is compared, per key, with the newest
    /// [`MAX_CANDIDATES_PER_KEY`] contacts holding it, among those stored before
    /// (`stored`: per `(kind, key)`, other contact and its `name_block` name) and those
    /// inserted before it in the same write.
    pub fn of_inserted(inserted: &[(&ContactId, &Profile)], stored: &KeyHolders) -> Vec<Pair> {
        let mut earlier = KeyHolders::new();
        let mut pairs = BTreeMap::new();
        for (id, profile) in inserted {
            let mut shared = Vec::new();
            for (kind, key) in profile.keys() {
                let key = (kind.to_owned(), key);
                let mut candidates: Vec<&(ContactId, Option<String>)> = stored
                    .get(&key)
                    .into_iter()
                    .chain(earlier.get(&key))
                    .flatten()
                    .filter(|(other, _)| other != *id)
                    .collect();
                candidates.sort_by(|x, y| y.0.cmp(&x.0));
                candidates.truncate(MAX_CANDIDATES_PER_KEY);
                shared.extend(candidates.into_iter().map(|(other, name)| SharedKey {
                    kind: kind.to_owned(),
                    other: other.clone(),
                    other_name: name.clone(),
                }));
                let name = (kind == "name_block")
                    .then(|| profile.name.clone())
                    .flatten();
                earlier.entry(key).or_default().push(((*id).clone(), name));
            }
            for pair in Pair::from_shared(id, profile.name.as_deref(), &shared) {
                pairs.insert((pair.a.clone(), pair.b.clone()), pair);
            }
        }
        pairs.into_values().collect()
    }

    /// The reasons as stored: names joined by commas.
    pub fn reasons_text(&self) -> String {
        let names: Vec<&str> = self.reasons.iter().map(|r| r.as_str()).collect();
        names.join(",")
    }

    /// Reads stored reasons back; unknown names are left out.
    pub fn parse_reasons(text: &str) -> Vec<Reason> {
        text.split(',').filter_map(|r| r.parse().ok()).collect()
    }

    pub fn to_wire(&self) -> contactd_wire::DuplicatePair {
        contactd_wire::DuplicatePair {
            a: self.a.as_str().to_owned(),
            b: self.b.as_str().to_owned(),
            score: self.score,
            reasons: self.reasons.iter().map(|r| r.as_str().to_owned()).collect(),
        }
    }
}

/// A page of the tenant's pairs: `limit` (1–100, default 20) after the pair a `cursor`
/// names (`A.B`, the ids of the last pair of the page before).
#[derive(Debug, Clone, PartialEq)]
pub struct PairPage {
    pub limit: u32,
    pub after: Option<(ContactId, ContactId)>,
}

impl PairPage {
    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> Result<PairPage, FieldError> {
        let limit = match limit {
            None => 20,
            Some(raw) => raw
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=100).contains(n))
                .ok_or_else(|| {
                    FieldError::new("limit", "limit must be an integer from 1 to 100")
                        .received(raw.chars().take(50).collect::<String>())
                        .expected("1 to 100")
                })?,
        };
        let after = match cursor {
            None => None,
            Some(raw) => Some(
                raw.split_once('.')
                    .and_then(|(a, b)| Some((ContactId::parse(a)?, ContactId::parse(b)?)))
                    .ok_or_else(|| {
                        FieldError::new("cursor", "cursor must be a next_cursor of this list")
                            .received(raw.chars().take(200).collect::<String>())
                    })?,
            ),
        };
        Ok(PairPage { limit, after })
    }

    /// The cursor of the page after the one ending with `last`.
    pub fn cursor_after(last: &Pair) -> String {
        format!("{}.{}", last.a, last.b)
    }
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
            Some("34:jos:g")
        );
        assert_eq!(
            name_block("jose garcia", "+14155550123").as_deref(),
            Some("1:jos:g")
        );
    }

    #[test]
    fn country_codes_agree_with_a_full_parse() {
        let numbers = [
            "+14155550123",
            "+12025550143",
            "+447911123456",
            "+34612345678",
            "+4915123456789",
            "+353861234567",
            "+5511987654321",
            "+861012345678",
            "+919876543210",
            "+97150123456",
            "+380501234567",
            "+79161234567",
            "+61412345678",
            "+2348031234567",
            "+88011234567",
        ];
        for number in numbers {
            let parsed = phonenumber::parse(None, number).unwrap().code().value();
            assert_eq!(country_code(number), Some(parsed), "{number}");
        }
        assert_eq!(country_code("+"), None);
        assert_eq!(country_code("14155550123"), None);
        assert_eq!(country_code("+0123"), None);
        assert_eq!(country_code("+a1"), None);
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
    fn pairs_of_contacts_share_a_key() {
        use crate::domain::contact::NewContact;
        use crate::domain::ids::ContactId;
        use crate::domain::time::Timestamp;
        let contact = |v: serde_json::Value| {
            NewContact::from_json(v.as_object().cloned().unwrap_or_default())
                .unwrap_or_else(|e| panic!("{e}"))
                .into_contact(ContactId::generate(), Timestamp::now())
        };
        let a = Profile::of(&contact(serde_json::json!({"phone": "+14155550123",
            "first_name": "Jonathan", "last_name": "Smith"})));
        let b = Profile::of(&contact(serde_json::json!({"phone": "+14155550999",
            "first_name": "Jonathon", "last_name": "Smith",
            "identities": [{"type": "whatsapp", "value": "+14155550123"}]})));
        assert_eq!(
            reasons(&a, &b),
            vec![Reason::IdentityOverlap, Reason::NameSimilar]
        );
        assert!(!a.keys().is_disjoint(&b.keys()));
    }

    #[test]
    fn contacts_inserted_together_pair_as_one_insert_after_another_would() {
        use crate::domain::ids::ContactId;
        // Generated ids grow, so later ones are newer, as in a write.
        let ids: Vec<ContactId> = (0..12).map(|_| ContactId::generate()).collect();
        let same = profile(Some("ann@acme.io"), &[], None);
        let key = ("email".to_owned(), email_key("ann@acme.io").unwrap());
        let stored = BTreeMap::from([(key, vec![(ids[0].clone(), None)])]);
        let inserted: Vec<(&ContactId, &Profile)> = ids[1..].iter().map(|id| (id, &same)).collect();
        let pairs = Pair::of_inserted(&inserted, &stored);
        let of = |i: usize| {
            let mut others: Vec<&ContactId> = pairs
                .iter()
                .filter(|p| p.a == ids[i] || p.b == ids[i])
                .map(|p| if p.a == ids[i] { &p.b } else { &p.a })
                .filter(|other| **other < ids[i])
                .collect();
            others.sort();
            others
        };
        // The first inserted meets the stored one; the third, those two; the eleventh,
        // the newest eight before it only.
        assert_eq!(of(1), vec![&ids[0]]);
        assert_eq!(of(3), vec![&ids[0], &ids[1], &ids[2]]);
        assert_eq!(of(11), ids[3..11].iter().collect::<Vec<_>>());
        assert!(pairs
            .iter()
            .all(|p| p.a < p.b && p.reasons == [Reason::EmailNormalized]));
        let unrelated = profile(Some("bob@other.io"), &[], None);
        assert!(Pair::of_inserted(&[(&ids[1], &unrelated)], &stored).is_empty());
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
