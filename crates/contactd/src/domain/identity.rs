//! Channel identities (contract §8): how one person is known on a channel, beside the
//! primary phone and email. `instagram:17841400000000001` names a contact as a ref does.
//!
//! Each identity is unique per workspace+mode within its *namespace*: `phone` identities
//! share theirs with the primary `phone` field and `email` identities with the primary
//! `email` (compared case-insensitively, as the primary field is), so a number can belong
//! to one contact only whichever way it was given. Every other type is its own namespace:
//! a number that is one contact's phone may be another's `whatsapp`, and that pair is a
//! duplicate suggestion, not a clash.

use strum::{EnumString, IntoStaticStr, VariantNames};

use super::email::Email;
use super::phone::Phone;
use super::FieldError;

/// Longest value of the free-form types (`instagram`, `external`, …), in characters.
pub const MAX_VALUE_CHARS: usize = 128;
/// Most identities one contact may hold.
pub const MAX_PER_CONTACT: usize = 20;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    IntoStaticStr,
    EnumString,
    VariantNames,
)]
#[strum(serialize_all = "lowercase")]
pub enum IdentityType {
    Phone,
    Email,
    Whatsapp,
    Instagram,
    Messenger,
    Telegram,
    External,
}

impl IdentityType {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(field: &str, raw: &str) -> Result<IdentityType, FieldError> {
        raw.parse().map_err(|_| {
            FieldError::new(field, "Identity type must be one of the listed types")
                .received(truncated(raw))
                .expected(Self::VARIANTS.join(", "))
        })
    }
}

/// A well-formed identity: phone and whatsapp values are E.164, email values addresses,
/// the others 1–128 printable characters without spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identity {
    kind: IdentityType,
    value: String,
}

impl Identity {
    /// Reads one identity; errors name `field` followed by `.type` or `.value`.
    pub fn parse(field: &str, kind: &str, value: &str) -> Result<Identity, FieldError> {
        let kind = IdentityType::parse(&format!("{field}.type"), kind)?;
        Identity::of(field, kind, value)
    }

    /// Reads a value of a known type; errors name `field.value`.
    pub fn of(field: &str, kind: IdentityType, value: &str) -> Result<Identity, FieldError> {
        let value_field = format!("{field}.value");
        let value = match kind {
            IdentityType::Phone | IdentityType::Whatsapp => {
                Phone::parse(&value_field, value)?.into_string()
            }
            IdentityType::Email => Email::parse(&value_field, value)?.into_string(),
            _ => free_form(&value_field, value)?,
        };
        Ok(Identity { kind, value })
    }

    pub fn kind(&self) -> IdentityType {
        self.kind
    }

    /// The value as given (an email keeps its case).
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The namespace this identity is unique in: `phone` and `email` are the primary
    /// fields' own.
    pub fn namespace(&self) -> &'static str {
        self.kind.as_str()
    }

    /// The value as uniqueness and lookups compare it: emails lowercased, the rest as is.
    pub fn key(&self) -> String {
        match self.kind {
            IdentityType::Email => self.value.to_ascii_lowercase(),
            _ => self.value.clone(),
        }
    }

    /// The namespace and key this identity is unique by.
    pub fn handle(&self) -> (&'static str, String) {
        (self.namespace(), self.key())
    }

    /// The identity as the API shows it.
    pub fn to_wire(&self) -> contactd_wire::Identity {
        contactd_wire::Identity::new(self.kind.as_str(), self.value.clone())
    }

    /// `TYPE:VALUE`, the identity's ref form.
    pub fn to_ref(&self) -> String {
        format!("{}:{}", self.kind.as_str(), self.value)
    }

    /// Reads a ref of the form `TYPE:VALUE`, or answers `None` when `raw` does not start
    /// with a known type and a colon (then it is an id, a phone or an email, or an error
    /// of those). Errors name `field`.
    pub fn parse_ref(field: &str, raw: &str) -> Option<Result<Identity, FieldError>> {
        let (kind, value) = raw.split_once(':')?;
        let kind: IdentityType = kind.parse().ok()?;
        Some(Identity::of(field, kind, value).map_err(|e| FieldError {
            field: field.to_owned(),
            ..e
        }))
    }
}

/// Checks a value of the free-form types.
fn free_form(field: &str, raw: &str) -> Result<String, FieldError> {
    let chars = raw.chars().count();
    let message = if chars == 0 {
        "Identity value must not be empty"
    } else if chars > MAX_VALUE_CHARS {
        "Identity value must be at most 128 characters long"
    } else if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        "Identity value must not contain spaces or control characters"
    } else {
        return Ok(raw.to_owned());
    };
    Err(FieldError::new(field, message)
        .received(truncated(raw))
        .expected("1 to 128 printable characters without spaces"))
}

