// Domain layer: a contract's phone provider accounts — saved with their credentials sealed under
// the server secret, listed with secrets masked, and turned into an adapter whose every HTTP call
// passes the outbound guard. Use cases take the acting principal and enforce tenancy (another
// contract's → 404; an issuer → 404). May import src/store/*, src/net, src/phone, errors and other
// domain modules; never src/http.
import { randomBytes } from 'node:crypto';
import type { Agent } from 'undici';
import { badRequest, notFound, unprocessable } from '../../errors.js';
import { outboundAgent, outboundPolicy, OutboundRefused, resolveOutbound } from '../../net/outbound.js';
import { createProvider, PROVIDER_METHODS, PROVIDER_NAMES, SECRET_SETTINGS, type ProviderSettings } from '../../phone/providers/index.js';
import { SMSC_API_URL } from '../../phone/providers/smsc.js';
import { SMSRU_API_URL } from '../../phone/providers/smsru.js';
import { TWILIO_API_URL } from '../../phone/providers/twilio.js';
import { DEFAULT_TIMEOUT_MS } from '../../phone/providers/http.js';
import type { PhoneProvider, ProviderName } from '../../phone/providers/types.js';
import type { Db, Queryable } from '../../store/db.js';
import * as store from '../../store/phoneProviders.js';
import { requireOperator, type Principal } from '../actor.js';
import { requireContract } from '../contracts.js';
import { phoneCrypto, PhoneCryptoError } from './crypto.js';
import { PHONE_PORTAL_METHODS } from './settings.js';

export interface ProviderDeps {
  db: Queryable;
  secret: Buffer;
  config: { outboundAllow: readonly string[] };
}

/** The credentials each provider takes in a PUT body (besides `apiUrl`), and their shapes. */
const CREDENTIALS: Record<ProviderName, Record<string, RegExp>> = {
  smsru: { apiId: /^[\x21-\x7e]{1,200}$/ },
  twilio: { accountSid: /^AC[0-9a-fA-F]{32}$/, authToken: /^[\x21-\x7e]{1,200}$/, serviceSid: /^VA[0-9a-fA-F]{32}$/ },
  smsc: { login: /^[\x21-\x7e]{1,100}$/, password: /^[\x20-\x7e]{1,200}$/ },
};

/** The provider's public endpoint, used when a save names no apiUrl. */
export const DEFAULT_API_URLS: Record<ProviderName, string> = { smsru: SMSRU_API_URL, twilio: TWILIO_API_URL, smsc: SMSC_API_URL };

export const isProviderName = (name: string): name is ProviderName => (PROVIDER_NAMES as readonly string[]).includes(name);

/** What the API shows of a saved provider: secrets masked (`••••` and their last 4 characters). */
export interface ProviderView {
  provider: ProviderName;
  apiUrl: string;
  /** The credentials, secrets masked. */
  credentials: Record<string, string>;
  /** Where the provider posts its callbacks (SMSC's also carries `?token=`, shown only in `callbackUrl` of a save). */
  callbackPath: string;
  updatedAt: string;
  /** Networks whose paid sends this provider's pumping breaker paused. */
  paused: Array<{ networkId: string; pausedAt: string; sent: number; entered: number }>;
}

const aad = (contractId: string, provider: string) => `phone-provider:${contractId}:${provider}`;
const mask = (value: string) => `••••${value.length >= 12 ? value.slice(-4) : ''}`;

function requireProvider(name: string): ProviderName {
  if (!isProviderName(name)) throw notFound('Phone provider');
  return name;
}

function openCredentials(deps: Pick<ProviderDeps, 'secret'>, row: store.PhoneProviderRow): Record<string, string> {
  try {
    return JSON.parse(phoneCrypto(deps.secret).open(row.credentials_sealed, aad(row.contract_id, row.provider))) as Record<string, string>;
  } catch (err) {
    // Sealed under another server secret (KALITKA_SECRET changed): as if not configured.
    if (err instanceof PhoneCryptoError) throw unprocessable('PHONE_PROVIDER_UNREADABLE', 'The saved credentials cannot be opened with this server secret; save them again');
    throw err;
  }
}

