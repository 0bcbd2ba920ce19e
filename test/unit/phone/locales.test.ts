import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { PHONE_REFUSALS } from '../../../src/domain/phone/refusals.js';
import { PHONE_METHODS } from '../../../src/phone/providers/types.js';

const dir = path.resolve(import.meta.dirname, '../../../portal-templates/locales');
const load = (lang: string) => JSON.parse(readFileSync(path.join(dir, `phone.${lang}.json`), 'utf8')) as Record<string, string>;
const placeholders = (s: string) => [...s.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).sort();

t.test('every phone refusal and method is explained in Russian and English, with the same placeholders', async (t) => {
  const ru = load('ru');
  const en = load('en');
  t.same(Object.keys(ru).sort(), Object.keys(en).sort(), 'the same keys in both languages');
  for (const code of Object.keys(PHONE_REFUSALS)) {
    t.ok(ru[`phone.refusal.${code}`], `ru ${code}`);
    t.ok(en[`phone.refusal.${code}`], `en ${code}`);
  }
  for (const method of PHONE_METHODS) t.ok(ru[`phone.method.${method}`] && en[`phone.method.${method}`], method);
  for (const key of Object.keys(ru)) t.same(placeholders(ru[key]), placeholders(en[key]), key);
  t.notOk(Object.keys(ru).some((k) => k.startsWith('phone.refusal.') && !(k.slice(14) in PHONE_REFUSALS)), 'no string for a code that does not exist');
});

t.test('the limit refusals interpolate what countSend and checkCode put in their details', async (t) => {
  const en = load('en');
  t.same(placeholders(en['phone.refusal.PHONE_LIMIT_NUMBER']), ['minutes']);
  t.same(placeholders(en['phone.refusal.PHONE_RESEND_WAIT']), ['seconds']);
  t.same(placeholders(en['phone.refusal.PHONE_CODE_WRONG']), ['triesLeft']);
});
