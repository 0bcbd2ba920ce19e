import { isSupportedCountry, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { phoneRefusal } from './refusals.js';

/*
 * Phone numbers as the portal takes them: whatever the guest typed (8 912 345-67-89, +7 (912) …,
 * 9123456789) becomes E.164 with Russia as the default country, through libphonenumber-js's full
 * metadata (the "max" build: only it knows a mobile range from a fixed-line one).
 *
 * Russian rules for public Wi-Fi (decrees 758 and 801 of 2014) accept a Russian mobile number as an
 * identification; a foreign one does not count, so by default a network allows ["RU"] and only
 * mobile numbers there. A refusal points the guest to the voucher path.
 */

export interface PhoneNumber {
  /** `+79123456789` */
  e164: string;
  /** ISO 3166-1 alpha-2 of the number's region, e.g. `RU`, `KZ` (+7 is shared). */
  country: string;
  /** `MOBILE`, `FIXED_LINE`, `FIXED_LINE_OR_MOBILE`, … or null when the metadata cannot tell. */
  type: string | null;
}

export const DEFAULT_COUNTRY = 'RU';
export const DEFAULT_ALLOWED_COUNTRIES: readonly string[] = ['RU'];
/** Longer input is no phone number; refused before parsing. */
const MAX_INPUT = 40;
const TYPED = /^[+]?[\d\s().\-]+$/;

/** Parses what a guest typed; a refusal `PHONE_INVALID` (400) when it is no valid number. */
export function normalizePhone(input: string, defaultCountry: string = DEFAULT_COUNTRY): PhoneNumber {
  const typed = input.trim();
  if (typed.length === 0 || typed.length > MAX_INPUT || !TYPED.test(typed)) {
    throw phoneRefusal('PHONE_INVALID', 'This is not a phone number');
  }
  const parsed = parsePhoneNumberFromString(typed, defaultCountry as CountryCode);
  if (!parsed || !parsed.isValid() || !parsed.country) {
    throw phoneRefusal('PHONE_INVALID', 'This is not a valid phone number');
  }
  return { e164: parsed.number, country: parsed.country, type: parsed.getType() ?? null };
}

/** True for an ISO country code libphonenumber-js knows (network settings are checked with it). */
export const isKnownCountry = (code: string) => /^[A-Z]{2}$/.test(code) && isSupportedCountry(code);

/**
 * Number types a guest's phone may have. A Russian number must be a mobile one; elsewhere also one
 * the numbering plan cannot tell from a landline (US, Canada). Never a premium-rate, shared-cost,
 * toll-free, VoIP or landline number: an SMS or flash call to a premium-rate number is the revenue
 * of call and SMS pumping, and a landline takes neither an SMS nor a call-check.
 */
const PERSONAL_TYPES: readonly string[] = ['MOBILE', 'FIXED_LINE_OR_MOBILE'];

/**
 * A number this network accepts: its country is in `allowedCountries`, and it is a mobile one (see
 * PERSONAL_TYPES). Refusals: `PHONE_COUNTRY_NOT_ALLOWED` (with `voucher: true`, the page offers the
 * token form) and `PHONE_NOT_MOBILE`.
 */
export function requireAllowed(number: PhoneNumber, allowedCountries: readonly string[] = DEFAULT_ALLOWED_COUNTRIES): PhoneNumber {
  if (!allowedCountries.includes(number.country)) {
    throw phoneRefusal('PHONE_COUNTRY_NOT_ALLOWED', `Numbers from ${number.country} are not accepted on this network`, {
      country: number.country,
      voucher: true,
    });
  }
  // Only a mobile number identifies a person under the Russian rules.
  const personal = number.country === 'RU' ? number.type === 'MOBILE' : number.type !== null && PERSONAL_TYPES.includes(number.type);
  if (!personal) {
    throw phoneRefusal('PHONE_NOT_MOBILE', 'Only a mobile number can be used', { voucher: true });
  }
  return number;
}

/** Normalises and checks in one step, as the portal's phone form does. */
export function parseAllowedPhone(input: string, allowedCountries: readonly string[] = DEFAULT_ALLOWED_COUNTRIES): PhoneNumber {
  return requireAllowed(normalizePhone(input), allowedCountries);
}

/** The number's prefix for the per-prefix limit: E.164 without its last 4 digits (`+7912345`). */
export function numberPrefix(e164: string): string {
  if (!/^\+\d{8,15}$/.test(e164)) throw new Error('numberPrefix expects an E.164 number');
  return e164.slice(0, -4);
}

/** Digits only (`79123456789`), the form most Russian providers' APIs take. */
export const digitsOf = (e164: string) => e164.replace(/^\+/, '');
