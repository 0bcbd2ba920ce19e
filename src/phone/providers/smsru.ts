import { createHash, timingSafeEqual } from 'node:crypto';
import { digitsOf } from '../../domain/phone/number.js';
import { json, postForm, providerUrl, refused } from './http.js';
import {
  callbackMalformed,
  callbackSignatureInvalid,
  type CallbackEvent,
  type CheckOutcome,
  type PhoneMethod,
  type PhoneProvider,
  type ProviderTransport,
  type StartResult,
} from './types.js';

/*
 * sms.ru (https://sms.ru/api), authenticated by `api_id`, answers JSON with `json=1`:
 *
 *   call-check  POST /callcheck/add    phone            → {status:"OK", status_code:100, check_id,
 *                                                          call_phone, call_phone_pretty, call_phone_html}
 *               POST /callcheck/status check_id         → {status:"OK", check_status:"400"|"401"|"402",
 *                                                          check_status_text}  400 waiting, 401 confirmed,
 *                                                          402 expired (5 minutes) or unknown check_id
 *   flash call  POST /code/call        phone, ip        → {status:"OK", code:"1435", call_id, cost, balance}
 *                                                          (code = the caller number's last 4 digits)
 *   SMS         POST /sms/send         to, msg, ip      → {status:"OK", sms:{"7912…":{status:"OK",
 *                                                          status_code:100, sms_id}}, balance}
 *   errors      {status:"ERROR", status_code:N, status_text}
 *
 *   callback    POST to our handler, form fields data[0..n] (each "callcheck_status\n<check_id>\n
 *               <status>\n<unix time>" or "sms_status\n…") and hash = hex SHA-256 of
 *               api_id followed by every data entry in order; the handler must answer "100".
 */

export const SMSRU_API_URL = 'https://sms.ru';
/** What this adapter can do. */
export const SMSRU_METHODS: readonly PhoneMethod[] = ['callcheck', 'flashcall', 'sms'];

export interface SmsRuSettings {
  apiId: string;
  apiUrl?: string;
}

interface Answer {
  status?: string;
  status_code?: number;
  status_text?: string;
}

const CHECK_STATUS: Record<string, CheckOutcome> = { '400': 'pending', '401': 'confirmed', '402': 'failed' };

export function smsRuProvider(settings: SmsRuSettings, transport: ProviderTransport = {}): PhoneProvider {
  if (!settings.apiId) throw new Error('sms.ru needs an apiId');
  const apiUrl = settings.apiUrl ?? SMSRU_API_URL;
  const call = async <T extends Answer>(path: string, form: Record<string, string | undefined>): Promise<T> => {
    const res = await postForm('smsru', transport, providerUrl(apiUrl, path), { api_id: settings.apiId, json: '1', ...form });
    const answer = json<T>('smsru', res);
    if (res.status >= 400 || answer.status !== 'OK') {
      throw refused('smsru', answer.status_text ?? `status ${res.status}`, { providerCode: answer.status_code ?? null });
    }
    return answer;
  };

  return {
    name: 'smsru',
    methods: SMSRU_METHODS,
    callbackReply: { contentType: 'text/plain', body: '100' },

    async start(v): Promise<StartResult> {
      const phone = digitsOf(v.phone);
      if (v.method === 'callcheck') {
        const a = await call<Answer & { check_id?: string; call_phone?: string }>('/callcheck/add', { phone });
        if (!a.check_id || !a.call_phone) throw refused('smsru', 'no check_id or call_phone in the answer');
        return { reference: `cc:${a.check_id}`, checkedBy: 'provider', callNumber: `+${digitsOf(String(a.call_phone))}` };
      }
      if (v.method === 'flashcall') {
        const a = await call<Answer & { code?: string; call_id?: string; cost?: number }>('/code/call', { phone, ip: v.clientIp });
        if (!a.call_id || !/^\d{4}$/.test(String(a.code ?? ''))) throw refused('smsru', 'no call_id or 4-digit code in the answer');
        return { reference: `fc:${a.call_id}`, checkedBy: 'kalitka', expectedCode: String(a.code), cost: numberOr(a.cost) };
      }
      if (v.method === 'sms') {
        if (!v.message) throw new Error('sms.ru sends our text: the verification needs a message');
        const a = await call<Answer & { sms?: Record<string, Answer & { sms_id?: string; cost?: number }> }>('/sms/send', {
          to: phone,
          msg: v.message,
          ip: v.clientIp,
        });
        const one = a.sms?.[phone];
        if (!one || one.status !== 'OK' || !one.sms_id) {
          throw refused('smsru', one?.status_text ?? 'the SMS was not accepted', { providerCode: one?.status_code ?? null });
        }
        return { reference: `sms:${one.sms_id}`, checkedBy: 'kalitka', cost: numberOr(one.cost) };
      }
      throw new Error(`sms.ru has no ${v.method} method`);
    },

    async check(reference) {
      if (!reference.startsWith('cc:')) throw new Error(`sms.ru checks only call-checks, not ${reference}`);
      const a = await call<Answer & { check_status?: string | number }>('/callcheck/status', { check_id: reference.slice(3) });
      return CHECK_STATUS[String(a.check_status)] ?? 'pending';
    },

    parseCallback(req) {
      const form = new URLSearchParams(req.body);
      const hash = form.get('hash');
      // data[] entries keep the order they were sent in; that order is what the hash covers.
      const data = [...form.entries()].filter(([k]) => /^data\[\d*\]$/.test(k)).map(([, v]) => v);
      if (!hash || !/^[0-9a-fA-F]{64}$/.test(hash)) throw callbackSignatureInvalid('smsru');
      const expected = createHash('sha256').update(settings.apiId + data.join(''), 'utf8').digest();
      if (!timingSafeEqual(expected, Buffer.from(hash, 'hex'))) throw callbackSignatureInvalid('smsru');
      const events: CallbackEvent[] = [];
      for (const entry of data) {
        const lines = entry.replace(/\r\n/g, '\n').split('\n');
        if (lines[0] !== 'callcheck_status') continue; // sms_status and others: delivery reports, not identifications
        const [, checkId, status] = lines;
        if (!checkId || !status) throw callbackMalformed('smsru', 'a callcheck_status entry lacks its check_id or status');
        const outcome = CHECK_STATUS[status];
        if (outcome) events.push({ reference: `cc:${checkId}`, outcome });
      }
      return events;
    },
  };
}

const numberOr = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
