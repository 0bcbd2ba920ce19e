import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { activateToken } from '../../src/domain/activation.js';
import { groupCode } from '../../src/domain/code.js';
import { daysRu } from '../../src/pdf/slips.js';
import { annulToken, setIssuedTo } from '../../src/domain/tokens.js';
import { mac, makeContract, makeNetwork, makeToken, makeTokens, makeUser, operatorOf } from '../helpers/factories.js';
import { appFor, call } from '../helpers/adminApi.js';
import { testEnv, usingServers } from '../helpers/services.js';

const artifacts = path.resolve(import.meta.dirname, '../../test-artifacts');
mkdirSync(artifacts, { recursive: true });
const setupName = usingServers ? 'servers' : 'embedded';

/** Keeps the PDF for a person to look at and returns its text as pdftotext lays it out. */
function pdfText(pdf: Buffer, name: string): string {
  const file = path.join(artifacts, `${name}-${setupName}.pdf`);
  writeFileSync(file, pdf);
  return execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
}

const pageCount = (pdf: Buffer, name: string) => {
  const file = path.join(artifacts, `${name}-${setupName}.pdf`);
  writeFileSync(file, pdf);
  return Number(/Pages:\s+(\d+)/.exec(execFileSync('pdfinfo', [file], { encoding: 'utf8' }))![1]);
};

const occurrences = (text: string, needle: string) => text.split(needle).length - 1;

t.test('«сутки» is declined as Russian has it', async (t) => {
  t.same([1, 2, 4, 5, 11, 12, 21, 22, 25, 30].map(daysRu), [
    '1 сутки', '2 суток', '4 суток', '5 суток', '11 суток', '12 суток', '21 сутки', '22 суток', '25 суток', '30 суток',
  ]);
});

t.test('the slips PDF prints every unused token twice with real Cyrillic text, and nothing else', async (t) => {
  const { svc, clock } = await testEnv(t);
  const app = await appFor(t, svc);
  const c = await makeContract(svc);
  const other = await makeContract(svc);
  const cafe = await makeNetwork(svc, c.id);
  await svc.db.query(`update networks set name = 'Кафе «Калитка»' where id = $1::uuid`, [cafe.id]);
  clock.advance(1000); // networks are printed in the order they were made
  const lobby = await makeNetwork(svc, c.id);
  const operator = await makeUser(svc, c.id);

  const day = await makeTokens(svc, c.id, { count: 3, durationDays: 1 });
  const fiveDays = await makeToken(svc, c.id, { durationDays: 5 });
  const multi = await makeToken(svc, c.id, { multiUse: true, durationDays: null });
  const issued = await makeToken(svc, c.id, { durationDays: 21 });
  await setIssuedTo(svc, operatorOf(c.id), { tokenId: issued.id, issuedTo: 'Петров П. П., паспорт 4510 123456' });
  const annulled = await makeToken(svc, c.id);
  await annulToken(svc, operatorOf(c.id), { tokenId: annulled.id, now: clock.now() });
  const used = await makeToken(svc, c.id);
  await activateToken(svc, { networkId: cafe.id, mac: mac(), code: used.code, now: clock.now() });
  // The multi-use code now has an active copy beside its unused one: still printed once (two copies).
  await activateToken(svc, { networkId: cafe.id, mac: mac(), code: multi.code, now: clock.now() });
  const foreign = await makeToken(svc, other.id);

  const res = await call(app, operator.token, 'GET', `/api/v1/contracts/${c.id}/tokens.pdf`);
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-type'], 'application/pdf');
  t.equal(res.headers['content-disposition'], 'attachment; filename="tokens-2026-11-23.pdf"');
  t.equal(res.headers['cache-control'], 'no-store');
  t.equal(res.rawPayload.subarray(0, 5).toString(), '%PDF-');
  const text = pdfText(res.rawPayload, 'slips');

  for (const tok of [...day, fiveDays, multi, issued]) {
    t.equal(occurrences(text, groupCode(tok.code)), 2, `${tok.code} on the guest's and the operator's copy`);
  }
  for (const tok of [annulled, used, foreign]) {
    t.equal(occurrences(text, groupCode(tok.code)), 0, `${tok.code} is not printed`);
    t.notOk(text.includes(tok.code), 'not even ungrouped');
  }
  for (const phrase of [
    'Как подключиться:',
    '1. Подключитесь к сети Wi-Fi.',
    '2. Откройте любую страницу в браузере.',
    '3. Введите код на странице авторизации.',
    'How to connect:',
    '3. Enter the code on the sign-in page.',
    'Корешок оператора / Operator’s copy',
  ]) {
    t.equal(occurrences(text, phrase), 6, `"${phrase}" on each of the 6 slips`);
  }
  t.equal(occurrences(text, `Сеть Wi-Fi / Network: Кафе «Калитка», ${lobby.name}`), 6);
  t.equal(occurrences(text, 'Дата генерации / Generated: 23.11.2026'), 6);
  t.equal(occurrences(text, 'Кому выдан / Issued to:'), 6);
  t.equal(occurrences(text, 'Паспортные данные / Passport:'), 6);
  t.equal(occurrences(text, 'Петров П. П., паспорт 4510 123456'), 1, 'issuedTo is prefilled on its slip');
  t.equal(occurrences(text, 'Срок: 1 сутки / Term: 1 day'), 3);
  t.equal(occurrences(text, 'Срок: 5 суток / Term: 5 days'), 1);
  t.equal(occurrences(text, 'Срок: 21 сутки / Term: 21 days'), 1);
  t.equal(occurrences(text, 'Срок: бессрочный / Term: unlimited'), 1);
  t.equal(occurrences(text, 'Многоразовый: на любом числе устройств'), 1);
  t.equal(occurrences(text, 'Одноразовый: на одном устройстве'), 5);

  // A picture of page 1 for a person to check the layout.
  execFileSync('pdftoppm', ['-png', '-r', '60', '-f', '1', '-l', '1', path.join(artifacts, `slips-${setupName}.pdf`), path.join(artifacts, `slips-${setupName}`)]);
});

