import t from 'tap';
import { generateCode, groupCode, luhnDigit, luhnValid, parseCode } from '../../src/domain/code.js';
import { normalizeMac } from '../../src/domain/mac.js';

t.test('the Luhn check digit matches the textbook example', async (t) => {
  // 7992739871 → check digit 3 (the example used to explain the algorithm everywhere).
  t.equal(luhnDigit('7992739871'), 3);
  t.ok(luhnValid('79927398713'));
  t.notOk(luhnValid('79927398710'));
});

t.test('generated codes are 12 digits, never start with 0, carry a valid check digit, and vary', async (t) => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const code = generateCode();
    if (!/^[1-9]\d{11}$/.test(code) || !luhnValid(code)) t.fail(`bad code ${code}`);
    seen.add(code);
  }
  t.equal(seen.size, 2000, 'no repeats in 2000 draws');
  const firstDigits = new Set([...seen].map((c) => c[0]));
  t.equal(firstDigits.size, 9, 'every first digit 1-9 occurs');
});

t.test('the portal accepts spaces and dashes and tells a mistype from a malformed code', async (t) => {
  const code = generateCode();
  t.same(parseCode(`${code.slice(0, 4)} ${code.slice(4, 8)}-${code.slice(8)}`), { code });
  t.same(parseCode(' ' + groupCode(code) + ' '), { code });
  const wrongLast = code.slice(0, 11) + String((Number(code[11]) + 1) % 10);
  t.same(parseCode(wrongLast), { problem: 'check_digit' });
  // Swapping two adjacent different digits is caught too — except 0 and 9, Luhn's known blind spot.
  const fixed = '12345678901' + luhnDigit('12345678901');
  t.same(parseCode('13245678901' + fixed[11]), { problem: 'check_digit' }, '2 and 3 swapped');
  const blind = '10901111111' + luhnDigit('10901111111');
  t.same(parseCode('19001111111' + blind[11]), { code: '19001111111' + blind[11] }, '0 and 9 swapped passes, as documented');
  t.same(parseCode('12345'), { problem: 'format' });
  t.same(parseCode('012345678901'), { problem: 'format' });
  t.same(parseCode('1234567890123'), { problem: 'format' });
  t.same(parseCode('12345678901a'), { problem: 'format' });
  t.same(parseCode(''), { problem: 'format' });
});

t.test('codes print grouped in fours', async (t) => {
  t.equal(groupCode('100123456789'), '1001 2345 6789');
});

t.test('MACs are accepted in any common spelling and returned upper-case with colons', async (t) => {
  for (const spelling of ['aa:bb:cc:dd:ee:0f', 'AA-BB-CC-DD-EE-0F', 'aabb.ccdd.ee0f', 'AABBCCDDEE0F', ' aa:bb:cc:dd:ee:0f ']) {
    t.equal(normalizeMac(spelling), 'AA:BB:CC:DD:EE:0F', spelling);
  }
  for (const bad of ['', 'aa:bb:cc:dd:ee', 'aa:bb:cc:dd:ee:0g', 'aa:bb-cc:dd:ee:0f', 'aabbccddeeff00', 'not a mac']) {
    t.equal(normalizeMac(bad), null, JSON.stringify(bad));
  }
});
