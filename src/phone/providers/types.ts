import type { Dispatcher } from 'undici';
import { AppError } from '../../errors.js';

/*
 * One small interface per phone provider, as the controller adapters have theirs:
 *
 *   start(verification)        → a reference, and either a number for the guest to call
 *                                (call-check) or the fact that something was sent (flash call, SMS)
 *   check(reference, code?)    → confirmed | pending | wrong | failed, for what the provider checks
 *   parseCallback(request)     → the outcomes a signed callback reports; a bad signature throws
 *
 * Adapters never decide limits or keep state: the domain counts sends, keeps codes hashed in the
 * cache and turns outcomes into identifications. Every HTTP call goes to `apiUrl` (default: the
 * provider's public endpoint) through an injected undici dispatcher (the outbound guard).
 */

/** `callcheck`: the guest calls us; `flashcall`: we call, the guest types the caller's last 4 digits;
 * `sms`: a 6-digit code by SMS; `voice`: a code read out in a call (Twilio's `call` channel). */
export type PhoneMethod = 'callcheck' | 'flashcall' | 'sms' | 'voice';
export const PHONE_METHODS: readonly PhoneMethod[] = ['callcheck', 'flashcall', 'sms', 'voice'];
/** Flash calls, SMS and voice codes cost money per send; a call-check does not. */
export const isPaidMethod = (method: PhoneMethod) => method !== 'callcheck';

export type ProviderName = 'smsru' | 'twilio' | 'smsc';

export interface Verification {
  method: PhoneMethod;
  /** E.164, already normalised and allowed. */
  phone: string;
  /** For `sms` through a provider that sends our text (sms.ru, SMSC): the message, code included. */
  message?: string;
  /** The guest's address, for providers that rate-limit by it (sms.ru). */
  clientIp?: string;
  lang?: 'ru' | 'en';
}

export interface StartResult {
  /** The provider's id for this verification, prefixed by kind (`cc:…`, `fc:…`, `sms:…`, `VE…`). */
  reference: string;
  /** Who checks what the guest then does: Kalitka (a code it holds), or the provider (`check`). */
  checkedBy: 'kalitka' | 'provider';
  /** Call-check: the number the guest calls, E.164 (shown as a `tel:` link). */
  callNumber?: string;
  /** Flash call where the provider tells the digits: the 4 digits the guest will type. */
  expectedCode?: string;
  /** What the provider says the send cost, when it says (roubles for sms.ru). */
  cost?: number;
}

export type CheckOutcome = 'confirmed' | 'pending' | 'wrong' | 'failed';

/** A provider's callback as the route received it: the URL it called (as the provider saw it), headers, raw body. */
export interface CallbackRequest {
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface CallbackEvent {
  reference: string;
  outcome: CheckOutcome;
}

export interface PhoneProvider {
  readonly name: ProviderName;
  readonly methods: readonly PhoneMethod[];
  start(verification: Verification): Promise<StartResult>;
  /** Only for references whose start said `checkedBy: 'provider'`. */
  check(reference: string, code?: string): Promise<CheckOutcome>;
  /** Verifies the signature (throws `CALLBACK_SIGNATURE_INVALID`, 403) and returns the outcomes. */
  parseCallback(request: CallbackRequest): CallbackEvent[];
  /** What the callback route answers once it has taken the events (sms.ru wants the text `100`). */
  readonly callbackReply: { contentType: string; body: string };
}

/** How an adapter reaches its provider; the outbound guard will hand its dispatcher in here. */
export interface ProviderTransport {
  dispatcher?: Dispatcher;
  /** Per request; a provider that has not answered by then is "unavailable". Default 5000. */
  timeoutMs?: number;
}

export const callbackSignatureInvalid = (provider: ProviderName) =>
  new AppError(403, 'CALLBACK_SIGNATURE_INVALID', `The ${provider} callback is not signed with this contract's credentials`);

export const callbackMalformed = (provider: ProviderName, why: string) =>
  new AppError(400, 'CALLBACK_MALFORMED', `The ${provider} callback is malformed: ${why}`);

export const header = (headers: CallbackRequest['headers'], name: string): string | null => {
  const v = headers[name.toLowerCase()];
  return (Array.isArray(v) ? v[0] : v) ?? null;
};
