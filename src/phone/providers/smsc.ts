import { timingSafeEqual } from 'node:crypto';
import { digitsOf } from '../../domain/phone/number.js';
import { json, postForm, providerUrl, refused } from './http.js';
import { callbackMalformed, callbackSignatureInvalid, type PhoneMethod, type PhoneProvider, type ProviderTransport } from './types.js';

/*
 * SMSC (https://smsc.ru/api/http/), the Russian alternative: login + psw in every request,
 * fmt=3 for JSON answers, charset=utf-8 for Cyrillic text.
 *
 *   SMS         POST /sys/send.php       phones, mes                → {id, cnt}
 *   flash call  POST /sys/send.php       phones, mes=code, call=1  → {id, cnt, code:"…1435"}
 *               (the caller number ends with the code; the guest types its last 4 digits)
 *   call-check  POST /sys/wait_call.php  phone                     → {phone:"7…", all_phones:[…]}
 *               the guest calls `phone`; SMSC reports the call to the handler set in the account
 *   errors      {error:"description", error_code:N}  1 parameters, 2 login/password, 3 no money,
 *               4 IP blocked, 5 date format, 6 message forbidden, 7 number format, 8 cannot deliver,
 *               9 too many equal requests
 *
 * SMSC's handler posts carry no signature whose scheme we could confirm, so the handler URL the
 * operator enters in the SMSC account carries a secret of ours (`?token=`), compared in constant
 * time; a post without it is refused like a badly signed one. There is no documented status query
 * for a call-check either: it stays pending until the callback reports the guest's call.
 */

export const SMSC_API_URL = 'https://smsc.ru';
/** What this adapter can do. */
export const SMSC_METHODS: readonly PhoneMethod[] = ['callcheck', 'flashcall', 'sms'];

export interface SmscSettings {
  login: string;
  password: string;
  /** The secret the handler URL carries as `?token=` (made by Kalitka when the provider is saved). */
  callbackToken: string;
  apiUrl?: string;
}

interface SmscAnswer {
  id?: number | string;
  cnt?: number;
  code?: string | number;
  phone?: string | number;
  cost?: string | number;
  error?: string;
  error_code?: number;
}

export function smscProvider(settings: SmscSettings, transport: ProviderTransport = {}): PhoneProvider {
  if (!settings.login || !settings.password) throw new Error('SMSC needs a login and a password');
  if (!settings.callbackToken || settings.callbackToken.length < 16) throw new Error('SMSC needs a callbackToken of 16+ characters');
  const apiUrl = settings.apiUrl ?? SMSC_API_URL;
  const call = async (path: string, form: Record<string, string | undefined>): Promise<SmscAnswer> => {
    const res = await postForm('smsc', transport, providerUrl(apiUrl, path), {
      login: settings.login,
      psw: settings.password,
      fmt: '3',
      charset: 'utf-8',
      ...form,
    });
    const answer = json<SmscAnswer>('smsc', res);
    if (res.status >= 400 || answer.error !== undefined || answer.error_code !== undefined) {
      throw refused('smsc', answer.error ?? `status ${res.status}`, { providerCode: answer.error_code ?? null });
    }
    return answer;
  };

  return {
    name: 'smsc',
    methods: SMSC_METHODS,
    callbackReply: { contentType: 'text/plain', body: 'OK' },

    async start(v) {
      const phone = digitsOf(v.phone);
      if (v.method === 'callcheck') {
        const a = await call('/sys/wait_call.php', { phone });
        if (!a.phone || !/^\+?\d{6,15}$/.test(String(a.phone))) throw refused('smsc', 'no number to call in the answer');
        // SMSC reports the guest's call by the guest's number: that number is the reference.
        return { reference: `wc:${phone}`, checkedBy: 'provider', callNumber: `+${digitsOf(String(a.phone))}` };
      }
      if (v.method === 'flashcall') {
        const a = await call('/sys/send.php', { phones: phone, mes: 'code', call: '1' });
        const code = String(a.code ?? '');
        if (a.id === undefined || !/^\d{4,}$/.test(code)) throw refused('smsc', 'no id or code in the answer');
        return { reference: `fc:${a.id}`, checkedBy: 'kalitka', expectedCode: code.slice(-4), cost: numberOr(a.cost) };
      }
      if (v.method === 'sms') {
        if (!v.message) throw new Error('SMSC sends our text: the verification needs a message');
        const a = await call('/sys/send.php', { phones: phone, mes: v.message });
        if (a.id === undefined) throw refused('smsc', 'no id in the answer');
        return { reference: `sms:${a.id}`, checkedBy: 'kalitka', cost: numberOr(a.cost) };
      }
      throw new Error(`SMSC has no ${v.method} method`);
    },

    async check(reference) {
      if (!reference.startsWith('wc:')) throw new Error(`SMSC checks only call-checks, not ${reference}`);
      return 'pending';
    },

    parseCallback(req) {
      let url: URL;
      try {
        url = new URL(req.url);
      } catch {
        throw callbackMalformed('smsc', 'the URL is not absolute');
      }
      const token = Buffer.from(url.searchParams.get('token') ?? '', 'utf8');
      const expected = Buffer.from(settings.callbackToken, 'utf8');
      if (token.length !== expected.length || !timingSafeEqual(token, expected)) throw callbackSignatureInvalid('smsc');
      const form = new URLSearchParams(req.body);
      const caller = form.get('phone') ?? url.searchParams.get('phone');
      if (!caller || !/^\+?\d{6,15}$/.test(caller)) throw callbackMalformed('smsc', 'no caller phone');
      return [{ reference: `wc:${digitsOf(caller)}`, outcome: 'confirmed' }];
    },
  };
}

const numberOr = (v: unknown) => {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
};
