//! Email addresses: a deliberately plain ASCII syntax check (no quoted local parts,
//! comments or IP literals) and the case-insensitive key addresses are compared by.

use super::FieldError;

const MAX_ADDRESS_LEN: usize = 254;
const MAX_LOCAL_LEN: usize = 64;
const MAX_LABEL_LEN: usize = 63;
/// Printable characters RFC 5322 allows in an unquoted local part, besides letters, digits and '.'.
const LOCAL_SPECIALS: &str = "!#$%&'*+/=?^_`{|}~-";
const EXAMPLE: &str = "an address like name@example.com";
const WHITESPACE_MESSAGE: &str = "Email must not have leading or trailing whitespace";

/// A syntactically valid email address, kept exactly as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Accepts `raw` if it is a valid address; `field` names the input in the error.
    pub fn parse(field: &str, raw: &str) -> Result<Email, FieldError> {
        match check(raw) {
            Ok(()) => Ok(Email(raw.to_owned())),
            Err(message) => Err(invalid(field, raw, message)),
        }
    }

    /// The address as given, e.g. `John@Example.com`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }

    /// The key addresses are unique by and looked up by: the whole address lowercased,
    /// because contactd compares emails case-insensitively.
    pub fn normalized(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// The reason `s` is not a valid address, as a sentence for the API user.
fn check(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("Email must not be empty");
    }
    if !s.is_ascii() {
        return Err("Email must contain only ASCII characters");
    }
    if s.len() > MAX_ADDRESS_LEN {
        return Err("Email must be at most 254 characters long");
    }
    let mut parts = s.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err("Email must contain exactly one @");
    };
    if !is_valid_local(local) {
        return Err("Email must have a valid name before the @");
    }
    if !is_valid_domain(domain) {
        return Err("Email must have a valid domain after the @, such as example.com");
    }
    Ok(())
}

fn is_valid_local(local: &str) -> bool {
    (1..=MAX_LOCAL_LEN).contains(&local.len())
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || LOCAL_SPECIALS.contains(c))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
}

fn is_valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let Some(tld) = labels.last() else {
        return false;
    };
    labels.len() >= 2
        && labels.iter().all(|label| is_valid_label(label))
        && tld.len() >= 2
        && !tld.bytes().all(|b| b.is_ascii_digit())
}

