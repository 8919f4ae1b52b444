//! Contact references: the `{ref}` in `/v2/contact/{ref}` and a conversation's
//! `contact_id`, which name a contact by its id, its phone, its email or one of its
//! identities (`TYPE:VALUE`).

use super::email::Email;
use super::identity::Identity;
use super::ids::ContactId;
use super::phone::{suggest_e164, Phone};
use super::FieldError;

/// Field name every reference error reports, whatever the reference's source.
const FIELD: &str = "ref";
/// Longest `received` echoed back; a reference can come from a large request body.
const MAX_RECEIVED_CHARS: usize = 200;

/// One way of naming a contact.
#[derive(Debug, Clone, PartialEq)]
pub enum ContactRef {
    /// `cnt_…`
    Id(ContactId),
    /// An E.164 number, `+…`.
    Phone(Phone),
    /// An address, matched case-insensitively.
    Email(Email),
    /// `TYPE:VALUE`, e.g. `instagram:17841400000000001`.
    Identity(Identity),
}

impl ContactRef {
    /// Reads an already percent-decoded reference: `cnt_…` is an id, `+…` a phone,
    /// anything with `@` an email. Errors always name the field `ref`; a phone written
    /// without `+` gets the E.164 form as `expected`.
    pub fn parse(raw: &str) -> Result<ContactRef, FieldError> {
        if let Some(identity) = Identity::parse_ref(FIELD, raw) {
            return identity.map(ContactRef::Identity);
        }
        if raw.starts_with(ContactId::PREFIX) {
            ContactId::parse(raw)
                .map(ContactRef::Id)
                .ok_or_else(|| invalid_id(raw))
        } else if raw.starts_with('+') {
            Phone::parse(FIELD, raw).map(ContactRef::Phone)
        } else if raw.contains('@') {
            Email::parse(FIELD, raw).map(ContactRef::Email)
        } else {
            Err(unrecognized(raw))
        }
    }
}

impl ContactRef {
    /// What this ref finds its contact by: `("id", id)`, or the namespace and key of the
    /// identifier (see `Contact::handles`): a phone ref finds primary phones and `phone`
    /// identities alike, an email ref likewise.
    pub fn key(&self) -> (&'static str, String) {
        match self {
            ContactRef::Id(id) => ("id", id.as_str().to_owned()),
            ContactRef::Phone(phone) => ("phone", phone.as_str().to_owned()),
            ContactRef::Email(email) => ("email", email.normalized()),
            ContactRef::Identity(identity) => identity.handle(),
        }
    }
}

fn invalid_id(raw: &str) -> FieldError {
    FieldError::new(
        FIELD,
        "Contact id must be cnt_ followed by lowercase letters and digits",
    )
    .received(truncated(raw))
    .expected("cnt_ followed by 1 to 64 characters of 0-9 and a-z")
}

fn unrecognized(raw: &str) -> FieldError {
    match suggest_e164(raw) {
        Some(e164) => FieldError::new(FIELD, "Phone number must be in E.164 format")
            .received(raw)
            .expected(e164),
        None => FieldError::new(
            FIELD,
            "A contact reference must be a contact id (cnt_…), an E.164 phone number, an email address or TYPE:VALUE",
        )
        .received(truncated(raw)),
    }
}

fn truncated(raw: &str) -> String {
    raw.chars().take(MAX_RECEIVED_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const GENERIC: &str =
        "A contact reference must be a contact id (cnt_…), an E.164 phone number, an email address or TYPE:VALUE";

    #[test]
    fn contact_id() {
        let parsed = ContactRef::parse("cnt_1a2b3c4d5e6f").unwrap();
        assert_eq!(
            parsed,
            ContactRef::Id(ContactId::parse("cnt_1a2b3c4d5e6f").unwrap())
        );
    }

    #[test]
    fn malformed_contact_id() {
        for raw in ["cnt_", "cnt_ABC", "cnt_a-b"] {
            let err = ContactRef::parse(raw).unwrap_err();
            assert_eq!(err.field, "ref");
            assert_eq!(
                err.message,
                "Contact id must be cnt_ followed by lowercase letters and digits"
            );
            assert_eq!(err.received, Some(json!(raw)));
        }
    }

    #[test]
    fn phone_decoded_from_percent_2b() {
        let parsed = ContactRef::parse("+1234567890").unwrap();
        assert_eq!(
            parsed,
            ContactRef::Phone(Phone::parse("phone", "+1234567890").unwrap())
        );
    }

    #[test]
    fn invalid_phone_keeps_the_phone_error() {
        let err = ContactRef::parse("+1 415 555 0123").unwrap_err();
        assert_eq!(err.field, "ref");
        assert_eq!(err.message, "Phone number must be in E.164 format");
        assert_eq!(err.received, Some(json!("+1 415 555 0123")));
        assert_eq!(err.expected, Some(json!("+14155550123")));
    }

    #[test]
    fn email_keeps_its_case() {
        let ContactRef::Email(email) = ContactRef::parse("John@Example.com").unwrap() else {
            panic!("expected an email reference");
        };
        assert_eq!(email.as_str(), "John@Example.com");
        assert_eq!(email.normalized(), "john@example.com");
    }

    #[test]
    fn invalid_email_keeps_the_email_error() {
        let err = ContactRef::parse("john@example").unwrap_err();
        assert_eq!(err.field, "ref");
        assert_eq!(err.received, Some(json!("john@example")));
        assert_eq!(
            err.expected,
            Some(json!("an address like name@example.com"))
        );
    }

    #[test]
    fn phone_without_plus_suggests_e164() {
        let err = ContactRef::parse("1234567890").unwrap_err();
        assert_eq!(err.field, "ref");
        assert_eq!(err.message, "Phone number must be in E.164 format");
        assert_eq!(err.received, Some(json!("1234567890")));
        assert_eq!(err.expected, Some(json!("+1234567890")));
    }

    #[test]
    fn anything_else_is_rejected() {
        for raw in ["hello", "", "07911123456", "CNT_abc"] {
            let err = ContactRef::parse(raw).unwrap_err();
            assert_eq!(err.field, "ref");
            assert_eq!(err.message, GENERIC);
            assert_eq!(err.received, Some(json!(raw)));
        }
    }

    #[test]
    fn long_input_is_truncated_in_received() {
        let raw = "é".repeat(500);
        let err = ContactRef::parse(&raw).unwrap_err();
        assert_eq!(err.received, Some(json!("é".repeat(200))));

        let long_id = format!("cnt_{}", "a".repeat(500));
        let err = ContactRef::parse(&long_id).unwrap_err();
        assert_eq!(err.received, Some(json!(long_id[..200])));
    }
}
