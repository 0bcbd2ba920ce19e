import { request } from 'undici';
import { phoneRefusal } from '../../domain/phone/refusals.js';
import { outboundRefusalIn } from '../../net/outbound.js';
import type { ProviderName, ProviderTransport } from './types.js';

/*
 * The one way adapters talk HTTP: a form POST (every provider here takes one), a hard timeout, no
 * redirects followed, credentials only in the body or an Authorization header (never the URL, so
 * they stay out of access logs). A timeout, a refused connection or a 5xx is
 * PHONE_PROVIDER_UNAVAILABLE: the portal then offers another method or the voucher.
 */

export const DEFAULT_TIMEOUT_MS = 5000;
/** Provider answers are small; anything larger is not one. */
const MAX_BODY = 64 * 1024;

export interface ProviderResponse {
  status: number;
  text: string;
}

export function providerUrl(apiUrl: string, path: string): string {
  let base: URL;
  try {
    base = new URL(apiUrl);
  } catch {
    throw new Error(`apiUrl "${apiUrl}" is not a URL`);
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new Error(`apiUrl "${apiUrl}" is not http(s)`);
  return base.href.replace(/\/+$/, '') + path;
}

export async function postForm(
  provider: ProviderName,
  transport: ProviderTransport,
  url: string,
  form: Record<string, string | undefined>,
  headers: Record<string, string> = {},
): Promise<ProviderResponse> {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) if (v !== undefined) body.append(k, v);
  const timeoutMs = transport.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let status: number;
  let text: string;
  try {
    const res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', 'user-agent': 'Kalitka/1', ...headers },
      body: body.toString(),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
      ...(transport.dispatcher ? { dispatcher: transport.dispatcher } : {}),
    });
    status = res.statusCode;
    text = await readCapped(res.body);
  } catch (err) {
    throw unreachable(provider, err, timeoutMs);
  }
  if (status >= 500) {
    throw phoneRefusal('PHONE_PROVIDER_UNAVAILABLE', `${provider} answered ${status}`, { provider, status });
  }
  return { status, text };
}

const TIMEOUTS = new Set(['TimeoutError', 'AbortError', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/**
 * Failures before the request could reach the provider: no connection, or no TLS session over it.
 * After any other failure (no answer in time, a connection cut mid-answer, an answer too large or
 * not JSON) the provider may have taken the request and sent the SMS or call: `details.mayHaveSent`,
 * and the send keeps its count against the limits (src/domain/phone/identify.ts).
 */
const NOT_SENT = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT']);
const notSent = (code: string) => NOT_SENT.has(code) || /^ERR_TLS|CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|^ERR_SSL/.test(code);

/**
 * Why a request got no answer, told apart for the operator (`details.cause`, and `reason` in
 * words): the name did not resolve (`dns`), our outbound guard refused the address (`outbound`),
 * no answer in time (`timeout`), or the connection failed otherwise (`connection`: refused,
 * reset, TLS). The guest sees one "provider away" page whatever it was.
 */
function unreachable(provider: ProviderName, err: unknown, timeoutMs: number) {
  const refused = outboundRefusalIn(err);
  const fail = (cause: string, reason: string, mayHaveSent = false) =>
    phoneRefusal('PHONE_PROVIDER_UNAVAILABLE', `${provider} could not be reached: ${reason}`, { provider, cause, reason, mayHaveSent });
  if (refused?.reason === 'unresolved') return fail('dns', refused.message);
  if (refused) return fail('outbound', refused.message);
  const e = err as Error & { code?: string };
  const code = e.code ?? e.name;
  if (TIMEOUTS.has(code) || TIMEOUTS.has(e.name)) return fail('timeout', `no answer within ${timeoutMs / 1000} s (${code})`, !notSent(code));
  return fail('connection', `the connection failed (${code})`, !notSent(code));
}

async function readCapped(body: AsyncIterable<Buffer | Uint8Array> & { destroy?: () => void }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_BODY) {
      body.destroy?.();
      throw Object.assign(new Error('provider answer too large'), { code: 'ANSWER_TOO_LARGE' });
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Parses a JSON answer; a provider that answers something else is treated as away. */
export function json<T>(provider: ProviderName, res: ProviderResponse): T {
  try {
    return JSON.parse(res.text) as T;
  } catch {
    throw phoneRefusal('PHONE_PROVIDER_UNAVAILABLE', `${provider} answered something that is not JSON`, { provider, status: res.status, mayHaveSent: res.status < 400 });
  }
}

export const refused = (provider: ProviderName, reason: string, details: Record<string, unknown> = {}) =>
  phoneRefusal('PHONE_PROVIDER_REFUSED', `${provider} refused: ${reason}`, { provider, ...details });