function view(deps: Pick<ProviderDeps, 'secret'>, row: store.PhoneProviderRow, pauses: store.PhonePauseRow[]): ProviderView {
  const provider = row.provider as ProviderName;
  let credentials: Record<string, string>;
  try {
    credentials = openCredentials(deps, row);
  } catch {
    credentials = {};
  }
  const secrets = SECRET_SETTINGS[provider];
  return {
    provider,
    apiUrl: row.api_url ?? DEFAULT_API_URLS[provider],
    credentials: Object.fromEntries(Object.entries(credentials).map(([k, v]) => [k, secrets.includes(k) ? mask(v) : v])),
    callbackPath: `/api/v1/phone/callbacks/${provider}/${row.contract_id}`,
    updatedAt: row.updated_at.toISOString(),
    paused: pauses
      .filter((p) => p.provider === provider)
      .map((p) => ({ networkId: p.network_id, pausedAt: p.paused_at.toISOString(), sent: p.sent, entered: p.entered })),
  };
}

/**
 * An apiUrl the server may call: http(s), and no loopback, link-local or private address unless
 * KALITKA_OUTBOUND_ALLOW opens it. Unlike a network's targets there is no approval by a system
 * administrator: whoever saves, a private address needs the server's allow list.
 */
async function checkApiUrl(deps: ProviderDeps, apiUrl: string): Promise<void> {
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    throw badRequest('INVALID_SETTINGS', 'apiUrl must be an http or https URL', { invalid: { apiUrl: 'must be an http or https URL' } });
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password || apiUrl.length > 2000) {
    throw badRequest('INVALID_SETTINGS', 'apiUrl must be an http or https URL without credentials', { invalid: { apiUrl: 'must be an http or https URL' } });
  }
  try {
    await resolveOutbound(url.hostname, outboundPolicy(deps.config.outboundAllow, false, 'provider'));
  } catch (err) {
    // A name that does not resolve yet is let through: every call is checked again when it connects.
    if (!(err instanceof OutboundRefused) || err.reason === 'unresolved') return;
    throw unprocessable('OUTBOUND_REFUSED', `apiUrl: ${err.message}`, { setting: 'apiUrl', address: err.address, reason: err.reason });
  }
}

/**
 * Saves (creates or replaces) a contract's account with a provider: `body` is `{apiUrl?, ...credentials}`
 * with every credential of that provider. Returns the masked view and, for SMSC, the callback URL with
 * its secret token (the one time it is shown whole; it is kept across saves).
 */
export async function saveProviderSettings(
  deps: ProviderDeps,
  actor: Principal,
  contractId: string,
  providerName: string,
  body: Record<string, unknown>,
  now: Date = new Date(),
): Promise<ProviderView & { callbackToken?: string }> {
  await requireContract(deps, actor, contractId);
  requireOperator(actor, 'Contract');
  const provider = requireProvider(providerName);
  const shapes = CREDENTIALS[provider];
  const unknown = Object.keys(body).filter((k) => k !== 'apiUrl' && !(k in shapes));
  const missing = Object.keys(shapes).filter((k) => body[k] === undefined || body[k] === null || body[k] === '');
  const invalid: Record<string, string> = {};
  for (const [k, shape] of Object.entries(shapes)) {
    if (missing.includes(k)) continue;
    if (typeof body[k] !== 'string' || !shape.test(body[k] as string)) invalid[k] = 'is malformed';
  }
  if (body.apiUrl !== undefined && body.apiUrl !== null && typeof body.apiUrl !== 'string') invalid.apiUrl = 'must be a URL';
  if (unknown.length || missing.length || Object.keys(invalid).length) {
    const parts = [unknown.length ? `unknown: ${unknown.join(', ')}` : '', missing.length ? `missing: ${missing.join(', ')}` : '', ...Object.entries(invalid).map(([n, p]) => `${n} ${p}`)];
    throw badRequest('INVALID_SETTINGS', `Settings for ${provider}: ${parts.filter(Boolean).join('; ')}`, { unknown, missing, invalid });
  }
  const apiUrl = typeof body.apiUrl === 'string' && body.apiUrl !== '' ? body.apiUrl : null;
  if (apiUrl) await checkApiUrl(deps, apiUrl);
  const credentials: Record<string, string> = Object.fromEntries(Object.keys(shapes).map((k) => [k, body[k] as string]));
  if (provider === 'smsc') {
    // SMSC's handler posts carry no signature: the handler URL carries a secret of ours, kept across saves.
    const before = await store.findPhoneProvider(deps.db, contractId, provider);
    let token: string | undefined;
    if (before) token = (() => { try { return openCredentials(deps, before).callbackToken; } catch { return undefined; } })();
    credentials.callbackToken = token ?? randomBytes(24).toString('base64url');
  }
  const row = await store.upsertPhoneProvider(deps.db, {
    contractId,
    provider,
    apiUrl,
    credentialsSealed: phoneCrypto(deps.secret).seal(JSON.stringify(credentials), aad(contractId, provider)),
    now,
  });
  const pauses = await store.listPhonePauses(deps.db, contractId);
  return { ...view(deps, row, pauses), ...(credentials.callbackToken ? { callbackToken: credentials.callbackToken } : {}) };
}

