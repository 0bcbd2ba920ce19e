import t from 'tap';
import { crc32 } from 'node:zlib';
import { hashApiToken, newApiToken, plausibleApiToken } from '../../src/domain/apiTokens.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const decode62 = (s: string) => [...s].reduce((n, c) => n * 62 + BASE62.indexOf(c), 0);

t.test('API tokens are klt_ + 30 base62 + a 6-character base62 CRC32 of the 30', async (t) => {
  for (let i = 0; i < 200; i++) {
    const token = newApiToken();
    t.match(token, /^klt_[0-9A-Za-z]{36}$/);
    t.equal(decode62(token.slice(34)), crc32(token.slice(4, 34)), 'checksum decodes to the CRC32');
    t.ok(plausibleApiToken(token));
  }
});

t.test('a token with a broken checksum is refused before any lookup', async (t) => {
  const token = newApiToken();
  const flipped = token.slice(0, 10) + (token[10] === 'a' ? 'b' : 'a') + token.slice(11);
  t.notOk(plausibleApiToken(flipped));
  t.notOk(plausibleApiToken(token.slice(0, -1)));
  t.notOk(plausibleApiToken('klt_short'));
  t.notOk(plausibleApiToken('has spaces and is long enough to pass length'));
  t.ok(plausibleApiToken('a_configured_admin_token_of_32_chars_'), 'a configured bootstrap token is accepted for lookup');
});

t.test('hashes are HMAC-SHA256 with the pepper: same token same hash, other pepper other hash', async (t) => {
  const token = newApiToken();
  const a = hashApiToken(Buffer.from('pepper-one'), token);
  t.equal(a, hashApiToken(Buffer.from('pepper-one'), token));
  t.not(a, hashApiToken(Buffer.from('pepper-two'), token));
  t.match(a, /^[0-9a-f]{64}$/);
  t.notOk(a.includes(token));
});
