// For phonepanel: startPhone(svc, {network, mac, ip, phone, method, now, lang?, acceptedTerms?}) → PhoneStep {kind:'call', verificationId, callNumber, expiresAt} | {kind:'code', verificationId, method, digits, expiresAt}; confirmPhone(svc, {network, mac, ip, verificationId, code, now}) → PhoneGranted; pollPhone(svc, {network, mac, verificationId, now}) → {kind:'pending'} | PhoneGranted; phoneCallback(svc, {provider, contractId, request, now}) → {contentType, body}; PhoneGranted = {kind:'granted', activation:{token:null, identification, existing, ended}} (as enterCode's grant); refusals are thrown AppErrors (refusals.ts: 400/403/429/503). Methods to offer: phoneSettingsOf(network).methods (settings.ts); a refusal's page text: phone.refusal.<code> in portal-templates/locales/phone.*.json.
//
// Domain layer: a guest's device identified by its phone number (DESIGN §1 rule 16), the portal's
// use cases. A start checks the method, the number and every abuse limit in the cache (a refusal
// writes nothing to PostgreSQL), asks the contract's provider to call or text, and keeps the
// pending verification in the cache only (10 minutes). A confirmation — the typed code, the
// provider's answer to a poll, or its signed callback — starts the identification in one round
// trip (kalitka_identify_phone, rule 7 across methods), then the cache is written through exactly
// as for a token. May import src/store/*, src/cache, src/phone, errors and other domain modules.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../paths.js';
import { keys } from '../../cache/cache.js';
import { AppError, notFound } from '../../errors.js';
import type { Services } from '../../services.js';
import type { CallbackRequest, PhoneProvider, ProviderName } from '../../phone/providers/types.js';
import { isPaidMethod } from '../../phone/providers/types.js';
import { retryRaces } from '../../store/db.js';
import type { Identification } from '../../store/identifications.js';
import { identifyPhone } from '../../store/phoneIdentifications.js';
import { revive } from '../activation.js';
import { termsVersion } from '../branding.js';
import { forgetEnded } from '../identifications.js';
import { countAttempt, uncountAttempt, type Attempt } from '../limits.js';
import type { Network } from '../networks.js';
import { rememberSession } from '../sessions.js';
import { keepPauseIfTripped, networkPaused } from './breaker.js';
import { checkCode, CODE_TTL_SECONDS, countCodeTry, generateSmsCode, storeCode } from './codes.js';
import { numberContext, phoneCrypto } from './crypto.js';

export { numberContext };
import { countSend, recordCodeEntered, recordPaidSend, uncountSend } from './limits.js';
import { numberPrefix, parseAllowedPhone } from './number.js';
import { providerFor } from './providerSettings.js';
import { phoneRefusal } from './refusals.js';
import { phoneSettingsOf, PHONE_PORTAL_METHODS, type PortalPhoneMethod } from './settings.js';
import { reportPhone, type PhoneEvent, type StatsDeps } from './stats.js';

export type PhoneDeps = Pick<Services, 'db' | 'cache' | 'local' | 'log' | 'secret' | 'config'> & Pick<StatsDeps, 'metrics'>;

/** Sends and verifications' ends go to the metrics and today's figures (src/domain/phone/stats.ts). */
const report = (svc: PhoneDeps, p: { contractId: string; provider: string; method: string }, e: PhoneEvent, now: Date) =>
  reportPhone(svc, { ...e, contractId: p.contractId, provider: p.provider, method: p.method, now });

export type PhoneStep =
  | { kind: 'call'; verificationId: string; callNumber: string; expiresAt: string }
  | { kind: 'code'; verificationId: string; method: 'flashcall' | 'sms'; digits: number; expiresAt: string };

/** Shaped like the token path's `Activation` (src/domain/activation.ts), without a token. */
export interface PhoneActivation {
  token: null;
  identification: Identification;
  /** The device confirmed the same number again while its identification lives: nothing new was made. */
  existing: boolean;
  /** Identifications this one ended (elsewhere, replaced, expired): already de-authorised through the outbox. */
  ended: Identification[];
}

