import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { activateToken } from '../../src/domain/activation.js';
import { groupCode } from '../../src/domain/code.js';
import { identificationLog } from '../../src/domain/identificationLog.js';
import { startIdentification } from '../../src/domain/identifications.js';
import { pruneLog } from '../../src/domain/sweep.js';
import { buildApp } from '../../src/http/app.js';
import type { Queryable } from '../../src/store/db.js';
import { mac, makeContract, makeNetwork, makeToken, makeUser } from '../helpers/factories.js';
import { testEnv } from '../helpers/services.js';

const HOUR = 3_600_000;
const HEADER = 'id,contract,network,mac,method,code,issuedTo,startedAt,endedAt,endReason,timeZone,networkId,tokenId,phone,provider,providerReference\r\n';

/**
 * Contract A: device 1 on network 1 from 10:00 (1-day token) until 12:00, when it identified in
 * contract B; device 2 on network 2 from 11:00 with an unlimited multi-use code, still on.
 * Also an identification from October, over long before the default 30 days.
 */
async function arrange(t: Test) {
  // Times in UTC here (no contract has a zone of its own); the CSV test below has one in Moscow.
  const { svc, clock } = await testEnv(t, { KALITKA_TIME_ZONE: 'UTC' });
  const a = await makeContract(svc);
  const b = await makeContract(svc);
  const [n1, n2, m] = [await makeNetwork(svc, a.id), await makeNetwork(svc, a.id), await makeNetwork(svc, b.id)];
  const [d1, d2, old] = [mac(), mac(), mac()];

  clock.set('2026-10-01T08:00:00.000Z');
  const oldTok = await makeToken(svc, a.id, { durationDays: 1 });
  const octo = await activateToken(svc, { networkId: n1.id, mac: old, code: oldTok.code, now: clock.now() });

  clock.set('2026-11-23T10:00:00.000Z');
  const tok1 = await makeToken(svc, a.id, { durationDays: 1 });
  const first = await activateToken(svc, { networkId: n1.id, mac: d1, code: tok1.code, now: clock.now() });
  clock.advance(HOUR);
  const tok2 = await makeToken(svc, a.id, { durationDays: null, multiUse: true });
  const second = await activateToken(svc, { networkId: n2.id, mac: d2, code: tok2.code, now: clock.now() });
  clock.advance(HOUR);
  const tokB = await makeToken(svc, b.id, { durationDays: 1 });
  const elsewhere = await activateToken(svc, { networkId: m.id, mac: d1, code: tokB.code, now: clock.now() });

  const operator = await makeUser(svc, a.id);
  const app = await buildApp(svc);
  t.teardown(() => app.close());
  const get = (query: string, headers: Record<string, string> = {}, auth = operator.auth) =>
    app.inject({ method: 'GET', url: `/api/v1/contracts/${a.id}/identifications${query}`, headers: { ...auth, ...headers } });

  const row1 = {
    id: first.identification.id,
    contractId: a.id,
    mac: d1,
    networkId: n1.id,
    tokenId: tok1.id,
    code: tok1.code,
    issuedTo: null as string | null,
    method: 'token',
    startedAt: '2026-11-23T10:00:00.000Z',
    endedAt: '2026-11-23T12:00:00.000Z',
    endReason: 'identified_elsewhere',
  };
  const row2 = {
    id: second.identification.id,
    contractId: a.id,
    mac: d2,
    networkId: n2.id,
    tokenId: second.token.id,
    code: tok2.code,
    issuedTo: null as string | null,
    method: 'token',
    startedAt: '2026-11-23T11:00:00.000Z',
    endedAt: null,
    endReason: null,
  };
  const oldRow = {
    id: octo.identification.id,
    contractId: a.id,
    mac: old,
    networkId: n1.id,
    tokenId: oldTok.id,
    code: oldTok.code,
    issuedTo: null as string | null,
    method: 'token',
    startedAt: '2026-10-01T08:00:00.000Z',
    endedAt: null,
    endReason: null,
  };
  return { svc, clock, a, b, n1, n2, get, row1, row2, oldRow, elsewhere, app, operator };
}

t.test('the log of the last 30 days, as JSON, by default', async (t) => {
  const { get, row1, row2 } = await arrange(t);
  t.not(row2.tokenId, null);
  const res = await get('');
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^application\/json/);
  t.same(JSON.parse(res.body), { identifications: [row1, row2] }, "October's identification, another contract's one left out");
  const empty = await get('?from=&to=');
  t.equal(empty.statusCode, 200, 'empty from and to are the default period');
  t.same(JSON.parse(empty.body), { identifications: [row1, row2] });
});

