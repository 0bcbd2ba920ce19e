import { AppError } from '../../errors.js';

/*
 * Every refusal of phone identification, with the HTTP status the portal answers it with (DESIGN §4:
 * 400 a bad number, 403 not allowed or a wrong code, 429 a limit, 503 the provider is away). Each
 * code has a guest-facing sentence in portal-templates/locales/phone.{ru,en}.json under
 * `phone.refusal.<CODE>`; `details` carry the values those sentences interpolate (minutes, seconds).
 */
export const PHONE_REFUSALS = {
  /** Not a phone number at all (or one libphonenumber-js calls invalid). */
  PHONE_INVALID: 400,
  /** A valid number from a country this network does not accept: the voucher path is offered. */
  PHONE_COUNTRY_NOT_ALLOWED: 403,
  /** Not a mobile number (a landline cannot take a call-check or an SMS; a premium-rate one is pumping). */
  PHONE_NOT_MOBILE: 403,
  /** The network does not offer this method. */
  PHONE_METHOD_NOT_ALLOWED: 403,
  /** 3 starts per number in 10 minutes, or 5 a day. */
  PHONE_LIMIT_NUMBER: 429,
  /** 5 starts per device a day. */
  PHONE_LIMIT_DEVICE: 429,
  /** 3 starts an hour to numbers sharing all but their last 4 digits. */
  PHONE_LIMIT_PREFIX: 429,
  /** The network's paid sends for this hour are spent. */
  PHONE_BUDGET_NETWORK: 429,
  /** The contract's paid sends for today are spent. */
  PHONE_BUDGET_CONTRACT: 429,
  /** A new code to the same number within 60 seconds of the last one. */
  PHONE_RESEND_WAIT: 429,
  /** Paid sends are paused on this network (the pumping breaker) until an operator resumes them. */
  PHONE_PAUSED: 429,
  /** Too many refused tries (wrong codes, wrong tokens) from one client address (PORTAL_MAX_FAILS_PER_IP). */
  PHONE_LIMIT_IP: 429,
  /** The code typed is not the one sent. */
  PHONE_CODE_WRONG: 403,
  /** Five wrong codes: this code is ended, a new one must be asked for. */
  PHONE_CODE_EXHAUSTED: 403,
  /** The code is older than its 10 minutes, was used already, or never existed. */
  PHONE_CODE_EXPIRED: 403,
  /** The provider says the guest has not called (call-check) before its window closed. */
  PHONE_CALL_NOT_RECEIVED: 403,
  /** The provider timed out, answered 5xx, or could not be reached: another method is offered. */
  PHONE_PROVIDER_UNAVAILABLE: 503,
  /** The provider refused the request (bad credentials, no balance, a number it will not serve). */
  PHONE_PROVIDER_REFUSED: 503,
} as const;

export type PhoneRefusalCode = keyof typeof PHONE_REFUSALS;

export function phoneRefusal(code: PhoneRefusalCode, message: string, details: Record<string, unknown> = {}): AppError {
  return new AppError(PHONE_REFUSALS[code], code, message, details);
}

export const isPhoneRefusal = (err: unknown): err is AppError =>
  err instanceof AppError && Object.hasOwn(PHONE_REFUSALS, err.code);