export type PhoneGranted = { kind: 'granted'; activation: PhoneActivation };
export type PhonePoll = { kind: 'pending' } | PhoneGranted;

/** A verification under way, in the cache only. */
interface Pending {
  networkId: string;
  contractId: string;
  mac: string;
  method: PortalPhoneMethod;
  provider: ProviderName;
  reference: string;
  checkedBy: 'kalitka' | 'provider';
  phoneSealed: string;
  phoneHash: string;
  paid: boolean;
  termsVersion: string | null;
  /** Set by a signed callback: the provider confirmed (call-check) or failed it. */
  outcome?: 'confirmed' | 'failed';
  exp: number;
}

const pendingKey = (id: string) => `phone:verification:${id}`;
const referenceKey = (contractId: string, provider: string, reference: string) => `phone:reference:${contractId}:${provider}:${reference}`;
const VERIFICATION_ID = /^[A-Za-z0-9_-]{22}$/;
/** Provider status queries one call-check may cause (a poll every 5 s for 10 minutes is 120). */
export const MAX_PROVIDER_POLLS = 120;

// The SMS text in the guest's language, from the portal's phone locale (the code is its only variable).
const smsTexts = Object.fromEntries(
  (['ru', 'en'] as const).map((lang) => {
    const file = path.join(packageRoot, 'portal-templates', 'locales', `phone.${lang}.json`);
    const texts = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    return [lang, texts['phone.sms.text'] ?? 'Code: {{code}}'];
  }),
) as Record<'ru' | 'en', string>;

const withCode = (lang: 'ru' | 'en', code: string) => smsTexts[lang].replace('{{code}}', code);

async function readPending(svc: Pick<Services, 'cache'>, id: string, now: Date): Promise<Pending | null> {
  if (typeof id !== 'string' || !VERIFICATION_ID.test(id)) return null;
  const raw = await svc.cache.get(pendingKey(id));
  if (!raw) return null;
  const p = JSON.parse(raw) as Pending;
  return p.exp > now.getTime() ? p : null;
}

/** What a reference two devices' verifications share points at: nothing a callback may confirm. */
const SHARED_REFERENCE = '-';

/**
 * Which verification a callback naming this reference confirms. Most providers give each start a
 * reference of its own; SMSC's call-check reports a call only by the caller's number, so while
 * another device waits for a call from the same number the call cannot tell the two apart, and it
 * confirms neither (else whoever named the number last would be let in on its owner's call). The
 * resend wait keeps two starts of one number a minute apart, so this read cannot race another.
 */
async function referenceHolder(svc: PhoneDeps, refKey: string, verificationId: string, mac: string, now: Date): Promise<string> {
  const held = await svc.cache.get(refKey);
  if (held === SHARED_REFERENCE) return SHARED_REFERENCE;
  const other = held ? await readPending(svc, held, now) : null;
  return other && other.mac !== mac ? SHARED_REFERENCE : verificationId;
}

/** Networks warned about lately (wall clock): a line a minute per network, however many guests try. */
const warned = new Map<string, number>();
const WARN_EVERY_MS = 60_000;
function warnedOf(networkId: string): boolean {
  const last = warned.get(networkId);
  if (last !== undefined && Date.now() - last < WARN_EVERY_MS) return true;
  if (warned.size >= 1_000) warned.clear();
  warned.set(networkId, Date.now());
  return false;
}

/**
 * The network's provider, or the "provider away" refusal (the guest is offered the voucher) with a
 * warning for the operator (at most one a minute per network): saves check that the account exists, but a network saved before that
 * check, or credentials sealed under another KALITKA_SECRET, still get here.
 */