/// A contact's identities after the rules of one contact: at most [`MAX_PER_CONTACT`],
/// one of each namespace and key (a repeated identity is kept once).
pub fn unite(field: &str, identities: Vec<Identity>) -> Result<Vec<Identity>, FieldError> {
    let mut united: Vec<Identity> = Vec::with_capacity(identities.len());
    for identity in identities {
        let same =
            |i: &Identity| i.namespace() == identity.namespace() && i.key() == identity.key();
        if !united.iter().any(same) {
            united.push(identity);
        }
    }
    if united.len() > MAX_PER_CONTACT {
        return Err(
            FieldError::new(field, "A contact may have at most 20 identities")
                .received(united.len() as u64)
                .expected(MAX_PER_CONTACT as u64),
        );
    }
    Ok(united)
}

fn truncated(raw: &str) -> String {
    raw.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_type_checks_its_values() {
        let whatsapp = Identity::parse("identities[0]", "whatsapp", "+14155550123").unwrap();
        assert_eq!(whatsapp.to_ref(), "whatsapp:+14155550123");
        let e = Identity::parse("identities[0]", "whatsapp", "14155550123").unwrap_err();
        assert_eq!(e.field, "identities[0].value");
        assert_eq!(e.expected, Some("+14155550123".into()));

        let email = Identity::parse("i", "email", "Ana@Example.com").unwrap();
        assert_eq!(
            (email.value(), email.key()),
            ("Ana@Example.com", "ana@example.com".into())
        );
        assert!(Identity::parse("i", "email", "not an address").is_err());

        let ig = Identity::parse("i", "instagram", "17841400000000001").unwrap();
        assert_eq!(ig.namespace(), "instagram");
        assert_eq!(
            Identity::parse("i", "external", "crm-42").unwrap().value(),
            "crm-42"
        );
    }

    #[test]
    fn free_form_values_are_printable_without_spaces_and_bounded() {
        for bad in ["", "a b", "tab\there", "nl\n", &"x".repeat(129)] {
            let e = Identity::parse("i", "telegram", bad).unwrap_err();
            assert_eq!(e.field, "i.value", "{bad:?}");
        }
        assert!(Identity::parse("i", "telegram", &"é".repeat(128)).is_ok());
    }

    #[test]
    fn an_unknown_type_lists_the_known_ones() {
        let e = Identity::parse("identities[1]", "fax", "1").unwrap_err();
        assert_eq!(e.field, "identities[1].type");
        assert_eq!(
            e.expected,
            Some("phone, email, whatsapp, instagram, messenger, telegram, external".into())
        );
    }

    #[test]
    fn refs_of_the_type_value_form() {
        let parsed = Identity::parse_ref("ref", "instagram:17841400000000001")
            .unwrap()
            .unwrap();
        assert_eq!(
            (parsed.kind(), parsed.value()),
            (IdentityType::Instagram, "17841400000000001")
        );
        assert_eq!(
            Identity::parse_ref("ref", "whatsapp:+14155550123")
                .unwrap()
                .unwrap()
                .value(),
            "+14155550123"
        );
        // The value may hold colons of its own.
        assert_eq!(
            Identity::parse_ref("ref", "external:crm:42")
                .unwrap()
                .unwrap()
                .value(),
            "crm:42"
        );
        let bad = Identity::parse_ref("ref", "whatsapp:0415")
            .unwrap()
            .unwrap_err();
        assert_eq!(bad.field, "ref");
        // Not of this form: left to the other kinds of ref.
        for other in [
            "cnt_abc",
            "+14155550123",
            "ana@example.com",
            "fax:1",
            "nocolon",
        ] {
            assert!(Identity::parse_ref("ref", other).is_none(), "{other}");
        }
    }

    #[test]
    fn unite_keeps_one_of_each_and_bounds_the_count() {
        let i = |t: &str, v: &str| Identity::parse("i", t, v).unwrap();
        let united = unite(
            "identities",
            vec![
                i("email", "A@x.io"),
                i("email", "a@X.io"),
                i("whatsapp", "+14155550123"),
                i("phone", "+14155550123"),
            ],
        )
        .unwrap();
        assert_eq!(united.len(), 3);
        let many = (0..21).map(|n| i("external", &format!("id-{n}"))).collect();
        assert_eq!(unite("identities", many).unwrap_err().field, "identities");
    }
}
