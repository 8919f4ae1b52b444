//! Phone numbers as people write them, turned into the E.164 form contactd stores, with
//! libphonenumber's rules (through the `phonenumber` crate): national trunk prefixes,
//! international prefixes, spaces, dashes and brackets.

use phonenumber::country::Id as CountryId;
use phonenumber::{Mode, PhoneNumber};

/// Why a phone number could not be put in E.164 form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PhoneError {
    /// The default country is not an ISO 3166 alpha-2 code libphonenumber knows.
    #[error("unknown country {0:?}: expected an ISO 3166 alpha-2 code such as GB or US")]
    UnknownCountry(String),
    /// The text is not a phone number at all (too few digits, letters, …).
    #[error("{raw:?} is not a phone number")]
    NotANumber {
        /// The text given.
        raw: String,
    },
    /// The text reads as a number, but no such number can exist (wrong length, unused
    /// range, unknown country calling code).
    #[error("{raw:?} is not a valid phone number (read with default country {country})")]
    Invalid {
        /// The text given.
        raw: String,
        /// The default country it was read with.
        country: String,
    },
}

/// The E.164 form (`+447911123456`) of a phone number written the way people write it.
///
/// A number without a `+` or an international prefix is read as `default_country`
/// (ISO 3166 alpha-2, any case) writes its numbers, national trunk prefix included.
///
/// ```
/// use contactd_client::format_phone_e164;
///
/// assert_eq!(format_phone_e164("07911 123456", "GB").unwrap(), "+447911123456");
/// assert_eq!(format_phone_e164("(415) 555-0123", "US").unwrap(), "+14155550123");
/// assert_eq!(format_phone_e164("0044 7911 123456", "DE").unwrap(), "+447911123456");
/// assert_eq!(format_phone_e164("+1 415 555 0123", "GB").unwrap(), "+14155550123");
/// assert!(format_phone_e164("12345", "GB").is_err());
/// ```
pub fn format_phone_e164(raw: &str, default_country: &str) -> Result<String, PhoneError> {
    let country = parse_country(default_country)?;
    let raw = raw.trim();
    let number = read(raw, country).or_else(|first| {
        // Most countries dial out with 00; where the default country's own international
        // prefix differs (011 in the US), libphonenumber does not strip it.
        match raw.strip_prefix("00") {
            Some(rest) => read(&format!("+{rest}"), country).map_err(|_| first),
            None => Err(first),
        }
    });
    match number {
        Ok(number) => Ok(number.format().mode(Mode::E164).to_string()),
        Err(Unreadable::NotANumber) => Err(PhoneError::NotANumber {
            raw: raw.to_owned(),
        }),
        Err(Unreadable::Invalid) => Err(PhoneError::Invalid {
            raw: raw.to_owned(),
            country: country.as_ref().to_owned(),
        }),
    }
}

enum Unreadable {
    NotANumber,
    Invalid,
}

fn read(raw: &str, country: CountryId) -> Result<PhoneNumber, Unreadable> {
    let number = phonenumber::parse(Some(country), raw).map_err(|_| Unreadable::NotANumber)?;
    if phonenumber::is_valid(&number) {
        Ok(number)
    } else {
        Err(Unreadable::Invalid)
    }
}

fn parse_country(code: &str) -> Result<CountryId, PhoneError> {
    let upper = code.trim().to_ascii_uppercase();
    let two_letters = upper.len() == 2 && upper.bytes().all(|b| b.is_ascii_uppercase());
    two_letters
        .then(|| upper.parse::<CountryId>().ok())
        .flatten()
        .ok_or_else(|| PhoneError::UnknownCountry(code.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn e164(raw: &str, country: &str) -> String {
        format_phone_e164(raw, country).unwrap_or_else(|e| panic!("{raw:?} in {country}: {e}"))
    }

    #[test]
    fn uk_numbers_lose_their_trunk_prefix() {
        assert_eq!(e164("07911 123456", "GB"), "+447911123456");
        assert_eq!(e164("07911123456", "gb"), "+447911123456");
        assert_eq!(e164("020 7946 0018", "GB"), "+442079460018");
        assert_eq!(e164("+44 (0)7911 123456", "GB"), "+447911123456");
    }

    #[test]
    fn us_numbers_with_dashes_brackets_and_dots() {
        for raw in [
            "(415) 555-0123",
            "415-555-0123",
            "415.555.0123",
            "1 415 555 0123",
            "+1 (415) 555-0123",
            " 4155550123 ",
        ] {
            assert_eq!(e164(raw, "US"), "+14155550123", "{raw}");
        }
    }

    #[test]
    fn german_numbers_drop_the_0_trunk_prefix() {
        assert_eq!(e164("030 1234567", "DE"), "+49301234567");
        assert_eq!(e164("0151 23456789", "DE"), "+4915123456789");
    }

    #[test]
    fn international_prefixes_and_e164_input() {
        assert_eq!(e164("0044 7911 123456", "DE"), "+447911123456");
        assert_eq!(e164("0044 7911 123456", "US"), "+447911123456");
        assert_eq!(e164("011 44 7911 123456", "US"), "+447911123456");
        assert_eq!(e164("+447911123456", "US"), "+447911123456");
        assert_eq!(e164("+14155550123", "GB"), "+14155550123");
    }

    #[test]
    fn invalid_numbers_are_rejected() {
        assert!(matches!(
            format_phone_e164("12345", "GB"),
            Err(PhoneError::Invalid { .. })
        ));
        assert!(matches!(
            format_phone_e164("+1 555 0123", "US"),
            Err(PhoneError::Invalid { .. })
        ));
        assert!(matches!(
            format_phone_e164("not a phone", "GB"),
            Err(PhoneError::NotANumber { .. })
        ));
        assert!(matches!(
            format_phone_e164("", "GB"),
            Err(PhoneError::NotANumber { .. })
        ));
    }

    #[test]
    fn unknown_countries_are_rejected() {
        for country in ["XX", "ZZ", "GBR", "", "1", "U$"] {
            assert_eq!(
                format_phone_e164("07911 123456", country),
                Err(PhoneError::UnknownCountry(country.to_owned())),
                "{country:?}"
            );
        }
    }
}
