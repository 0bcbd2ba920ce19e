import t from 'tap';
import { AppError } from '../../src/errors.js';
import { phoneCrypto } from '../../src/domain/phone/crypto.js';
import {
  breakerState,
  countSend,
  DEFAULT_PHONE_LIMITS,
  isPaused,
  recordCodeEntered,
  recordPaidSend,
  resumePaidSends,
  uncountSend,
  type PhoneLimits,
  type SendAttempt,
} from '../../src/domain/phone/limits.js';
import { numberPrefix } from '../../src/domain/phone/number.js';
import { testCache } from '../helpers/cache.js';

/* Runs on the in-process cache (embedded) and on real Redis (servers setup), like every integration test. */

const box = phoneCrypto(Buffer.from('test-secret-test-secret-test-secret-0123'));

function attempt(e164: string, over: Partial<SendAttempt> = {}): SendAttempt {
  return {
    networkId: 'net-1',
    contractId: 'contract-1',
    mac: 'AA:BB:CC:00:00:01',
    phoneHash: box.lookupHash(e164),
    prefixHash: box.lookupHash(numberPrefix(e164)),
    paid: true,
    ...over,
  };
}

/** A number whose prefix no other test number shares. */
let serial = 0;
const freshNumber = () => `+79${String(100 + serial++).padStart(5, '0')}${String(1000 + (serial % 9000))}`;

const outcome = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'sent';
  } catch (err) {
    if (err instanceof AppError) return `${err.status} ${err.code}`;
    throw err;
  }
};

const tally = (results: string[]) => results.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r]: (acc[r] ?? 0) + 1 }), {});

const noResend: PhoneLimits = { ...DEFAULT_PHONE_LIMITS, resendSeconds: 0 };

t.test('a second code to the same number within 60 s is refused with the seconds to wait', async (t) => {
  const svc = { cache: await testCache(t) };
  const n = freshNumber();
  await countSend(svc.cache, attempt(n));
  try {
    await countSend(svc.cache, attempt(n, { mac: 'AA:BB:CC:00:00:02' }));
    t.fail('the resend was let through');
  } catch (err) {
    t.match(err, { status: 429, code: 'PHONE_RESEND_WAIT' });
    const { retryAfter, minutes } = (err as AppError).details as { retryAfter: number; minutes: number };
    t.ok(retryAfter >= 58 && retryAfter <= 60, `retryAfter ${retryAfter}`);
    t.equal(minutes, 1);
  }
  t.equal(await outcome(countSend(svc.cache, attempt(freshNumber()))), 'sent', 'another number is not held up');
});

t.test('20 parallel starts to one number: exactly 3 pass in 10 minutes, and the refused ones count nothing', async (t) => {
  const svc = { cache: await testCache(t) };
  const n = freshNumber();
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => outcome(countSend(svc.cache, attempt(n, { mac: `AA:BB:CC:00:01:${String(i).padStart(2, '0')}` }), noResend))),
  );
  t.same(tally(results), { sent: 3, '429 PHONE_LIMIT_NUMBER': 17 });
  // The network budget saw 3 sends, not 20: a refusal counts against no other counter.
  const budget = { ...noResend, networkPerHour: 5 };
  const more = await Promise.all([freshNumber(), freshNumber(), freshNumber()].map((m) => outcome(countSend(svc.cache, attempt(m), budget))));
  t.same(tally(more), { sent: 2, '429 PHONE_BUDGET_NETWORK': 1 });
});

t.test('a number gets at most 5 starts a day', async (t) => {
  const svc = { cache: await testCache(t) };
  const n = freshNumber();
  const limits = { ...noResend, perNumberTenMinutes: 100, perPrefixHour: 100 };
  const results: string[] = [];
  for (let i = 0; i < 7; i++) results.push(await outcome(countSend(svc.cache, attempt(n, { mac: `AA:BB:CC:00:02:0${i}` }), limits)));
  t.same(results, ['sent', 'sent', 'sent', 'sent', 'sent', '429 PHONE_LIMIT_NUMBER', '429 PHONE_LIMIT_NUMBER']);
});

t.test('a device gets at most 5 starts a day, also in parallel', async (t) => {
  const svc = { cache: await testCache(t) };
  const results = await Promise.all(Array.from({ length: 12 }, () => outcome(countSend(svc.cache, attempt(freshNumber()), noResend))));
  t.same(tally(results), { sent: 5, '429 PHONE_LIMIT_DEVICE': 7 });
});