async function requireProviderOf(svc: PhoneDeps, network: Network, name: ProviderName | null): Promise<PhoneProvider> {
  let provider: PhoneProvider | null = null;
  let why = 'is not set up';
  try {
    provider = name ? await providerFor(svc, network.contractId, name) : null;
  } catch (err) {
    if (!(err instanceof AppError && err.code === 'PHONE_PROVIDER_UNREADABLE')) throw err;
    why = 'cannot be opened with this KALITKA_SECRET';
  }
  if (!provider) {
    if (!warnedOf(network.id)) {
      svc.log.warn(
        { networkId: network.id, contractId: network.contractId, provider: name },
        `phone identification on network ${network.id}: its contract's ${name ?? 'phone provider'} account ${why}; guests are sent to the voucher`,
      );
    }
    throw phoneRefusal('PHONE_PROVIDER_UNAVAILABLE', 'This network has no phone provider set up', { voucher: true });
  }
  return provider;
}

/**
 * A guest asks to be identified by `phone` with `method` on a network. Refusals (thrown): 403
 * PHONE_METHOD_NOT_ALLOWED, TERMS_REQUIRED/TERMS_CHANGED (400); 400 PHONE_INVALID; 403
 * PHONE_COUNTRY_NOT_ALLOWED / PHONE_NOT_MOBILE (voucher: true); 429 each limit; 503 when the
 * provider is away or refuses (another method is offered).
 */
