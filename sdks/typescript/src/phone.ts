import {
  isSupportedCountry,
  parsePhoneNumberWithError,
  type CountryCode,
  type PhoneNumber,
} from "libphonenumber-js/max";

/** Thrown by {@link formatPhoneE164} for text that is not a valid phone number. */
export class PhoneNumberError extends Error {
  /** The text given. */
  readonly raw: string;
  /** The default country it was read with. */
  readonly defaultCountry: string;

  constructor(message: string, raw: string, defaultCountry: string) {
    super(message);
    this.name = "PhoneNumberError";
    this.raw = raw;
    this.defaultCountry = defaultCountry;
  }
}

const E164 = /^\+[1-9][0-9]{1,14}$/;

/**
 * The E.164 form (`+447911123456`) of a phone number written the way people write it, for
 * `phone` fields and contact refs; throws {@link PhoneNumberError} for a number that is not
 * valid.
 *
 * - A number already in E.164 form is returned as it is (the form contactd stores).
 * - Anything else is read with libphonenumber's rules as `defaultCountry` writes its
 *   numbers (national trunk prefixes, `00` or `011` international prefixes, spaces,
 *   dashes, dots, brackets) and must be a valid number there: `07911 123456` with `"GB"`
 *   (or `"44"`) gives `+447911123456`, `(415) 555-0123` with `"US"` (or `"1"`) gives
 *   `+14155550123`.
 *
 * @param defaultCountry an ISO 3166 region (`"US"`, `"GB"`, any case) or a country calling
 *   code (`"1"`, `"44"`, `"+44"`); default `"1"`, as the helper in contactd's API docs.
 */
export function formatPhoneE164(raw: string, defaultCountry: string = "1"): string {
  if (typeof raw !== "string") {
    throw new PhoneNumberError(`${String(raw)} is not a phone number`, String(raw), defaultCountry);
  }
  const text = raw.trim();
  if (E164.test(text)) return text;
  const region = readDefaultCountry(defaultCountry);
  const number = read(text, region) ?? (text.startsWith("00") ? read(`+${text.slice(2)}`, region) : undefined);
  if (number === undefined) {
    throw new PhoneNumberError(
      `${JSON.stringify(raw)} is not a valid phone number (read with default country ${defaultCountry})`,
      raw,
      defaultCountry,
    );
  }
  return number.number;
}

type Region = { defaultCountry: CountryCode } | { defaultCallingCode: string };

function readDefaultCountry(defaultCountry: string): Region {
  const code = String(defaultCountry).trim();
  const upper = code.toUpperCase();
  if (/^[A-Z]{2}$/.test(upper) && isSupportedCountry(upper)) return { defaultCountry: upper };
  const digits = code.replace(/^\+/, "");
  if (/^[1-9][0-9]{0,2}$/.test(digits)) return { defaultCallingCode: digits };
  throw new PhoneNumberError(
    `unknown default country ${JSON.stringify(defaultCountry)}: expected an ISO 3166 region such as "GB" or a calling code such as "44"`,
    "",
    defaultCountry,
  );
}

/** The number `text` is as `region` writes it, when it is a valid one. */
function read(text: string, region: Region): PhoneNumber | undefined {
  try {
    const number = parsePhoneNumberWithError(text, region);
    return number.isValid() && E164.test(number.number) ? number : undefined;
  } catch {
    return undefined;
  }
}
