//! Phone numbers in strict E.164 form, the only form contactd stores and compares,
//! plus a best-effort suggestion for numbers written the way people usually write them.
//! With a default country (ISO 3166 alpha-2), numbers written the national way are read
//! with libphonenumber's rules (trunk prefixes, `00`, spaces, brackets) and normalized.

use super::FieldError;

const INVALID_MESSAGE: &str = "Phone number must be in E.164 format";
const FORMAT_DESCRIPTION: &str =
    "E.164 format: + followed by the country code and number, e.g. +14155550123";
/// Characters people put between digits for readability; they never change the number.
const SEPARATORS: [char; 5] = ['-', '.', '(', ')', '/'];

/// A phone number in E.164 form: `+`, then 2 to 15 ASCII digits, the first not 0.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    /// Accepts `raw` only if it already is E.164; `field` names the input in the error,
    /// whose `expected` carries the corrected number when one can be guessed.
    pub fn parse(field: &str, raw: &str) -> Result<Phone, FieldError> {
        if is_e164(raw) {
            Ok(Phone(raw.to_owned()))
        } else {
            Err(invalid(field, raw))
        }
    }

    /// Like [`Phone::parse`], but with a default country a number written the way people
    /// of that country write it (`07911 123456` in `GB`) is normalized to E.164 first.
    pub fn parse_in(field: &str, raw: &str, country: Option<Country>) -> Result<Phone, FieldError> {
        let strict = Phone::parse(field, raw);
        match (strict, country) {
            (Ok(phone), _) => Ok(phone),
            (Err(e), None) => Err(e),
            (Err(e), Some(country)) => match normalize(raw, country) {
                Some(phone) => Ok(phone),
                None => Err(FieldError {
                    message: format!(
                        "{INVALID_MESSAGE}, or be a valid number of the default country {}",
                        country.code()
                    ),
                    ..e
                }),
            },
        }
    }

    /// The number, e.g. `+14155550123`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// The E.164 form of a loosely written number (`+1 (415) 555-0123`, `0044 7911 123456`,
/// `1234567890`), or `None` when it cannot be derived. A national number with a trunk
/// prefix (`07911123456`) gets `None` because its country cannot be known.
pub fn suggest_e164(raw: &str) -> Option<String> {
    let compact: String = raw
        .trim()
        .chars()
        .filter(|c| !c.is_whitespace() && !SEPARATORS.contains(c))
        .collect();
    let candidate = if let Some(rest) = compact.strip_prefix("00") {
        format!("+{rest}")
    } else if compact.starts_with('+') {
        compact
    } else if compact.starts_with('0') {
        return None;
    } else {
        format!("+{compact}")
    };
    is_e164(&candidate).then_some(candidate)
}

/// A country whose numbering plan reads national numbers: ISO 3166 alpha-2, e.g. `GB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Country(phonenumber::country::Id, [u8; 2]);

impl Country {
    pub fn parse(field: &str, raw: &str) -> Result<Country, FieldError> {
        let known = raw.len() == 2 && raw.bytes().all(|b| b.is_ascii_uppercase());
        known
            .then(|| raw.parse::<phonenumber::country::Id>().ok())
            .flatten()
            .map(|id| Country(id, [raw.as_bytes()[0], raw.as_bytes()[1]]))
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    "default_country must be an ISO 3166 alpha-2 country code",
                )
                .received(raw.chars().take(100).collect::<String>())
                .expected("two capital letters, e.g. GB, US, DE")
            })
    }

    /// The two letters, e.g. `GB`.
    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.1).unwrap_or("??")
    }
}

/// The E.164 form of a valid number of `country`, written any common way.
fn normalize(raw: &str, country: Country) -> Option<Phone> {
    let number = phonenumber::parse(Some(country.0), raw).ok()?;
    if !phonenumber::is_valid(&number) {
        return None;
    }
    let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
    is_e164(&e164).then_some(Phone(e164))
}

