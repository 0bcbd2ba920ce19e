import t from 'tap';
import { AppError } from '../../../src/errors.js';
import { isKnownCountry, normalizePhone, numberPrefix, parseAllowedPhone } from '../../../src/domain/phone/number.js';
import { phoneCrypto, PhoneCryptoError } from '../../../src/domain/phone/crypto.js';

const refusalOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return { code: err.code, status: err.status, details: err.details };
    throw err;
  }
  return null;
};

t.test('what a Russian guest types becomes one E.164 number', async (t) => {
  for (const typed of ['8 (912) 345-67-89', '+7 912 345 67 89', '9123456789', '+79123456789', ' 8-912-345-67-89 ']) {
    t.same(normalizePhone(typed), { e164: '+79123456789', country: 'RU', type: 'MOBILE' }, typed);
  }
});

t.test('garbage, letters, control bytes and impossible numbers are refused as PHONE_INVALID (400)', async (t) => {
  for (const typed of ['', '12', 'abc', '+7 912 345 67 89 00 11 22 33 44 55 66 77 88 99', '+7912\u00003456789', '+999 123 456']) {
    t.same(refusalOf(() => normalizePhone(typed)), { code: 'PHONE_INVALID', status: 400, details: {} }, JSON.stringify(typed));
  }
});

t.test('by default only Russian mobile numbers are allowed; others point to the voucher path', async (t) => {
  t.equal(parseAllowedPhone('+7 912 345 67 89').e164, '+79123456789');
  t.same(refusalOf(() => parseAllowedPhone('+44 7400 123456')), {
    code: 'PHONE_COUNTRY_NOT_ALLOWED', status: 403, details: { country: 'GB', voucher: true },
  });
  // +7 is shared with Kazakhstan: a +7 700 number is Kazakh, not Russian.
  t.same(refusalOf(() => parseAllowedPhone('+7 700 123 4567')), {
    code: 'PHONE_COUNTRY_NOT_ALLOWED', status: 403, details: { country: 'KZ', voucher: true },
  });
  t.same(refusalOf(() => parseAllowedPhone('+7 495 123-45-67')), { code: 'PHONE_NOT_MOBILE', status: 403, details: { voucher: true } });
  t.equal(parseAllowedPhone('+44 7400 123456', ['RU', 'GB']).e164, '+447400123456', 'a network may allow more countries');
  t.ok(isKnownCountry('KZ'));
  t.notOk(isKnownCountry('XX'));
  t.notOk(isKnownCountry('ru'));
});

t.test('in any allowed country only a number that can take an SMS or a call to a person passes: no premium-rate, shared-cost or landline number', async (t) => {
  const notMobile = { code: 'PHONE_NOT_MOBILE', status: 403, details: { voucher: true } };
  t.same(refusalOf(() => parseAllowedPhone('+44 901 234 5678', ['RU', 'GB'])), notMobile, 'a British premium-rate number');
  t.same(refusalOf(() => parseAllowedPhone('+374 900 12345', ['RU', 'AM'])), notMobile, 'an Armenian premium-rate number');
  t.same(refusalOf(() => parseAllowedPhone('+7 717 212 3456', ['RU', 'KZ'])), notMobile, 'a Kazakh landline');
  t.equal(parseAllowedPhone('+7 701 123 4567', ['RU', 'KZ']).e164, '+77011234567', 'a Kazakh mobile');
  t.equal(parseAllowedPhone('+1 201 555 0123', ['RU', 'US']).e164, '+12015550123', 'where the plan cannot tell a mobile from a landline, the number passes');
});

t.test('a number prefix is E.164 without its last 4 digits', async (t) => {
  t.equal(numberPrefix('+79123456789'), '+7912345');
  t.equal(numberPrefix('+447400123456'), '+44740012');
  t.throws(() => numberPrefix('79123456789'));
});

const secret = Buffer.from('test-secret-test-secret-test-secret-0123', 'utf8');

t.test('a sealed number opens to itself, and sealing twice gives different text', async (t) => {
  const box = phoneCrypto(secret);
  const a = box.seal('+79123456789', 'contract-1');
  const b = box.seal('+79123456789', 'contract-1');
  t.match(a, /^v1\.[A-Za-z0-9_-]+$/);
  t.not(a, b);
  t.notOk(a.includes('9123456789'));
  t.equal(box.open(a, 'contract-1'), '+79123456789');
  t.equal(phoneCrypto(Buffer.from(secret)).open(b, 'contract-1'), '+79123456789', 'another instance with the same secret opens it');
});

t.test('any change to a sealed number, its context or the key is refused', async (t) => {
  const box = phoneCrypto(secret);
  const sealed = box.seal('+79123456789', 'contract-1');
  const raw = Buffer.from(sealed.slice(3), 'base64url');
  for (let i = 0; i < raw.length; i++) {
    const flipped = Buffer.from(raw);
    flipped[i] ^= 0x01;
    t.throws(() => box.open(`v1.${flipped.toString('base64url')}`, 'contract-1'), PhoneCryptoError, `byte ${i} flipped`);
  }
  t.throws(() => box.open(sealed, 'contract-2'), PhoneCryptoError, 'another contract');
  t.throws(() => box.open(sealed), PhoneCryptoError, 'no context');
  t.throws(() => phoneCrypto(Buffer.from('another-secret-another-secret-0123')).open(sealed, 'contract-1'), PhoneCryptoError, 'another key');
  t.throws(() => box.open(`v2.${sealed.slice(3)}`, 'contract-1'), /unknown sealed-number version "v2"/);
  t.throws(() => box.open('v1.', 'contract-1'), PhoneCryptoError);
  t.throws(() => box.open('v1.%%%', 'contract-1'), PhoneCryptoError);
  t.throws(() => box.open(sealed.slice(0, 20), 'contract-1'), PhoneCryptoError, 'truncated');
});

t.test('the lookup hash is stable per number, differs between numbers and secrets, and is not the number', async (t) => {
  const box = phoneCrypto(secret);
  const h = box.lookupHash('+79123456789');
  t.match(h, /^[0-9a-f]{64}$/);
  t.equal(phoneCrypto(Buffer.from(secret)).lookupHash('+79123456789'), h);
  t.not(box.lookupHash('+79123456780'), h);
  t.not(phoneCrypto(Buffer.from('another-secret-another-secret-0123')).lookupHash('+79123456789'), h);
  t.throws(() => phoneCrypto(Buffer.from('short')), /too short/);
});
