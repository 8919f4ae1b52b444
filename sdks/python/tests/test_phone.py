"""format_phone_e164: the guide's table, national numbers with a default country, and
numbers libphonenumber knows are not valid."""

from __future__ import annotations

import pytest

from contactd import format_phone_e164

# The guide's "Phone Number Format" table: each number as E.164 ("Correct") and as it is
# often written ("Incorrect"), with the country that writes it so, and what the helper
# gives for the incorrect form. A correct number comes back as it is. Only the UK number
# is a real one: +1 234567890 has 9 national digits where the US has 10, and no German
# number starts 0123, so their incorrect forms are refused rather than guessed.
SEED_TABLE = [
    ("+1234567890", "1234567890", "1", None),
    ("+447911123456", "07911123456", "GB", "+447911123456"),
    ("+491234567890", "01234567890", "DE", None),
]


@pytest.mark.parametrize("correct, incorrect, country, e164", SEED_TABLE)
def test_the_guides_table(correct, incorrect, country, e164):
    for any_country in (country, "US", "GB", None):
        assert format_phone_e164(correct, any_country) == correct
        assert format_phone_e164(f" {correct} ", any_country) == correct
    if e164 is None:
        with pytest.raises(ValueError, match="not a valid phone number"):
            format_phone_e164(incorrect, country)
    else:
        assert format_phone_e164(incorrect, country) == e164


@pytest.mark.parametrize(
    "raw, country, e164",
    [
        ("(415) 555-0123", "US", "+14155550123"),
        ("415.555.0123", "1", "+14155550123"),
        ("1 415 555 0123", "US", "+14155550123"),
        ("07911 123456", "gb", "+447911123456"),
        ("07911123456", "44", "+447911123456"),
        ("+44 (0)7911 123456", "GB", "+447911123456"),
        ("030 1234567", "DE", "+49301234567"),
        ("0151 23456789", "+49", "+4915123456789"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("0044 7911 123456", "US", "+447911123456"),
        ("011 44 7911 123456", "US", "+447911123456"),
        ("+1 415 555 0123", "GB", "+14155550123"),
        (" 4155550123 ", 1, "+14155550123"),
    ],
)
def test_national_and_international_numbers(raw, country, e164):
    assert format_phone_e164(raw, country) == e164


def test_the_default_country_is_the_us_as_in_the_guide():
    assert format_phone_e164("415 555 0123") == "+14155550123"


@pytest.mark.parametrize("raw", ["12345", "+1 555 0123", "not a phone", "", "+999 1234 5678"])
def test_invalid_numbers_raise(raw):
    with pytest.raises(ValueError):
        format_phone_e164(raw, "GB")


def test_without_a_default_country_only_international_numbers_are_read():
    assert format_phone_e164("+447911123456", None) == "+447911123456"
    with pytest.raises(ValueError):
        format_phone_e164("07911123456", None)


@pytest.mark.parametrize("country", ["XX", "GBR", "999", ""])
def test_unknown_countries_raise(country):
    with pytest.raises(ValueError, match="unknown"):
        format_phone_e164("07911 123456", country)


def test_what_it_gives_the_server_accepts(api):
    contact = api.contacts.create({"phone": format_phone_e164("(415) 555-0199", "US")})
    assert contact.phone == "+14155550199"
    api.contacts.delete(contact.id)