t.test('numbers sharing all but their last 4 digits get 3 starts an hour together', async (t) => {
  const svc = { cache: await testCache(t) };
  const prefix = '+7916555';
  const results: string[] = [];
  for (const tail of ['0001', '0002', '0003', '0004']) {
    results.push(await outcome(countSend(svc.cache, attempt(prefix + tail, { mac: `AA:BB:CC:00:03:${tail.slice(2)}` }), noResend)));
  }
  t.same(results, ['sent', 'sent', 'sent', '429 PHONE_LIMIT_PREFIX']);
});

t.test('budgets count paid sends only: a network per hour, a contract per day', async (t) => {
  const svc = { cache: await testCache(t) };
  const limits = { ...noResend, networkPerHour: 2, contractPerDay: 3 };
  const mac = (i: number) => `AA:BB:CC:00:04:0${i}`;
  t.equal(await outcome(countSend(svc.cache, attempt(freshNumber(), { mac: mac(1) }), limits)), 'sent');
  t.equal(await outcome(countSend(svc.cache, attempt(freshNumber(), { mac: mac(2) }), limits)), 'sent');
  t.equal(await outcome(countSend(svc.cache, attempt(freshNumber(), { mac: mac(3) }), limits)), '429 PHONE_BUDGET_NETWORK');
  t.equal(await outcome(countSend(svc.cache, attempt(freshNumber(), { mac: mac(3), paid: false }), limits)), 'sent', 'a call-check is free');
  t.equal(await outcome(countSend(svc.cache, attempt(freshNumber(), { mac: mac(4), networkId: 'net-2' }), limits)), 'sent', 'another network of the contract');
  t.equal(await outcome(countSend(svc.cache, attempt(freshNumber(), { mac: mac(5), networkId: 'net-3' }), limits)), '429 PHONE_BUDGET_CONTRACT');
});

t.test('a send the provider failed to make is taken back', async (t) => {
  const svc = { cache: await testCache(t) };
  const n = freshNumber();
  const limits = { ...noResend, perNumberTenMinutes: 1 };
  const ticket = await countSend(svc.cache, attempt(n), limits);
  t.equal(await outcome(countSend(svc.cache, attempt(n), limits)), '429 PHONE_LIMIT_NUMBER');
  await uncountSend(svc.cache, ticket);
  t.equal(await outcome(countSend(svc.cache, attempt(n), limits)), 'sent');
});

t.test('the pumping breaker pauses paid sends when fewer than 30 % of the last 50 codes were entered', async (t) => {
  const svc = { cache: await testCache(t) };
  const net = 'net-pumped';
  for (let i = 0; i < 50; i++) {
    const ref = `sms:${i}`;
    const state = await recordPaidSend(svc.cache, net, ref);
    if (i < 49) t.equal(state.paused, false, `not judged before 50 sends (${i + 1})`);
    if (i % 4 === 0 && i < 56) await recordCodeEntered(svc.cache, net, ref); // 13 of 50 entered: 26 %
  }
  t.same(await breakerState(svc.cache, net), { sent: 50, entered: 13, paused: true });
  t.equal(await outcome(countSend(svc.cache, attempt(freshNumber(), { networkId: net }), noResend)), '429 PHONE_PAUSED');
  t.equal(await outcome(countSend(svc.cache, attempt(freshNumber(), { networkId: net, paid: false }), noResend)), 'sent', 'call-check stays open');
  t.equal(await outcome(countSend(svc.cache, attempt(freshNumber(), { networkId: 'net-healthy', mac: 'AA:BB:CC:00:05:01' }), noResend)), 'sent', 'other networks go on');
  await resumePaidSends(svc.cache, net);
  t.equal(await isPaused(svc.cache, net), false);
  t.same(await breakerState(svc.cache, net), { sent: 0, entered: 0, paused: false }, 'the window starts empty');
  t.equal(await outcome(countSend(svc.cache, attempt(freshNumber(), { networkId: net, mac: 'AA:BB:CC:00:05:02' }), noResend)), 'sent');
});

t.test('at 30 % entered the breaker holds; the window slides over the last 50 sends', async (t) => {
  const svc = { cache: await testCache(t) };
  const net = 'net-fine';
  for (let i = 0; i < 50; i++) {
    await recordPaidSend(svc.cache, net, `fc:${i}`);
    if (i < 15) await recordCodeEntered(svc.cache, net, `fc:${i}`); // 15 of 50: exactly 30 %
  }
  t.same(await breakerState(svc.cache, net), { sent: 50, entered: 15, paused: false });
  // The next send overwrites the oldest slot, an entered one: 14 of the last 50 → pause.
  const state = await recordPaidSend(svc.cache, net, 'fc:50');
  t.same(state, { sent: 50, entered: 14, paused: true });
  await recordCodeEntered(svc.cache, net, 'fc:0');
  t.equal((await breakerState(svc.cache, net)).entered, 14, 'a code entered after its slot was reused does not count');
});
