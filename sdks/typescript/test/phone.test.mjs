// formatPhoneE164: the seed's table of correct and incorrect numbers, national numbers with
// a default country (ISO region or calling code), and agreement with the server's own
// reading of national numbers (`default_country`), both being libphonenumber's rules.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { Client, InvalidInputError, PhoneNumberError, formatPhoneE164 } from "@contactd/client";
import { startServer } from "./server.mjs";

// The seed's "Phone Number Format" table: Correct | Incorrect.
const SEED_TABLE = [
  ["+1234567890", "1234567890"],
  ["+447911123456", "07911123456"],
  ["+491234567890", "01234567890"],
];

// [raw, default country, E.164]
const NATIONAL = [
  ["07911 123456", "GB", "+447911123456"],
  ["07911123456", "gb", "+447911123456"],
  ["07911123456", "44", "+447911123456"],
  ["07911123456", "+44", "+447911123456"],
  ["020 7946 0018", "GB", "+442079460018"],
  ["+44 (0)7911 123456", "GB", "+447911123456"],
  ["(415) 555-0123", "US", "+14155550123"],
  ["415-555-0123", "US", "+14155550123"],
  ["415.555.0123", "US", "+14155550123"],
  ["1 415 555 0123", "US", "+14155550123"],
  ["+1 (415) 555-0123", "US", "+14155550123"],
  [" 4155550123 ", "US", "+14155550123"],
  ["(415) 555-0123", "1", "+14155550123"],
  ["030 1234567", "DE", "+49301234567"],
  ["0151 23456789", "DE", "+4915123456789"],
  ["0151 23456789", "49", "+4915123456789"],
  ["06 12 34 56 78", "FR", "+33612345678"],
  ["0044 7911 123456", "DE", "+447911123456"],
  ["0044 7911 123456", "US", "+447911123456"],
  ["011 44 7911 123456", "US", "+447911123456"],
  ["+14155550123", "GB", "+14155550123"],
];

describe("formatPhoneE164 on the seed's table", () => {
  for (const [correct, incorrect] of SEED_TABLE) {
    test(`${correct} is correct: returned as it is, whatever the default country`, () => {
      assert.equal(formatPhoneE164(correct), correct);
      assert.equal(formatPhoneE164(correct, "GB"), correct);
      assert.equal(formatPhoneE164(` ${correct} `, "DE"), correct);
    });
    test(`${incorrect} is incorrect: never answered as it is`, () => {
      for (const country of [undefined, "1", "US", "GB", "44", "DE", "49"]) {
        let answer;
        try {
          answer = formatPhoneE164(incorrect, country);
        } catch (error) {
          assert.ok(error instanceof PhoneNumberError, String(error));
          continue;
        }
        assert.match(answer, /^\+[1-9][0-9]{1,14}$/);
        assert.notEqual(answer, incorrect);
      }
    });
  }

  test("07911123456 is the UK national form of +447911123456", () => {
    assert.equal(formatPhoneE164("07911123456", "GB"), "+447911123456");
    assert.equal(formatPhoneE164("07911123456", "44"), "+447911123456");
  });

  test("incorrect numbers that are no valid number of any country meant are refused, not guessed", () => {
    // The seed's own helper would answer +11234567890 and +4401234567890: numbers that do
    // not exist. libphonenumber knows no US area code 123 and no German range 0123.
    assert.throws(() => formatPhoneE164("1234567890", "1"), PhoneNumberError);
    assert.throws(() => formatPhoneE164("1234567890"), PhoneNumberError);
    assert.throws(() => formatPhoneE164("01234567890", "DE"), PhoneNumberError);
    // With the default country "1", a UK national number is no US number either.
    assert.throws(() => formatPhoneE164("07911123456"), PhoneNumberError);
  });
});

describe("formatPhoneE164 on national numbers", () => {
  for (const [raw, country, e164] of NATIONAL) {
    test(`${JSON.stringify(raw)} in ${country} is ${e164}`, () => {
      assert.equal(formatPhoneE164(raw, country), e164);
    });
  }

  test("invalid numbers throw PhoneNumberError naming the text and the country", () => {
    for (const [raw, country] of [
      ["12345", "GB"],
      ["+1 555 0123", "US"],
      ["not a phone", "GB"],
      ["", "GB"],
      ["+0123456789", "US"],
    ]) {
      assert.throws(
        () => formatPhoneE164(raw, country),
        (e) => e instanceof PhoneNumberError && e.raw === raw && e.defaultCountry === country,
        raw,
      );
    }
  });

  test("unknown default countries are refused", () => {
    for (const country of ["XX", "ZZ", "GBR", "", "U$", "0"]) {
      assert.throws(() => formatPhoneE164("07911 123456", country), PhoneNumberError, country);
    }
  });
});

describe("formatPhoneE164 agrees with the server's default_country", () => {
  let server;
  let client;
  before(async () => {
    server = await startServer();
    client = new Client({ apiKey: server.apiKey, baseUrl: server.url });
  });
  after(() => server?.stop());

  test("the server stores what the helper gives, for every ISO-region national number", async () => {
    const seen = new Set();
    for (const [raw, country, e164] of NATIONAL) {
      if (!/^[A-Z]{2}$/.test(country) || seen.has(e164)) continue;
      seen.add(e164);
      const contact = await client.contacts.create({ phone: raw, default_country: country });
      assert.equal(contact.phone, formatPhoneE164(raw, country), raw);
      assert.equal(contact.phone, e164);
    }
  });

  test("what the helper refuses, the server refuses too", async () => {
    for (const [raw, country] of [
      ["12345", "GB"],
      ["01234567890", "DE"],
      ["1234567890", "US"],
    ]) {
      assert.throws(() => formatPhoneE164(raw, country), PhoneNumberError);
      const error = await client.contacts.create({ phone: raw, default_country: country }).catch((e) => e);
      assert.ok(error instanceof InvalidInputError, `${raw}: ${error}`);
      assert.equal(error.field, "phone");
    }
  });
});