t.test('the same log as CSV with Accept: text/csv, as an attachment', async (t) => {
  const { get, row1, row2, ...rest } = await arrange(t);
  const res = await get('', { accept: 'text/csv' });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-type'], 'text/csv; charset=utf-8');
  t.equal(res.headers['content-disposition'], 'attachment; filename="identifications-2026-10-24-2026-11-23.csv"');
  const { a, n1, n2 } = rest;
  t.equal(
    res.body,
    HEADER +
      `${row1.id},${a.name},${n1.name},${row1.mac},token,${groupCode(row1.code)},,2026-11-23T10:00:00+00:00,2026-11-23T12:00:00+00:00,identified_elsewhere,UTC,${row1.networkId},${row1.tokenId},,,\r\n` +
      `${row2.id},${a.name},${n2.name},${row2.mac},token,${groupCode(row2.code)},,2026-11-23T11:00:00+00:00,,,UTC,${row2.networkId},${row2.tokenId},,,\r\n`,
  );
});

t.test('a period selects the identifications that overlap it; to is inclusive', async (t) => {
  const { get, row1, row2, oldRow } = await arrange(t);
  const ids = async (query: string) => {
    const res = await get(query);
    t.equal(res.statusCode, 200, query);
    return (JSON.parse(res.body).identifications as { id: number }[]).map((r) => r.id);
  };
  t.same(await ids('?from=2026-11-24&to=2026-11-30'), [row2.id], 'one that ended the day before is out; one still on is in');
  t.same(await ids('?from=2026-11-23T12:00:00Z'), [row2.id], 'ended exactly at from: out; to is now');
  t.same(await ids('?from=2026-11-23T11:59:59.999Z'), [row1.id, row2.id]);
  t.same(await ids('?to=2026-11-23T10:59:59.999Z'), [row1.id], 'started after to: out');
  t.same(await ids('?to=2026-11-23T11:00:00Z'), [row1.id, row2.id], 'started exactly at to: in');
  t.same(await ids('?from=2026-11-23T14:30:00%2B03:00&to=2026-11-23T14:30:00%2B03:00'), [row1.id, row2.id], 'an instant with its zone');
  t.same(await ids('?from=2026-09-01&to=2026-10-01'), [oldRow.id], 'a day as to means through its end');
  t.same(await ids('?from=2026-10-02T08:00:00Z&to=2026-10-31'), [], 'over at its expiry although never swept');
  t.same(await ids('?from=2026-09-01&to=2026-09-30'), []);
  t.same(await ids('?from=2026-09-01&to=2026-12-31'), [oldRow.id, row1.id, row2.id], 'in id order');
});

t.test('a bad period is a 400', async (t) => {
  const { get } = await arrange(t);
  const cases: [string, string][] = [
    ['?from=2026-11-24&to=2026-11-23', 'INVALID_PERIOD'],
    ['?from=2026-11-23T12:00:00Z&to=2026-11-23T11:59:59Z', 'INVALID_PERIOD'],
    ['?from=2026-11-23T12:00:00.001Z', 'INVALID_PERIOD'], // later than now, the default to
    ['?from=2026-02-30', 'INVALID_DATE'],
    ['?to=yesterday', 'INVALID_DATE'],
    ['?from=2026-11-23T10:00:00', 'INVALID_DATE'],
    ['?from=1700000000', 'INVALID_DATE'],
    ['?since=2026-11-01', 'VALIDATION_ERROR'],
  ];
  for (const [query, code] of cases) {
    const res = await get(query);
    t.equal(res.statusCode, 400, query);
    t.equal(res.json().error.code, code, query);
  }
  const same = await get('?from=2026-11-23&to=2026-11-23');
  t.equal(same.statusCode, 200, 'from equal to to is one day');
});

t.test("another contract's log is a 404, and so is an unknown contract", async (t) => {
  const { svc, get, a, b, app } = await arrange(t);
  const stranger = await makeUser(svc, b.id);
  const res = await get('', {}, stranger.auth);
  t.equal(res.statusCode, 404);
  t.same(res.json(), { error: { code: 'NOT_FOUND', message: 'Contract not found' } });
  const csv = await get('', { accept: 'text/csv' }, stranger.auth);
  t.equal(csv.statusCode, 404);
  t.match(csv.headers['content-type'], /^application\/json/);
  const actor = { userId: stranger.user.id, login: stranger.user.login, contractId: b.id, isSystem: false, tokenId: null, role: 'operator' as const };
  await t.rejects(identificationLog(svc, actor, { contractId: a.id, now: svc.now() }), { status: 404, code: 'NOT_FOUND', message: 'Contract not found' }, 'the use case itself refuses, without HTTP');

  const admin = await makeUser(svc, null);
  t.equal((await get('', {}, admin.auth)).statusCode, 200, 'a system administrator sees any contract');
  const unknown = await app.inject({
    method: 'GET',
    url: '/api/v1/contracts/00000000-0000-4000-8000-000000000000/identifications',
    headers: admin.auth,
  });
  t.equal(unknown.statusCode, 404);
  t.equal((await get('', {}, { authorization: '' })).statusCode, 401);
});