fn is_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    // Byte length equals character count here because every byte must be an ASCII digit.
    (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

fn invalid(field: &str, raw: &str) -> FieldError {
    let expected = suggest_e164(raw).unwrap_or_else(|| FORMAT_DESCRIPTION.to_owned());
    FieldError::new(field, INVALID_MESSAGE)
        .received(raw)
        .expected(expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn national_numbers_normalize_with_a_default_country() {
        let gb = Country::parse("default_country", "GB").unwrap();
        let us = Country::parse("default_country", "US").unwrap();
        let de = Country::parse("default_country", "DE").unwrap();
        for (raw, country, e164) in [
            ("07911 123456", gb, "+447911123456"),
            ("(415) 555-0123", us, "+14155550123"),
            ("415.555.0123", us, "+14155550123"),
            ("030 1234567", de, "+49301234567"),
            ("0044 7911 123456", de, "+447911123456"),
            ("+447911123456", us, "+447911123456"),
        ] {
            assert_eq!(
                Phone::parse_in("phone", raw, Some(country)).map(Phone::into_string),
                Ok(e164.to_owned()),
                "{raw}"
            );
        }
        assert!(Phone::parse_in("phone", "07911 123456", None).is_err());
        assert!(Phone::parse_in("phone", "12", Some(gb)).is_err());
        assert!(Phone::parse_in("phone", "hello", Some(gb)).is_err());
    }

    #[test]
    fn countries_are_iso_alpha_2() {
        assert_eq!(
            Country::parse("c", "GB").map(|c| c.code().to_owned()),
            Ok("GB".to_owned())
        );
        for bad in ["gb", "G", "GBR", "XX", "", "1A"] {
            assert!(Country::parse("default_country", bad).is_err(), "{bad}");
        }
    }

    fn ok(raw: &str) -> bool {
        Phone::parse("phone", raw).is_ok()
    }

    #[test]
    fn accepts_two_and_fifteen_digits() {
        assert!(ok("+12"));
        assert!(ok("+123456789012345"));
        assert!(ok("+14155550123"));
    }

    #[test]
    fn rejects_wrong_lengths() {
        assert!(!ok("+1"));
        assert!(!ok("+"));
        assert!(!ok(""));
        assert!(!ok("+1234567890123456"));
    }

    #[test]
    fn rejects_leading_zero_after_plus() {
        assert!(!ok("+0123456789"));
    }

    #[test]
    fn rejects_non_ascii_digits() {
        assert!(!ok("+١٢٣٤٥٦٧٨٩"));
        assert!(!ok("+1２3456789"));
    }

    #[test]
    fn rejects_separators_and_spaces() {
        assert!(!ok("+1 4155550123"));
        assert!(!ok("+1-415-555-0123"));
        assert!(!ok(" +14155550123"));
        assert!(!ok("+14155550123 "));
        assert!(!ok("14155550123"));
        assert!(!ok("++14155550123"));
    }

    #[test]
    fn keeps_the_number_as_given() {
        let phone = Phone::parse("phone", "+14155550123").unwrap();
        assert_eq!(phone.as_str(), "+14155550123");
        assert_eq!(phone.into_string(), "+14155550123");
    }

    #[test]
    fn suggests_e164_forms() {
        let cases = [
            ("1234567890", Some("+1234567890")),
            ("+1 (415) 555-0123", Some("+14155550123")),
            ("0044 7911 123456", Some("+447911123456")),
            ("  +44.7911/123456 ", Some("+447911123456")),
            ("+14155550123", Some("+14155550123")),
            ("07911123456", None),
            ("abc", None),
            ("", None),
            ("+", None),
            ("1", None),
            ("00", None),
            ("+0044 7911 123456", None),
            ("12345678901234567", None),
            ("١٢٣٤٥٦٧٨٩", None),
        ];
        for (raw, want) in cases {
            assert_eq!(suggest_e164(raw).as_deref(), want, "input {raw:?}");
        }
    }

    #[test]
    fn error_suggests_the_e164_form() {
        let err = Phone::parse("phone", "1234567890").unwrap_err();
        assert_eq!(err.field, "phone");
        assert_eq!(err.message, "Phone number must be in E.164 format");
        assert_eq!(err.received, Some(json!("1234567890")));
        assert_eq!(err.expected, Some(json!("+1234567890")));
    }

    #[test]
    fn error_describes_the_format_without_a_suggestion() {
        let err = Phone::parse("contact.phone", "07911123456").unwrap_err();
        assert_eq!(err.field, "contact.phone");
        assert_eq!(err.received, Some(json!("07911123456")));
        assert_eq!(
            err.expected,
            Some(json!(
                "E.164 format: + followed by the country code and number, e.g. +14155550123"
            ))
        );
    }
}