fn is_valid_label(label: &str) -> bool {
    (1..=MAX_LABEL_LEN).contains(&label.len())
        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// Stray whitespace from copy and paste is the most common mistake, so it gets its own
/// message and the cleaned address as `expected`.
fn invalid(field: &str, raw: &str, message: &str) -> FieldError {
    let trimmed = raw.trim();
    if trimmed != raw && check(trimmed).is_ok() {
        FieldError::new(field, WHITESPACE_MESSAGE)
            .received(raw)
            .expected(trimmed)
    } else {
        FieldError::new(field, message)
            .received(raw)
            .expected(EXAMPLE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(raw: &str) -> bool {
        Email::parse("email", raw).is_ok()
    }

    fn message(raw: &str) -> String {
        Email::parse("email", raw).unwrap_err().message
    }

    #[test]
    fn accepts_valid_addresses() {
        for raw in [
            "john@example.com",
            "John.Doe+tag@Sub.Example.co.uk",
            "a@b.io",
            "x!#$%&'*+/=?^_`{|}~-y@example.com",
            "john@my-host.example",
            "john@123.example.com",
            "john@example.c0m",
        ] {
            assert!(ok(raw), "{raw:?} should be valid");
        }
    }

    #[test]
    fn keeps_the_address_as_given() {
        let email = Email::parse("email", "John@Example.COM").unwrap();
        assert_eq!(email.as_str(), "John@Example.COM");
        assert_eq!(email.normalized(), "john@example.com");
        assert_eq!(email.into_string(), "John@Example.COM");
    }

    #[test]
    fn rejects_empty() {
        assert_eq!(message(""), "Email must not be empty");
    }

    #[test]
    fn rejects_wrong_number_of_at_signs() {
        assert_eq!(message("john"), "Email must contain exactly one @");
        assert_eq!(
            message("john@@example.com"),
            "Email must contain exactly one @"
        );
        assert_eq!(
            message("a@b@example.com"),
            "Email must contain exactly one @"
        );
    }

    #[test]
    fn rejects_bad_local_parts() {
        for raw in [
            "@example.com",
            "john..doe@example.com",
            ".john@example.com",
            "john.@example.com",
            "jo hn@example.com",
            "\"john\"@example.com",
            "jo(comment)hn@example.com",
        ] {
            assert_eq!(
                message(raw),
                "Email must have a valid name before the @",
                "input {raw:?}"
            );
        }
    }

    #[test]
    fn rejects_bad_domains() {
        for raw in [
            "john@",
            "john@example",
            "john@-example.com",
            "john@example-.com",
            "john@example..com",
            "john@.example.com",
            "john@example.com.",
            "john@example.c",
            "john@example.123",
            "john@[192.168.0.1]",
            "john@exa_mple.com",
        ] {
            assert_eq!(
                message(raw),
                "Email must have a valid domain after the @, such as example.com",
                "input {raw:?}"
            );
        }
    }

    #[test]
    fn rejects_non_ascii() {
        assert_eq!(
            message("jöhn@example.com"),
            "Email must contain only ASCII characters"
        );
        assert!(!ok("john@exämple.com"));
    }

    #[test]
    fn local_part_length_limit() {
        let at_limit = format!("{}@example.com", "a".repeat(64));
        let over = format!("{}@example.com", "a".repeat(65));
        assert!(ok(&at_limit));
        assert_eq!(message(&over), "Email must have a valid name before the @");
    }

    #[test]
    fn label_length_limit() {
        assert!(ok(&format!("john@{}.com", "a".repeat(63))));
        assert!(!ok(&format!("john@{}.com", "a".repeat(64))));
    }

    #[test]
    fn address_length_limit() {
        // 64 + 1 + 63 + 1 + 63 + 1 + 61 = 254 characters.
        let domain = format!("{}.{}.{}", "b".repeat(63), "c".repeat(63), "d".repeat(61));
        let at_limit = format!("{}@{domain}", "a".repeat(64));
        assert_eq!(at_limit.len(), 254);
        assert!(ok(&at_limit));
        let over = format!("{}@{domain}e", "a".repeat(64));
        assert_eq!(over.len(), 255);
        assert_eq!(message(&over), "Email must be at most 254 characters long");
    }

    #[test]
    fn error_fields_for_invalid_address() {
        let err = Email::parse("email", "john@example").unwrap_err();
        assert_eq!(err.field, "email");
        assert_eq!(err.received, Some(json!("john@example")));
        assert_eq!(
            err.expected,
            Some(json!("an address like name@example.com"))
        );
    }

    #[test]
    fn surrounding_whitespace_suggests_trimmed_address() {
        let err = Email::parse("ref", " john@example.com").unwrap_err();
        assert_eq!(err.field, "ref");
        assert_eq!(
            err.message,
            "Email must not have leading or trailing whitespace"
        );
        assert_eq!(err.received, Some(json!(" john@example.com")));
        assert_eq!(err.expected, Some(json!("john@example.com")));

        let err = Email::parse("email", "john@example.com\n").unwrap_err();
        assert_eq!(err.expected, Some(json!("john@example.com")));
    }

    #[test]
    fn whitespace_around_an_invalid_address_gets_the_generic_hint() {
        let err = Email::parse("email", "john@example ").unwrap_err();
        assert_eq!(
            err.message,
            "Email must have a valid domain after the @, such as example.com"
        );
        assert_eq!(
            err.expected,
            Some(json!("an address like name@example.com"))
        );
    }
}