t.test('CSV fields with commas, quotes and line breaks are quoted as RFC 4180 says', async (t) => {
  const { svc, a, n1, get } = await arrange(t);
  await svc.db.query(`update contracts set name = 'Кафе "Калитка", Москва' where id = $1::uuid`, [a.id]);
  const odd = await startIdentification(svc.db, {
    mac: 'AA:BB:CC:00:00:01',
    network_id: n1.id,
    contract_id: a.id,
    token_id: null,
    code: null,
    method: 'import "legacy", v1\r\nline 2',
    started_at: new Date('2026-11-23T13:00:00.000Z'),
    expires_at: null,
  });
  const res = await get('?from=2026-11-23T12:30:00Z&to=2026-11-23T13:00:00Z', { accept: 'text/csv' });
  const lines = res.body.split('\r\n');
  t.equal(lines[0] + '\r\n', HEADER);
  t.equal(
    res.body.slice(res.body.indexOf(`\r\n${odd.id},`) + 2), // its own line, not an id-like run inside a code
    `${odd.id},"Кафе ""Калитка"", Москва",${n1.name},AA:BB:CC:00:00:01,"import ""legacy"", v1\r\nline 2",,,2026-11-23T13:00:00+00:00,,,UTC,${n1.id},,,,\r\n`,
  );
});

t.test('the export reads Postgres a page at a time, in id order, and ends after a short page', async (t) => {
  const { svc, a, n1 } = await arrange(t);
  const extra = [];
  for (let i = 0; i < 2; i++) {
    extra.push(
      await startIdentification(svc.db, {
        mac: mac(),
        network_id: n1.id,
        contract_id: a.id,
        token_id: null,
        code: null,
        method: 'test',
        started_at: new Date('2026-11-23T15:00:00.000Z'),
        expires_at: null,
      }),
    );
  }
  let queries = 0;
  const counting: Queryable = {
    query: (sql, params) => {
      if (/from identifications/.test(sql)) queries++; // the log's pages, not the contract's lookup
      return svc.db.query(sql, params);
    },
    exec: (sql) => svc.db.exec(sql),
  };
  const admin = { userId: '00000000-0000-4000-8000-000000000001', login: 'admin', contractId: null, isSystem: true, tokenId: null, role: 'operator' as const };
  const { pages } = await identificationLog({ db: counting, config: svc.config }, admin, {
    contractId: a.id,
    from: '2026-01-01',
    to: '2026-12-31',
    now: svc.now(),
    pageSize: 2,
  });
  t.equal(queries, 1, 'one query for the first page, nothing read ahead');
  const firstPage = await pages.next();
  t.equal(queries, 1, 'the first page was read before the stream began');
  t.equal((firstPage.value as unknown[]).length, 2);
  const sizes = [(firstPage.value as unknown[]).length];
  const ids = (firstPage.value as { id: number }[]).map((r) => r.id);
  for await (const page of pages) {
    sizes.push(page.length);
    ids.push(...page.map((r) => r.id));
  }
  t.same(sizes, [2, 2, 1], 'five rows in pages of two');
  t.equal(queries, 3, 'the short page ends it without another query');
  t.same(ids, [...ids].sort((x, y) => x - y));
  t.equal(ids[ids.length - 1], extra[1].id);
});

t.test('a long export streams every row once, across many pages', async (t) => {
  const { svc, a, n1, get } = await arrange(t);
  await svc.db.query(
    `insert into identifications (mac, network_id, contract_id, method, started_at, ended_at, end_reason)
     select 'AA:BB:CC:DD:EE:FF', $1::uuid, $2::uuid, 'bulk',
            timestamptz '2026-11-20T00:00:00Z' + g * interval '1 second',
            timestamptz '2026-11-20T00:00:00Z' + g * interval '1 second' + interval '1 hour', 'expired'
       from generate_series(1, 2345) g`,
    [n1.id, a.id],
  );
  const res = await get('?from=2026-11-19', { accept: 'text/csv' });
  t.equal(res.statusCode, 200);
  const lines = res.body.split('\r\n');
  t.equal(lines.pop(), '', 'the last line ends in CRLF too');
  t.equal(lines.length, 1 + 2345 + 2, 'header, the bulk rows and the two of November 23');
  const ids = lines.slice(1).map((l) => Number(l.split(',')[0]));
  t.equal(new Set(ids).size, ids.length, 'no row twice');
  t.same(ids, [...ids].sort((x, y) => x - y), 'in id order');
});

