import { createHash, randomBytes, randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Test } from 'tap';
import { request } from 'undici';
import type { CallbackRequest } from '../../src/phone/providers/types.js';
import { twilioSignature } from '../../src/phone/providers/twilio.js';

/*
 * Phone providers on 127.0.0.1 that speak the part of each public HTTP API the adapters use, and
 * check requests the way the real services do (credentials, required parameters, number format),
 * so an adapter that sends the wrong thing fails here as it would in production. Every fake
 * records what it was sent (`calls`; `sent` for what reached a "phone") and has knobs for
 * outages: `failNext(status)` answers the next request with that status once, `hang` accepts
 * requests and never answers (a timeout), `cut` reads them and closes the connection unanswered.
 */

export interface FakeCall {
  path: string;
  form: Record<string, string>;
  authorization: string | null;
  status: number;
}

interface Reply {
  status: number;
  body: unknown;
}

function knobs() {
  return {
    calls: [] as FakeCall[],
    /** The next request gets this status (and body) once, whatever it asked. */
    failNext: null as null | { status: number; body?: string },
    /** Accept requests and never answer them. */
    hang: false,
    /** Read requests and close the connection without an answer. */
    cut: false,
  };
}

async function loopback(
  t: Test,
  state: ReturnType<typeof knobs>,
  handle: (path: string, form: URLSearchParams, req: IncomingMessage) => Reply,
): Promise<string> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      // Like the real APIs, parameters may come in the query or a form body.
      const form = new URLSearchParams(url.search);
      for (const [k, v] of new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) form.append(k, v);
      const call: FakeCall = {
        path: url.pathname,
        form: Object.fromEntries(form),
        authorization: req.headers.authorization ?? null,
        status: 0,
      };
      state.calls.push(call);
      if (state.hang) return;
      if (state.cut) {
        req.socket.destroy();
        return;
      }
      if (state.failNext) {
        const { status, body } = state.failNext;
        state.failNext = null;
        call.status = status;
        res.writeHead(status, { 'content-type': 'text/html' });
        res.end(body ?? `<html><body>${status}</body></html>`);
        return;
      }
      const reply = req.method === 'POST' || req.method === 'GET' ? handle(url.pathname, form, req) : { status: 405, body: {} };
      call.status = reply.status;
      res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** POSTs a callback the way a provider would, to a Kalitka URL (for route-level tests). */
