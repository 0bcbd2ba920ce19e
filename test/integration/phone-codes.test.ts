import t from 'tap';
import { AppError } from '../../src/errors.js';
import { checkCode, countCodeTry, generateSmsCode, storeCode } from '../../src/domain/phone/codes.js';
import { testCache } from '../helpers/cache.js';

/* Runs on the in-process cache (embedded) and on real Redis (servers setup). */

const secret = Buffer.from('test-secret-test-secret-test-secret-0123');
const now = new Date('2026-11-23T10:00:00.000Z');
const later = (seconds: number) => new Date(now.getTime() + seconds * 1000);
let seq = 0;
const newId = () => `verif-${Date.now().toString(36)}-${seq++}`;

const outcome = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (err instanceof AppError) return `${err.status} ${err.code}`;
    throw err;
  }
};

t.test('SMS codes are 6 digits from a uniform draw, leading zeros included', async (t) => {
  const seen = new Set<string>();
  let leadingZero = 0;
  for (let i = 0; i < 5000; i++) {
    const code = generateSmsCode();
    if (!/^\d{6}$/.test(code)) t.fail(`bad code ${code}`);
    if (code.startsWith('0')) leadingZero++;
    seen.add(code);
  }
  t.ok(seen.size > 4900, `${seen.size} distinct of 5000`);
  t.ok(leadingZero > 350 && leadingZero < 650, `about a tenth start with 0 (${leadingZero})`);
});

t.test('the right code identifies once; the cache holds only its HMAC', async (t) => {
  const cache = await testCache(t);
  const id = newId();
  await storeCode(cache, secret, { verificationId: id, code: '012345', now });
  const raw = (await cache.get(`phone:code:${id}`))!;
  t.notOk(raw.includes('012345'), 'no code in clear');
  t.equal(await outcome(checkCode(cache, secret, { verificationId: id, typed: ' 012-345 ', now: later(30) })), 'ok');
  t.equal(await outcome(checkCode(cache, secret, { verificationId: id, typed: '012345', now: later(31) })), '403 PHONE_CODE_EXPIRED', 'single use');
});

t.test('a code is valid 10 minutes', async (t) => {
  const cache = await testCache(t);
  const id = newId();
  await storeCode(cache, secret, { verificationId: id, code: '654321', now });
  t.equal(await outcome(checkCode(cache, secret, { verificationId: id, typed: '654321', now: later(600) })), '403 PHONE_CODE_EXPIRED');
  const id2 = newId();
  await storeCode(cache, secret, { verificationId: id2, code: '654321', now });
  t.equal(await outcome(checkCode(cache, secret, { verificationId: id2, typed: '654321', now: later(599) })), 'ok');
  t.equal(await outcome(checkCode(cache, secret, { verificationId: newId(), typed: '654321', now })), '403 PHONE_CODE_EXPIRED', 'never issued');
});

t.test('five wrong codes end the code: the right one is refused after them', async (t) => {
  const cache = await testCache(t);
  const id = newId();
  await storeCode(cache, secret, { verificationId: id, code: '111111', now });
  const left: unknown[] = [];
  for (let i = 0; i < 4; i++) {
    try {
      await checkCode(cache, secret, { verificationId: id, typed: '222222', now });
    } catch (err) {
      t.match(err, { status: 403, code: 'PHONE_CODE_WRONG' });
      left.push((err as AppError).details.triesLeft);
    }
  }
  t.same(left, [4, 3, 2, 1]);
  t.equal(await outcome(checkCode(cache, secret, { verificationId: id, typed: 'abc', now })), '403 PHONE_CODE_EXHAUSTED', 'the fifth wrong try, even malformed');
  t.equal(await outcome(checkCode(cache, secret, { verificationId: id, typed: '111111', now })), '403 PHONE_CODE_EXPIRED', 'the code is gone');
});

t.test('20 parallel guesses get at most 5 comparisons; 20 parallel right answers identify once', async (t) => {
  const cache = await testCache(t);
  const id = newId();
  await storeCode(cache, secret, { verificationId: id, code: '987654', now });
  const guesses = await Promise.all(
    Array.from({ length: 20 }, (_, i) => outcome(checkCode(cache, secret, { verificationId: id, typed: String(100000 + i), now }))),
  );
  const tally = guesses.reduce<Record<string, number>>((a, r) => ({ ...a, [r]: (a[r] ?? 0) + 1 }), {});
  t.equal(tally['403 PHONE_CODE_WRONG'], 4, 'four wrong answers are told "wrong"');
  t.equal((tally['403 PHONE_CODE_EXHAUSTED'] ?? 0) + (tally['403 PHONE_CODE_EXPIRED'] ?? 0), 16, 'the rest find the code ended');
  t.equal(tally.ok, undefined);

  const id2 = newId();
  await storeCode(cache, secret, { verificationId: id2, code: '246810', now });
  const rights = await Promise.all(Array.from({ length: 20 }, () => outcome(checkCode(cache, secret, { verificationId: id2, typed: '246810', now }))));
  t.equal(rights.filter((r) => r === 'ok').length, 1, 'exactly one identifies');
});

t.test('a code another verification holds does not open this one', async (t) => {
  const cache = await testCache(t);
  const [a, b] = [newId(), newId()];
  await storeCode(cache, secret, { verificationId: a, code: '135790', now });
  await storeCode(cache, secret, { verificationId: b, code: '097531', now });
  t.equal(await outcome(checkCode(cache, secret, { verificationId: b, typed: '135790', now })), '403 PHONE_CODE_WRONG');
  t.equal(await outcome(checkCode(cache, secret, { verificationId: a, typed: '135790', now })), 'ok');
});

t.test('provider-checked codes (Twilio) count their tries the same way', async (t) => {
  const cache = await testCache(t);
  const id = newId();
  const left = [];
  for (let i = 0; i < 5; i++) left.push(await countCodeTry(cache, id));
  t.same(left, [4, 3, 2, 1, 0]);
  t.equal(await outcome(countCodeTry(cache, id)), '403 PHONE_CODE_EXHAUSTED');
  await t.rejects(countCodeTry(cache, 'bad id!'), /verification id/);
});