t.test('a store that fails before the first page gives 503; one that fails midway cuts the stream short', async (t) => {
  const { svc, a, n1, get } = await arrange(t);
  await svc.db.query(
    `insert into identifications (mac, network_id, contract_id, method, started_at, ended_at, end_reason)
     select 'AA:BB:CC:DD:EE:FF', $1::uuid, $2::uuid, 'bulk', timestamptz '2026-11-20T00:00:00Z', timestamptz '2026-11-20T01:00:00Z', 'expired'
       from generate_series(1, 1500) g`,
    [n1.id, a.id],
  );
  const query = svc.db.query;
  let failFrom = 1;
  let pageQueries = 0;
  svc.db.query = ((sql: string, params?: unknown[]) => {
    if (/from identifications/.test(sql) && ++pageQueries >= failFrom) {
      return Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
    }
    return query.call(svc.db, sql, params);
  }) as typeof query;
  t.teardown(() => {
    svc.db.query = query;
  });

  for (const accept of ['application/json', 'text/csv']) {
    pageQueries = 0;
    const res = await get('', { accept });
    t.equal(res.statusCode, 503, accept);
    t.same(res.json(), { error: { code: 'STORE_UNAVAILABLE', message: 'The database is unavailable; try again shortly' } });
  }

  failFrom = 2;
  for (const accept of ['application/json', 'text/csv']) {
    pageQueries = 0;
    // The status line went out with the first page; what is left is to end the connection unfinished.
    const res = await get('', { accept }).then(
      () => null,
      (err: Error) => err.message,
    );
    t.equal(res, 'response destroyed before completion', accept);
  }
});

/** The CSV as Python's csv module reads it (strict RFC 4180 quoting, plain UTF-8: no BOM glued to `id`), row by row. */
function readBackWithPython(csv: Buffer): string[][] {
  const dir = path.resolve(import.meta.dirname, '../../test-artifacts');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `identifications-${process.pid}.csv`);
  writeFileSync(file, csv);
  const script = [
    'import csv, json, sys',
    "with open(sys.argv[1], newline='', encoding='utf-8') as f:",
    '    print(json.dumps(list(csv.reader(f, strict=True))))',
  ].join('\n');
  const run = spawnSync('python3', ['-c', script, file], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`python3: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

t.test("Python's csv module reads the CSV back cell for cell: names, issuedTo, the printed code, times in the contract's zone", async (t) => {
  const { svc, a, n1, n2, get, row1, row2 } = await arrange(t);
  await svc.db.query(`update contracts set name = '-Кафе, «Калитка»', time_zone = 'Europe/Moscow' where id = $1::uuid`, [a.id]);
  await svc.db.query(`update networks set name = 'Лобби, 1-й этаж "Север"' where id = $1::uuid`, [n1.id]);
  await svc.db.query(`update networks set name = '=cmd|"/c calc"!A1' where id = $1::uuid`, [n2.id]);
  await svc.db.query(`update tokens set issued_to = '+7 999 123-45-67 Иванов И. И.' where id = $1::uuid`, [row1.tokenId]);
  await svc.db.query(`update tokens set issued_to = '@SUM(1+1)' where id = $1::uuid`, [row2.tokenId]);

  const res = await get('', { accept: 'text/csv' });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-disposition'], 'attachment; filename="identifications-2026-10-24-2026-11-23.csv"');
  t.same(readBackWithPython(res.rawPayload), [
    ['id', 'contract', 'network', 'mac', 'method', 'code', 'issuedTo', 'startedAt', 'endedAt', 'endReason', 'timeZone', 'networkId', 'tokenId', 'phone', 'provider', 'providerReference'],
    [
      String(row1.id), "'-Кафе, «Калитка»", 'Лобби, 1-й этаж "Север"', row1.mac, 'token', groupCode(row1.code), "'+7 999 123-45-67 Иванов И. И.",
      '2026-11-23T13:00:00+03:00', '2026-11-23T15:00:00+03:00', 'identified_elsewhere', 'Europe/Moscow', n1.id, row1.tokenId, '', '', '',
    ],
    [
      String(row2.id), "'-Кафе, «Калитка»", `'=cmd|"/c calc"!A1`, row2.mac, 'token', groupCode(row2.code), "'@SUM(1+1)",
      '2026-11-23T14:00:00+03:00', '', '', 'Europe/Moscow', n2.id, row2.tokenId!, '', '', '',
    ],
  ]);
  t.match(groupCode(row1.code), /^\d{4} \d{4} \d{4}$/, 'the code as printed on the slip, which spreadsheets keep as text');

  // A day in the period is the contract's day: at Kiritimati (UTC+14:00) 10:00 UTC on the 23rd is
  // midnight starting the 24th, so its 23rd holds neither identification and its 24th holds both.
  await svc.db.query(`update contracts set time_zone = 'Pacific/Kiritimati' where id = $1::uuid`, [a.id]);
  const ids = async (query: string) => (JSON.parse((await get(query)).body).identifications as { id: number }[]).map((r) => r.id);
  t.same(await ids('?from=2026-11-23&to=2026-11-23'), [], 'started exactly as that day ended');
  t.same(await ids('?from=2026-11-24&to=2026-11-24'), [row1.id, row2.id]);
  // A zone west of UTC writes a negative offset.
  await svc.db.query(`update contracts set time_zone = 'America/Sao_Paulo' where id = $1::uuid`, [a.id]);
  const rows = readBackWithPython((await get('?from=2026-11-23', { accept: 'text/csv' })).rawPayload);
  t.same(rows.slice(1).map((r) => [r[7], r[8]]), [
    ['2026-11-23T07:00:00-03:00', '2026-11-23T09:00:00-03:00'],
    ['2026-11-23T08:00:00-03:00', ''],
  ]);
});

