import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { json, postForm, providerUrl, refused } from './http.js';
import {
  callbackMalformed,
  callbackSignatureInvalid,
  header,
  type CallbackEvent,
  type CheckOutcome,
  type PhoneMethod,
  type PhoneProvider,
  type ProviderTransport,
} from './types.js';

/*
 * Twilio Verify v2 (https://www.twilio.com/docs/verify/api), HTTP Basic auth AccountSid:AuthToken:
 *
 *   POST /v2/Services/{ServiceSid}/Verifications       To, Channel=sms|call, Locale
 *        → 201 {sid:"VE…", status:"pending", to, channel, valid:false, …}
 *   POST /v2/Services/{ServiceSid}/VerificationCheck   VerificationSid, Code
 *        → 200 {sid, status:"approved"|"pending"|"canceled"|…, valid}
 *          a wrong code is 200 with status "pending"; an expired or used verification is 404
 *   errors {code, message, more_info, status}, e.g. 60200 invalid parameter, 60203 too many sends,
 *          20003 authentication, 20404 not found
 *
 *   callbacks carry X-Twilio-Signature = base64 HMAC-SHA1(AuthToken, url + every POST parameter
 *   sorted by name as name+value). A JSON body (Verify Events through an Event Streams webhook sink:
 *   an array of CloudEvents) is signed over the URL alone, and that URL carries
 *   bodySHA256 = hex SHA-256 of the raw body.
 */

export const TWILIO_API_URL = 'https://verify.twilio.com';
/** What this adapter can do (Twilio Verify's `call` channel is `voice`, which the portal does not offer). */
export const TWILIO_METHODS: readonly PhoneMethod[] = ['sms', 'voice'];

export interface TwilioSettings {
  accountSid: string;
  authToken: string;
  serviceSid: string;
  apiUrl?: string;
}

interface TwilioAnswer {
  sid?: string;
  status?: string | number;
  valid?: boolean;
  code?: number;
  message?: string;
}

/** The signature Twilio puts on a request to `url` with these form parameters (none for JSON bodies). */
export function twilioSignature(authToken: string, url: string, params: Iterable<[string, string]> = []): string {
  const sorted = [...params].sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  const hmac = createHmac('sha1', authToken).update(url, 'utf8');
  for (const [k, v] of sorted) hmac.update(k + v, 'utf8');
  return hmac.digest('base64');
}

const EVENT_OUTCOME: Record<string, CheckOutcome> = {
  approved: 'confirmed',
  pending: 'pending',
  canceled: 'failed',
  expired: 'failed',
  max_attempts_reached: 'failed',
  failed: 'failed',
};

export function twilioProvider(settings: TwilioSettings, transport: ProviderTransport = {}): PhoneProvider {
  for (const [k, pattern] of [['accountSid', /^AC[0-9a-fA-F]{32}$/], ['serviceSid', /^VA[0-9a-fA-F]{32}$/]] as const) {
    if (!pattern.test(settings[k])) throw new Error(`Twilio ${k} is malformed`);
  }
  if (!settings.authToken) throw new Error('Twilio needs an authToken');
  const apiUrl = settings.apiUrl ?? TWILIO_API_URL;
  const auth = `Basic ${Buffer.from(`${settings.accountSid}:${settings.authToken}`).toString('base64')}`;
  const service = `/v2/Services/${settings.serviceSid}`;
  const post = async (path: string, form: Record<string, string | undefined>) => {
    const res = await postForm('twilio', transport, providerUrl(apiUrl, service + path), form, { authorization: auth });
    return { status: res.status, answer: json<TwilioAnswer>('twilio', res) };
  };

  return {
    name: 'twilio',
    methods: TWILIO_METHODS,
    callbackReply: { contentType: 'text/plain', body: '' },

    async start(v) {
      if (v.method !== 'sms' && v.method !== 'voice') throw new Error(`Twilio Verify has no ${v.method} method here`);
      const { status, answer } = await post('/Verifications', {
        To: v.phone,
        Channel: v.method === 'sms' ? 'sms' : 'call',
        Locale: v.lang,
      });
      if (status !== 201 || !answer.sid) {
        throw refused('twilio', answer.message ?? `status ${status}`, { providerCode: answer.code ?? null, status });
      }
      return { reference: answer.sid, checkedBy: 'provider' };
    },

    async check(reference, code) {
      if (!/^VE[0-9a-fA-F]{32}$/.test(reference)) throw new Error(`not a Twilio verification sid: ${reference}`);
      if (!code) throw new Error('a Twilio check needs the code the guest typed');
      const { status, answer } = await post('/VerificationCheck', { VerificationSid: reference, Code: code });
      if (status === 404) return 'failed'; // expired, approved already, or too many checks
      if (status !== 200) throw refused('twilio', answer.message ?? `status ${status}`, { providerCode: answer.code ?? null, status });
      if (answer.status === 'approved' && answer.valid === true) return 'confirmed';
      if (answer.status === 'pending') return 'wrong';
      return 'failed';
    },

    parseCallback(req) {
      const signature = header(req.headers, 'x-twilio-signature');
      if (!signature) throw callbackSignatureInvalid('twilio');
      const contentType = header(req.headers, 'content-type') ?? '';
      const isJson = /^application\/json\b/i.test(contentType);
      let expected: string;
      if (isJson) {
        let bodyHash: string | null = null;
        try {
          bodyHash = new URL(req.url).searchParams.get('bodySHA256');
        } catch {
          throw callbackMalformed('twilio', 'the URL is not absolute');
        }
        const actual = createHash('sha256').update(req.body, 'utf8').digest('hex');
        if (!bodyHash || !safeEqual(bodyHash.toLowerCase(), actual)) throw callbackSignatureInvalid('twilio');
        expected = twilioSignature(settings.authToken, req.url);
      } else {
        expected = twilioSignature(settings.authToken, req.url, new URLSearchParams(req.body).entries());
      }
      if (!safeEqual(signature, expected)) throw callbackSignatureInvalid('twilio');
      return isJson ? eventsFromJson(req.body) : eventsFromForm(new URLSearchParams(req.body));
    },
  };
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Verify Events: `com.twilio.accountsecurity.verify.verification.<state>` with the verification's sid in data. */
function eventsFromJson(body: string): CallbackEvent[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw callbackMalformed('twilio', 'the body is not JSON');
  }
  const list = Array.isArray(parsed) ? parsed : [parsed];
  const events: CallbackEvent[] = [];
  for (const e of list as Array<{ type?: unknown; data?: Record<string, unknown> }>) {
    const m = typeof e?.type === 'string' ? /\.verify\.verification\.([a-z_]+)$/.exec(e.type) : null;
    if (!m) continue;
    const sid = e.data?.verification_sid ?? e.data?.sid;
    const outcome = EVENT_OUTCOME[m[1]];
    if (typeof sid === 'string' && /^VE[0-9a-fA-F]{32}$/.test(sid) && outcome) events.push({ reference: sid, outcome });
  }
  return events;
}

/** A form-encoded status callback: VerificationSid and Status. */
function eventsFromForm(form: URLSearchParams): CallbackEvent[] {
  const sid = form.get('VerificationSid') ?? form.get('Sid');
  const outcome = EVENT_OUTCOME[String(form.get('Status') ?? form.get('VerificationStatus') ?? '').toLowerCase()];
  return sid && /^VE[0-9a-fA-F]{32}$/.test(sid) && outcome ? [{ reference: sid, outcome }] : [];
}