export async function deliver(url: string, cb: CallbackRequest): Promise<{ status: number; body: string }> {
  const headers = Object.fromEntries(Object.entries(cb.headers).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
  const res = await request(url, { method: 'POST', headers, body: cb.body });
  return { status: res.statusCode, body: await res.body.text() };
}

// ---------------------------------------------------------------------------------------------
// sms.ru
// ---------------------------------------------------------------------------------------------

export interface FakeSmsRuOptions {
  apiId?: string;
}

export async function fakeSmsRu(t: Test, opts: FakeSmsRuOptions = {}) {
  const apiId = opts.apiId ?? 'F2D79B58-A5A2-2F9E-91C8-73D12CE2E102';
  const state = {
    ...knobs(),
    apiId,
    /** Call-checks by check_id: the guest's number and its state (400 waiting, 401 called, 402 expired). */
    checks: new Map<string, { phone: string; status: '400' | '401' | '402' }>(),
    /** The number the guest is told to call. */
    callPhone: '78005008275',
    /** What reached a phone: SMS texts and flash calls (with the caller's last 4 digits). */
    sent: [] as Array<{ kind: 'sms' | 'flashcall'; to: string; text?: string; code?: string; ip: string | null }>,
    /** The guest calls: the check becomes 401. */
    guestCalls(checkId: string) {
      const c = state.checks.get(checkId);
      if (!c) throw new Error(`no check ${checkId}`);
      c.status = '401';
    },
    expire(checkId: string) {
      state.checks.get(checkId)!.status = '402';
    },
    /** The callback sms.ru posts about call-checks, signed with `signWith` (default: the right api_id). */
    callback(entries: Array<{ checkId: string; status: string }>, signWith: string = apiId): CallbackRequest {
      const data = entries.map((e) => `callcheck_status\n${e.checkId}\n${e.status}\n${Math.floor(Date.now() / 1000)}`);
      const form = new URLSearchParams();
      data.forEach((d, i) => form.append(`data[${i}]`, d));
      form.append('hash', createHash('sha256').update(signWith + data.join('')).digest('hex'));
      return { url: 'https://kalitka.example/api/v1/phone/callbacks/smsru/c1', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() };
    },
  };
  let seq = 0;
  const error = (code: number, text: string): Reply => ({ status: 200, body: { status: 'ERROR', status_code: code, status_text: text } });
  const phoneOk = (p: string | null) => p !== null && /^\d{10,15}$/.test(p);
  const url = await loopback(t, state, (path, form) => {
    // sms.ru answers 200 with status ERROR for every API-level problem; 200 = wrong api_id.
    if (form.get('api_id') !== apiId) return error(200, 'Неправильный api_id');
    if (form.get('json') !== '1' && path !== '/code/call') return { status: 200, body: '100\n' };
    const phone = form.get('phone');
    const ip = form.get('ip');
    if (ip !== null && !/^[\d.:a-fA-F]+$/.test(ip)) return error(206, 'Неправильно указан ip');
    switch (path) {
      case '/callcheck/add': {
        if (!phoneOk(phone)) return error(202, 'Неправильно указан номер телефона');
        const checkId = `${201737 + ++seq}-${randomInt(100, 999)}`;
        state.checks.set(checkId, { phone: phone!, status: '400' });
        const pretty = `+7 (${state.callPhone.slice(1, 4)}) ${state.callPhone.slice(4, 7)}-${state.callPhone.slice(7)}`;
        return {
          status: 200,
          body: {
            status: 'OK', status_code: 100, check_id: checkId, call_phone: state.callPhone, call_phone_pretty: pretty,
            call_phone_html: `<a href="callto:${state.callPhone}">${pretty}</a>`,
          },
        };
      }
      case '/callcheck/status': {
        const c = state.checks.get(form.get('check_id') ?? '');
        const status = c?.status ?? '402';
        const text = { '400': 'Авторизация по звонку: номер пока не подтвержден', '401': 'Авторизация по звонку: номер подтвержден', '402': 'Авторизация по звонку: истекло время, отведенное для авторизации, или check_id неверный' }[status];
        return { status: 200, body: { status: 'OK', status_code: 100, check_status: status, check_status_text: text } };
      }
      case '/code/call': {
        if (!phoneOk(phone)) return error(202, 'Неправильно указан номер телефона');
        const code = String(randomInt(0, 10_000)).padStart(4, '0');
        state.sent.push({ kind: 'flashcall', to: phone!, code, ip });
        return { status: 200, body: { status: 'OK', code, call_id: `000000-${10000000 + ++seq}`, cost: 0.4, balance: 4122.56 } };
      }
      case '/sms/send': {
        const to = form.get('to');
        const msg = form.get('msg');
        if (!msg) return error(204, 'Текст сообщения не может быть пустым');
        if (!phoneOk(to)) return error(202, 'Неправильно указан номер телефона');
        state.sent.push({ kind: 'sms', to: to!, text: msg, ip });
        return {
          status: 200,
          body: { status: 'OK', status_code: 100, sms: { [to!]: { status: 'OK', status_code: 100, sms_id: `000000-${10000000 + ++seq}` } }, balance: 4122.16 },
        };
      }
      default:
        return error(210, 'Используется GET, где необходимо использовать POST');
    }
  });
  return Object.assign(state, { url });
}

// ---------------------------------------------------------------------------------------------
// Twilio Verify
// ---------------------------------------------------------------------------------------------

export interface FakeTwilioOptions {
  accountSid?: string;
  authToken?: string;
  serviceSid?: string;
}

export async function fakeTwilio(t: Test, opts: FakeTwilioOptions = {}) {
  const accountSid = opts.accountSid ?? `AC${'a1'.repeat(16)}`;
  const authToken = opts.authToken ?? 'twilio-auth-token-0123456789abcdef';
  const serviceSid = opts.serviceSid ?? `VA${'b2'.repeat(16)}`;
  const state = {
    ...knobs(),
    accountSid,
    authToken,
    serviceSid,
    verifications: new Map<string, { to: string; channel: string; code: string; status: string; checks: number }>(),
    sent: [] as Array<{ to: string; channel: string; code: string; locale: string | null }>,
    /** A Verify Events webhook (an Event Streams sink) about a verification, signed with `signWith`. */
    callback(sid: string, state_: 'approved' | 'canceled' | 'expired' | 'pending', url: string, signWith: string = authToken): CallbackRequest {
      const body = JSON.stringify([
        {
          specversion: '1.0',
          type: `com.twilio.accountsecurity.verify.verification.${state_}`,
          source: `/v2/Services/${serviceSid}/Verifications/${sid}`,
          id: `EZ${randomBytes(16).toString('hex')}`,
          datacontenttype: 'application/json',
          time: new Date().toISOString(),
          data: { verification_sid: sid, service_sid: serviceSid, account_sid: accountSid, status: state_ },
        },
      ]);
      const signedUrl = `${url}${url.includes('?') ? '&' : '?'}bodySHA256=${createHash('sha256').update(body).digest('hex')}`;
      return {
        url: signedUrl,
        headers: { 'content-type': 'application/json', 'x-twilio-signature': twilioSignature(signWith, signedUrl) },
        body,
      };
    },
  };
  const fail = (status: number, code: number, message: string): Reply => ({
    status,
    body: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status },
  });
  const expectedAuth = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
  const url = await loopback(t, state, (path, form, req) => {
    if (req.headers.authorization !== expectedAuth) return fail(401, 20003, 'Authenticate');
    const m = /^\/v2\/Services\/([^/]+)\/(Verifications|VerificationCheck)$/.exec(path);
    if (!m || m[1] !== serviceSid) return fail(404, 20404, 'The requested resource was not found');
    if (m[2] === 'Verifications') {
      const to = form.get('To') ?? '';
      const channel = form.get('Channel') ?? '';
      if (!/^\+[1-9]\d{6,14}$/.test(to)) return fail(400, 60200, 'Invalid parameter `To`');
      if (!['sms', 'call', 'email', 'whatsapp', 'sna'].includes(channel)) return fail(400, 60200, 'Invalid parameter: Channel');
      const sid = `VE${randomBytes(16).toString('hex')}`;
      const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
      state.verifications.set(sid, { to, channel, code, status: 'pending', checks: 0 });
      state.sent.push({ to, channel, code, locale: form.get('Locale') });
      return {
        status: 201,
        body: { sid, service_sid: serviceSid, account_sid: accountSid, to, channel, status: 'pending', valid: false, date_created: new Date().toISOString() },
      };
    }
    const code = form.get('Code');
    if (!code) return fail(400, 60200, 'Invalid parameter: Code');
    const sid = form.get('VerificationSid');
    const v = sid ? state.verifications.get(sid) : undefined;
    if (!v || v.status !== 'pending') return fail(404, 20404, 'The requested resource was not found');
    v.checks++;
    if (code === v.code) v.status = 'approved';
    else if (v.checks >= 5) v.status = 'max_attempts_reached';
    return { status: 200, body: { sid, service_sid: serviceSid, to: v.to, channel: v.channel, status: v.status === 'max_attempts_reached' ? 'pending' : v.status, valid: v.status === 'approved' } };
  });
  return Object.assign(state, { url });
}