// Six to a page since each slip keeps 5 mm clear of its cut lines and carries a QR code (eight before).
t.test('200 slips fill A4 pages, 6 to a page, every code twice', async (t) => {
  const { svc } = await testEnv(t);
  const app = await appFor(t, svc);
  const c = await makeContract(svc);
  await makeNetwork(svc, c.id);
  const admin = await makeUser(svc, null);
  const tokens = await makeTokens(svc, c.id, { count: 200, durationDays: 3 });
  const started = performance.now();
  const res = await call(app, admin.token, 'GET', `/api/v1/contracts/${c.id}/tokens.pdf`);
  t.comment(`200 slips: ${Math.round(performance.now() - started)} ms for the request, ${res.rawPayload.length} bytes`);
  t.equal(res.statusCode, 200);
  t.equal(pageCount(res.rawPayload, 'slips-200'), 34);
  const text = pdfText(res.rawPayload, 'slips-200');
  t.equal(tokens.filter((tok) => occurrences(text, groupCode(tok.code)) === 2).length, 200);
});

t.test('a contract without unused tokens gets a one-page PDF that says so', async (t) => {
  const { svc } = await testEnv(t);
  const app = await appFor(t, svc);
  const c = await makeContract(svc);
  const operator = await makeUser(svc, c.id);
  const res = await call(app, operator.token, 'GET', `/api/v1/contracts/${c.id}/tokens.pdf`);
  t.equal(res.statusCode, 200);
  t.equal(pageCount(res.rawPayload, 'slips-empty'), 1);
  t.match(pdfText(res.rawPayload, 'slips-empty'), 'Нет неиспользованных токенов / No unused tokens');
});

t.test("another contract's slips are a 404; malformed ids a 400; no token a 401", async (t) => {
  const { svc } = await testEnv(t);
  const app = await appFor(t, svc);
  const mine = await makeContract(svc);
  const theirs = await makeContract(svc);
  await makeTokens(svc, theirs.id, { count: 2 });
  const operator = await makeUser(svc, mine.id);
  const foreign = await call(app, operator.token, 'GET', `/api/v1/contracts/${theirs.id}/tokens.pdf`);
  t.equal(foreign.statusCode, 404);
  t.same(foreign.json(), { error: { code: 'NOT_FOUND', message: 'Contract not found' } });
  const unknown = await call(app, operator.token, 'GET', '/api/v1/contracts/00000000-0000-4000-8000-000000000000/tokens.pdf');
  t.equal(unknown.statusCode, 404);
  t.equal((await call(app, operator.token, 'GET', '/api/v1/contracts/nope/tokens.pdf')).statusCode, 400);
  t.equal((await app.inject({ method: 'GET', url: `/api/v1/contracts/${mine.id}/tokens.pdf` })).statusCode, 401);
});

