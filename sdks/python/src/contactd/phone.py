"""Phone numbers as people write them, put in the E.164 form contactd stores, with
libphonenumber's rules (the `phonenumbers` package): national trunk prefixes, `00`
international prefixes, spaces, dashes, dots and brackets."""

from __future__ import annotations

import re

import phonenumbers

_E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")


def format_phone_e164(raw: str, default_country: str | int | None = "US") -> str:
    """The E.164 form (`+447911123456`) of a phone number; `ValueError` when it is not a
    valid number.

    A number without `+` is read the way `default_country` writes its numbers. That is an
    ISO 3166 region (`"US"`, `"GB"`, any case) or a calling code as the guide's JavaScript
    helper takes it (`"1"`, `"44"`, `"+49"`, `44`); the default, `"US"`, matches the guide's
    `'1'`. With `None`, only international numbers are read.

    A number already in E.164 form (`+` and 2 to 15 digits, as the server checks it) is
    returned as it is, so the guide's "correct" numbers pass through unchanged. Anything
    else must be a valid number by libphonenumber's rules (a length and range in use):
    `1234567890` with `"1"` is refused rather than guessed into `+11234567890`.

    >>> format_phone_e164("07911 123456", "GB")
    '+447911123456'
    >>> format_phone_e164("(415) 555-0123")
    '+14155550123'
    """
    if not isinstance(raw, str):
        raise TypeError(f"a phone number is a string, not {type(raw).__name__}")
    region = _region(default_country)
    text = raw.strip()
    if _E164.match(text):
        return text
    number = _valid(text, region)
    if number is None and text.startswith("00"):
        # Most countries dial out with 00; where the default country's own international
        # prefix differs (011 in the US), libphonenumber does not strip it.
        number = _valid("+" + text[2:], region)
    if number is None:
        where = f" (read as a number of {region})" if region and not text.startswith("+") else ""
        raise ValueError(f"{raw!r} is not a valid phone number{where}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _region(default_country: str | int | None) -> str | None:
    if default_country is None:
        return None
    code = str(default_country).strip().upper()
    if code.lstrip("+").isdigit():
        region = phonenumbers.region_code_for_country_code(int(code.lstrip("+")))
        if region == phonenumbers.UNKNOWN_REGION:
            raise ValueError(f"unknown calling code {default_country!r}")
        return region
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(
            f"unknown country {default_country!r}: "
            "expected an ISO 3166 code such as 'GB' or a calling code such as '44'"
        )
    return code


def _valid(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None