export async function startPhone(
  svc: PhoneDeps,
  input: { network: Network; mac: string; ip: string; phone: string; method: string; now: Date; lang?: 'ru' | 'en'; acceptedTerms?: string | null },
): Promise<PhoneStep> {
  const { network, mac, now } = input;
  const settings = phoneSettingsOf(network);
  const method = input.method as PortalPhoneMethod;
  if (!(PHONE_PORTAL_METHODS as readonly string[]).includes(method) || !settings.methods.includes(method)) {
    throw phoneRefusal('PHONE_METHOD_NOT_ALLOWED', 'This network does not offer this method', { methods: settings.methods });
  }
  const terms = termsVersion(network);
  if (terms && input.acceptedTerms !== terms) {
    throw new AppError(400, input.acceptedTerms ? 'TERMS_CHANGED' : 'TERMS_REQUIRED', 'The terms of use must be accepted first');
  }
  // Whatever a form sent: only text is a number (a list or an object is simply not one).
  const number = parseAllowedPhone(typeof input.phone === 'string' ? input.phone : '', settings.countries);
  const provider = await requireProviderOf(svc, network, settings.provider);
  if (!provider.methods.includes(method)) {
    throw phoneRefusal('PHONE_METHOD_NOT_ALLOWED', `${provider.name} cannot do ${method}`, { methods: settings.methods.filter((m) => provider.methods.includes(m)) });
  }
  // The verification lives only in the cache: while the cache is away it could not be kept, and a
  // code sent then could never be entered, so nothing is sent (the guest is offered the voucher).
  if (!(await svc.cache.ping().then(() => true, () => false))) {
    throw phoneRefusal('PHONE_PROVIDER_UNAVAILABLE', 'Verifications cannot be kept while the cache is unavailable', { voucher: true });
  }
  const box = phoneCrypto(svc.secret);
  const phoneHash = box.lookupHash(number.e164);
  const paid = isPaidMethod(method);
  if (paid && (await networkPaused(svc, network.id))) {
    throw phoneRefusal('PHONE_PAUSED', 'Codes by SMS and call are paused on this network', { voucher: true });
  }
  const ticket = await countSend(
    svc.cache,
    { networkId: network.id, contractId: network.contractId, mac, phoneHash, prefixHash: box.lookupHash(numberPrefix(number.e164)), paid },
    settings.limits,
  );
  const lang = input.lang ?? 'ru';
  // Providers that send our text (sms.ru, SMSC) get the code we made; Twilio makes and checks its own.
  const smsCode = method === 'sms' && provider.name !== 'twilio' ? generateSmsCode() : null;
  let started: Awaited<ReturnType<PhoneProvider['start']>>;
  try {
    started = await provider.start({ method, phone: number.e164, clientIp: input.ip, lang, message: smsCode ? withCode(lang, smsCode) : undefined });
  } catch (err) {
    if (!mayHaveSent(err)) await uncountSend(svc.cache, ticket);
    await report(svc, { contractId: network.contractId, provider: provider.name, method }, { kind: 'sent', ok: false }, now);
    if (err instanceof AppError) throw err;
    // An adapter's own error (an answer it could not use): the provider is as good as away.
    svc.log.warn({ err, provider: provider.name }, 'phone provider start failed');
    throw phoneRefusal('PHONE_PROVIDER_UNAVAILABLE', `${provider.name} could not start the verification`, { provider: provider.name });
  }
  await report(svc, { contractId: network.contractId, provider: provider.name, method }, { kind: 'sent', ok: true, cost: started.cost }, now);
  if (paid) {
    const state = await recordPaidSend(svc.cache, network.id, started.reference, settings.limits);
    await keepPauseIfTripped(svc, { networkId: network.id, contractId: network.contractId, provider: provider.name, state, wasPaused: false, now });
  }

  const verificationId = randomBytes(16).toString('base64url');
  const exp = now.getTime() + CODE_TTL_SECONDS * 1000;
  const code = smsCode ?? started.expectedCode ?? null;
  if (started.checkedBy === 'kalitka') {
    if (!code) throw phoneRefusal('PHONE_PROVIDER_REFUSED', `${provider.name} told no code`, { provider: provider.name });
    await storeCode(svc.cache, svc.secret, { verificationId, code, now });
  }
  const pending: Pending = {
    networkId: network.id,
    contractId: network.contractId,
    mac,
    method,
    provider: provider.name,
    reference: started.reference,
    checkedBy: started.checkedBy,
    phoneSealed: box.seal(number.e164, numberContext(network.contractId)),
    phoneHash,
    paid,
    termsVersion: terms,
    exp,
  };
  const refKey = referenceKey(network.contractId, provider.name, started.reference);
  await Promise.all([
    svc.cache.set(pendingKey(verificationId), JSON.stringify(pending), CODE_TTL_SECONDS),
    svc.cache.set(refKey, await referenceHolder(svc, refKey, verificationId, mac, now), CODE_TTL_SECONDS),
  ]);
  const expiresAt = new Date(exp).toISOString();
  if (method === 'callcheck') {
    if (!started.callNumber) throw phoneRefusal('PHONE_PROVIDER_REFUSED', `${provider.name} told no number to call`, { provider: provider.name });
    return { kind: 'call', verificationId, callNumber: started.callNumber, expiresAt };
  }
  return { kind: 'code', verificationId, method, digits: method === 'flashcall' ? 4 : (code?.length ?? 6), expiresAt };
}

/**
 * A provider that may have taken the request (no answer in time, a connection cut mid-answer, an
 * answer it could not read: `details.mayHaveSent`, src/phone/providers/http.ts) may have sent: such
 * a start keeps its count, or a slow or broken provider would make every send free of the limits.
 * One it refused, answered 5xx to, or could not be connected to is taken back.
 */
const mayHaveSent = (err: unknown) => err instanceof AppError && err.code === 'PHONE_PROVIDER_UNAVAILABLE' && err.details.mayHaveSent === true;

/** The verification, if it is this device's in this network (anything else looks expired). */
async function pendingFor(svc: PhoneDeps, input: { network: Network; mac: string; verificationId: string; now: Date }): Promise<Pending | null> {
  const p = await readPending(svc, input.verificationId, input.now);
  if (!p || p.networkId !== input.network.id || p.mac !== input.mac) return null;
  return p;
}