// ---------------------------------------------------------------------------------------------
// SMSC
// ---------------------------------------------------------------------------------------------

export interface FakeSmscOptions {
  login?: string;
  password?: string;
}

export async function fakeSmsc(t: Test, opts: FakeSmscOptions = {}) {
  const login = opts.login ?? 'kalitka';
  const password = opts.password ?? 'smsc-password';
  const state = {
    ...knobs(),
    login,
    password,
    callPhone: '74993220000',
    sent: [] as Array<{ kind: 'sms' | 'flashcall'; to: string; text?: string; code?: string }>,
    waiting: new Set<string>(),
    /** SMSC's post to the handler URL (`url` must carry Kalitka's ?token=) when the guest calls. */
    callback(url: string, callerDigits: string): CallbackRequest {
      return { url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ phone: callerDigits, status: '1' }).toString() };
    },
  };
  let seq = 0;
  const error = (code: number, text: string): Reply => ({ status: 200, body: { error: text, error_code: code } });
  const url = await loopback(t, state, (path, form) => {
    if (form.get('login') !== login || form.get('psw') !== password) return error(2, 'authorise error');
    if (form.get('fmt') !== '3') return { status: 200, body: 'OK - 1 SMS, ID - 1' };
    if (path === '/sys/wait_call.php') {
      const phone = form.get('phone') ?? '';
      if (!/^\d{10,15}$/.test(phone)) return error(7, 'invalid number');
      state.waiting.add(phone);
      return { status: 200, body: { phone: state.callPhone, all_phones: [state.callPhone, '74993220001'] } };
    }
    if (path === '/sys/send.php') {
      const phones = form.get('phones') ?? '';
      const mes = form.get('mes');
      if (!mes) return error(1, 'parameters error');
      if (!/^\d{10,15}$/.test(phones)) return error(7, 'invalid number');
      const id = ++seq;
      if (form.get('call') === '1' && mes === 'code') {
        const code = `7${String(randomInt(0, 100_000)).padStart(5, '0')}`;
        state.sent.push({ kind: 'flashcall', to: phones, code: code.slice(-4) });
        return { status: 200, body: { id, cnt: 1, code } };
      }
      state.sent.push({ kind: 'sms', to: phones, text: mes });
      return { status: 200, body: { id, cnt: 1 } };
    }
    return error(1, 'parameters error');
  });
  return Object.assign(state, { url });
}