t.test('to whom a slip was issued stays in the log after its token is deleted, until retention takes the rows', async (t) => {
  const { svc, clock, a, get, row1, row2, app, operator } = await arrange(t);
  const call = (method: 'PATCH' | 'DELETE', url: string, payload?: unknown) => app.inject({ method, url, headers: operator.auth, payload: payload as object });
  t.equal((await call('PATCH', `/api/v1/tokens/${row1.tokenId}`, { issuedTo: 'Иванов И. И., паспорт 4510 123456' })).statusCode, 200);
  t.equal((await call('PATCH', `/api/v1/tokens/${row2.tokenId}`, { issuedTo: 'Room 12' })).statusCode, 200);
  t.equal((await call('DELETE', `/api/v1/tokens/${row1.tokenId}`)).statusCode, 204, 'an ended copy deleted');
  t.equal((await call('DELETE', `/api/v1/tokens/${row2.tokenId}`)).statusCode, 204, 'a live copy deleted (its identification ends first)');
  t.equal((await app.inject({ method: 'GET', url: `/api/v1/contracts/${a.id}/tokens`, headers: operator.auth })).json().tokens.some((x: { id: string }) => x.id === row1.tokenId), false, 'gone from the lists');

  const rows = JSON.parse((await get('')).body).identifications as Array<{ id: number; issuedTo: string | null; endReason: string | null }>;
  t.same(rows.map((r) => [r.id, r.issuedTo, r.endReason]), [
    [row1.id, 'Иванов И. И., паспорт 4510 123456', 'identified_elsewhere'],
    [row2.id, 'Room 12', 'deleted'],
  ]);
  const csv = readBackWithPython((await get('', { accept: 'text/csv' })).rawPayload);
  t.same(csv.slice(1).map((r) => r[6]), ['Иванов И. И., паспорт 4510 123456', 'Room 12'], 'the CSV too');

  // Retention: the rows go 183 days after they ended, and the notes with them.
  const notes = async () => Number((await svc.db.query<{ n: string }>(`select count(*)::int as n from deleted_token_notes where contract_id = $1::uuid`, [a.id])).rows[0].n);
  t.equal(await notes(), 2);
  const unused = await makeToken(svc, a.id);
  t.equal((await call('PATCH', `/api/v1/tokens/${unused.id}`, { issuedTo: 'Петров, паспорт 4511 654321' })).statusCode, 200);
  t.equal((await call('DELETE', `/api/v1/tokens/${unused.id}`)).statusCode, 204);
  t.equal(await notes(), 2, 'a slip never used keeps nothing of whom it was issued to once deleted');
  clock.advance(100 * 24 * 3600_000);
  await pruneLog(svc, { now: clock.now(), retentionDays: 183 });
  t.equal(await notes(), 2, 'kept while the rows are kept');
  clock.advance(90 * 24 * 3600_000);
  await pruneLog(svc, { now: clock.now(), retentionDays: 183 });
  t.equal(await notes(), 0, 'gone with the rows');
});