/** The number is confirmed: the identification starts (rule 7 across methods) and the cache is written through. */
async function identify(svc: PhoneDeps, network: Network, verificationId: string, p: Pending, now: Date): Promise<PhoneGranted> {
  const settings = phoneSettingsOf(network);
  const answer = await retryRaces(() =>
    identifyPhone(svc.db, {
      mac: p.mac,
      networkId: network.id,
      contractId: network.contractId,
      now,
      days: settings.days,
      phoneSealed: p.phoneSealed,
      phoneHash: p.phoneHash,
      phoneMethod: p.method,
      provider: p.provider,
      reference: p.reference,
      termsVersion: p.termsVersion,
    }),
  );
  const activation: PhoneActivation = {
    token: null,
    existing: answer.existing,
    identification: revive(answer.identification),
    ended: answer.ended.map((i) => revive(i)),
  };
  await Promise.all([
    forgetEnded(svc, activation.ended, p.mac),
    rememberSession(svc, activation.identification),
    svc.cache.del(pendingKey(verificationId), referenceKey(p.contractId, p.provider, p.reference)),
    p.paid ? recordCodeEntered(svc.cache, network.id, p.reference) : Promise.resolve(),
    report(svc, p, { kind: 'verified', confirmed: true }, now),
  ]);
  return { kind: 'granted', activation };
}

/**
 * The guest types the code of a flash call or an SMS. Refusals (403): PHONE_CODE_WRONG (with
 * `triesLeft`), PHONE_CODE_EXHAUSTED (the fifth wrong code ends it), PHONE_CODE_EXPIRED.
 */
export async function confirmPhone(
  svc: PhoneDeps,
  input: { network: Network; mac: string; ip: string; verificationId: string; code: string; now: Date },
): Promise<PhoneGranted> {
  // A wrong code is a refused try like a wrong token: it counts in the portal's per-address limit
  // (shared with the token form), so one address cannot guess codes for many numbers or devices.
  const ipTry = codeTryFrom(svc.config, input.ip);
  const limit = await countAttempt(svc, ipTry);
  if (limit.blocked) {
    throw phoneRefusal('PHONE_LIMIT_IP', 'Too many wrong codes from this address', {
      retryAfter: limit.retryAfter,
      minutes: Math.ceil(limit.retryAfter / 60),
      seconds: limit.retryAfter,
    });
  }
  try {
    const granted = await confirmCode(svc, input);
    await uncountAttempt(svc, ipTry);
    return granted;
  } catch (err) {
    if (!(err instanceof AppError && WRONG_CODE.has(err.code))) await uncountAttempt(svc, ipTry);
    throw err;
  }
}

const WRONG_CODE = new Set(['PHONE_CODE_WRONG', 'PHONE_CODE_EXHAUSTED']);

const codeTryFrom = (config: PhoneDeps['config'], ip: string): Attempt => ({
  counters: [{ key: keys.failIp(ip), max: config.maxFailsPerIp }],
  windowS: config.failWindowS,
});

async function confirmCode(
  svc: PhoneDeps,
  input: { network: Network; mac: string; ip: string; verificationId: string; code: string; now: Date },
): Promise<PhoneGranted> {
  const p = await pendingFor(svc, input);
  if (!p || p.method === 'callcheck') throw phoneRefusal('PHONE_CODE_EXPIRED', 'This code has expired; ask for a new one');
  const typedRaw = typeof input.code === 'string' ? input.code.slice(0, 40) : '';
  if (p.checkedBy === 'kalitka') {
    await checkCode(svc.cache, svc.secret, { verificationId: input.verificationId, typed: typedRaw, now: input.now }).catch(async (err: unknown) => {
      if (err instanceof AppError && err.code === 'PHONE_CODE_EXHAUSTED') await report(svc, p, { kind: 'verified', confirmed: false }, input.now);
      throw err;
    });
  } else {
    // The provider holds the code (Twilio): our count of tries still ends it after 5 wrong ones.
    const typed = typedRaw.replace(/[\s-]/g, '');
    const triesLeft = await countCodeTry(svc.cache, input.verificationId);
    const outcome = /^\d{4,8}$/.test(typed) ? await (await requireProviderOf(svc, input.network, p.provider)).check(p.reference, typed) : 'wrong';
    if (outcome === 'failed') {
      await svc.cache.del(pendingKey(input.verificationId));
      await report(svc, p, { kind: 'verified', confirmed: false }, input.now);
      throw phoneRefusal('PHONE_CODE_EXPIRED', 'This code has expired; ask for a new one');
    }
    if (outcome !== 'confirmed') {
      if (triesLeft === 0) {
        await svc.cache.del(pendingKey(input.verificationId));
        await report(svc, p, { kind: 'verified', confirmed: false }, input.now);
        throw phoneRefusal('PHONE_CODE_EXHAUSTED', 'Five wrong codes: ask for a new one');
      }
      throw phoneRefusal('PHONE_CODE_WRONG', 'This is not the code we sent', { triesLeft });
    }
  }
  return identify(svc, input.network, input.verificationId, p, input.now);
}