/** A contract's saved providers, secrets masked. */
export async function listProviderSettings(deps: ProviderDeps, actor: Principal, contractId: string): Promise<ProviderView[]> {
  await requireContract(deps, actor, contractId);
  requireOperator(actor, 'Contract');
  const [rows, pauses] = await Promise.all([store.listPhoneProviders(deps.db, contractId), store.listPhonePauses(deps.db, contractId)]);
  return rows.map((r) => view(deps, r, pauses));
}

// One agent per outbound policy: connections to a provider are reused across requests.
const agents = new Map<string, Agent>();
function agentFor(allow: readonly string[]): Agent {
  const policy = outboundPolicy(allow, false, 'provider');
  let agent = agents.get(policy.key);
  if (!agent) {
    agent = outboundAgent(policy, { timeoutMs: DEFAULT_TIMEOUT_MS });
    agents.set(policy.key, agent);
  }
  return agent;
}

/**
 * The adapter for a contract's account with a provider (no actor: the portal and the callback
 * route call it for the contract a network or URL names), or null when the contract has none.
 * Its HTTP goes through the outbound guard: public addresses, and what KALITKA_OUTBOUND_ALLOW opens.
 */
export async function providerFor(deps: ProviderDeps, contractId: string, name: string): Promise<PhoneProvider | null> {
  if (!isProviderName(name)) return null;
  const row = await store.findPhoneProvider(deps.db, contractId, name);
  if (!row) return null;
  const credentials = openCredentials(deps, row);
  const settings = { provider: name, ...credentials, ...(row.api_url ? { apiUrl: row.api_url } : {}) } as ProviderSettings;
  return createProvider(settings, { dispatcher: agentFor(deps.config.outboundAllow) });
}

/** The portal methods `provider` can do, in the portal's order. */
export const portalMethodsOf = (provider: ProviderName) => PHONE_PORTAL_METHODS.filter((m) => PROVIDER_METHODS[provider].includes(m));

/**
 * A network's phone settings as a save leaves them (after the settings schema): every method
 * offered must be one its provider can do (422 PHONE_METHOD_UNSUPPORTED, naming what it offers),
 * and the contract must have an account with that provider (422 PHONE_PROVIDER_UNSET): the
 * provider is set up first, then the network.
 */
export async function checkNetworkPhone(deps: { db: Queryable }, contractId: string, settings: Record<string, unknown>): Promise<void> {
  const methods = Array.isArray(settings.phoneMethods) ? (settings.phoneMethods as unknown[]) : [];
  const provider = settings.phoneProvider;
  if (methods.length === 0 || typeof provider !== 'string' || !isProviderName(provider)) return;
  const offered: readonly string[] = portalMethodsOf(provider);
  const cannot = methods.filter((m) => typeof m !== 'string' || !offered.includes(m));
  if (cannot.length) {
    throw unprocessable('PHONE_METHOD_UNSUPPORTED', `${provider} cannot do ${cannot.join(', ')}; it offers only ${offered.join(', ')}`, {
      provider,
      methods: cannot,
      offered,
    });
  }
  if (!(await store.findPhoneProvider(deps.db, contractId, provider))) {
    throw unprocessable(
      'PHONE_PROVIDER_UNSET',
      `This contract has no ${provider} account: save it first (PUT /api/v1/contracts/${contractId}/phone-providers/${provider}, or the panel's Phone identification page), then the network's phone settings`,
      { provider },
    );
  }
}

/** The pauses this resume lifts; the caller clears the cache's copies (src/domain/phone/breaker.ts). */
export async function liftPauses(deps: { db: Db | Queryable }, contractId: string, provider: ProviderName): Promise<string[]> {
  return store.deletePhonePauses(deps.db, contractId, provider);
}

export { requireProvider };