/**
 * The call-check page polls: pending until the provider saw the guest's call (its signed callback,
 * or its status answer), then the grant. A call not received in time: 403 PHONE_CALL_NOT_RECEIVED.
 */
export async function pollPhone(
  svc: PhoneDeps,
  input: { network: Network; mac: string; verificationId: string; now: Date },
): Promise<PhonePoll> {
  const p = await pendingFor(svc, input);
  if (!p || p.method !== 'callcheck') throw phoneRefusal('PHONE_CALL_NOT_RECEIVED', 'No call was received in time');
  let outcome = p.outcome ?? null;
  if (!outcome) {
    // Each poll that asks the provider is an outbound call: a page refreshing every few seconds
    // needs far fewer than this over the verification's 10 minutes; a script polling faster gets "pending".
    const { ok } = await svc.cache.hitUnder([{ key: `phone:polls:${input.verificationId}`, limit: MAX_PROVIDER_POLLS, windowSeconds: CODE_TTL_SECONDS }]);
    if (!ok) return { kind: 'pending' };
    const checked = await (await requireProviderOf(svc, input.network, p.provider)).check(p.reference);
    outcome = checked === 'confirmed' ? 'confirmed' : checked === 'failed' ? 'failed' : null;
  }
  if (outcome === 'failed') {
    await svc.cache.del(pendingKey(input.verificationId));
    await report(svc, p, { kind: 'verified', confirmed: false }, input.now);
    throw phoneRefusal('PHONE_CALL_NOT_RECEIVED', 'No call was received in time');
  }
  if (outcome !== 'confirmed') return { kind: 'pending' };
  return identify(svc, input.network, input.verificationId, p, input.now);
}

/**
 * `POST /api/v1/phone/callbacks/:provider/:contractId`: a provider reports outcomes. The adapter
 * checks the signature with the contract's credentials (403 CALLBACK_SIGNATURE_INVALID, nothing
 * changed); a confirmed call-check is marked on its verification, which the guest's next poll
 * turns into the identification. Returns what the provider wants answered.
 */
export async function phoneCallback(
  svc: PhoneDeps,
  input: { provider: string; contractId: string; request: CallbackRequest; now: Date },
): Promise<{ contentType: string; body: string }> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(input.contractId)) throw notFound('Phone provider');
  const provider = await providerFor(svc, input.contractId, input.provider);
  if (!provider) throw notFound('Phone provider');
  const events = provider.parseCallback(input.request);
  for (const e of events) {
    if (e.outcome !== 'confirmed' && e.outcome !== 'failed') continue;
    const id = await svc.cache.get(referenceKey(input.contractId, provider.name, e.reference));
    const p = id ? await readPending(svc, id, input.now) : null;
    if (!id || !p || p.contractId !== input.contractId || p.outcome === 'confirmed') continue;
    const ttl = Math.max(1, Math.ceil((p.exp - input.now.getTime()) / 1000));
    await svc.cache.set(pendingKey(id), JSON.stringify({ ...p, outcome: e.outcome }), ttl);
  }
  return provider.callbackReply;
}
