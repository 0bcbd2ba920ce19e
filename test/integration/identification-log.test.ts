import t, { type Test } from 'tap';
import { activateToken } from '../../src/domain/activation.js';
import { identificationLogPages } from '../../src/domain/identificationLog.js';
import { startIdentification } from '../../src/domain/identifications.js';
import { buildApp } from '../../src/http/app.js';
import type { Queryable } from '../../src/store/db.js';
import { mac, makeContract, makeNetwork, makeToken, makeUser } from '../helpers/factories.js';
import { testEnv } from '../helpers/services.js';

const HOUR = 3_600_000;
const HEADER = 'id,mac,networkId,tokenId,code,method,startedAt,endedAt,endReason\r\n';

/**
 * Contract A: device 1 on network 1 from 10:00 (1-day token) until 12:00, when it identified in
 * contract B; device 2 on network 2 from 11:00 with an unlimited multi-use code, still on.
 * Also an identification from October, over long before the default 30 days.
 */
async function arrange(t: Test) {
  const { svc, clock } = await testEnv(t);
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
    mac: d1,
    networkId: n1.id,
    tokenId: tok1.id,
    code: tok1.code,
    method: 'token',
    startedAt: '2026-11-23T10:00:00.000Z',
    endedAt: '2026-11-23T12:00:00.000Z',
    endReason: 'identified_elsewhere',
  };
  const row2 = {
    id: second.identification.id,
    mac: d2,
    networkId: n2.id,
    tokenId: second.token.id,
    code: tok2.code,
    method: 'token',
    startedAt: '2026-11-23T11:00:00.000Z',
    endedAt: null,
    endReason: null,
  };
  const oldRow = {
    id: octo.identification.id,
    mac: old,
    networkId: n1.id,
    tokenId: oldTok.id,
    code: oldTok.code,
    method: 'token',
    startedAt: '2026-10-01T08:00:00.000Z',
    endedAt: null,
    endReason: null,
  };
  return { svc, clock, a, b, n1, get, row1, row2, oldRow, elsewhere, app };
}

t.test('the log of the last 30 days, as JSON, by default', async (t) => {
  const { get, row1, row2 } = await arrange(t);
  t.not(row2.tokenId, null);
  const res = await get('');
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^application\/json/);
  t.same(JSON.parse(res.body), { identifications: [row1, row2] }, "October's identification, another contract's one left out");
});

t.test('the same log as CSV with Accept: text/csv, as an attachment', async (t) => {
  const { get, row1, row2 } = await arrange(t);
  const res = await get('', { accept: 'text/csv' });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-type'], 'text/csv; charset=utf-8');
  t.equal(res.headers['content-disposition'], 'attachment; filename="identifications-2026-10-24-2026-11-23.csv"');
  t.equal(
    res.body,
    HEADER +
      `${row1.id},${row1.mac},${row1.networkId},${row1.tokenId},${row1.code},token,2026-11-23T10:00:00.000Z,2026-11-23T12:00:00.000Z,identified_elsewhere\r\n` +
      `${row2.id},${row2.mac},${row2.networkId},${row2.tokenId},${row2.code},token,2026-11-23T11:00:00.000Z,,\r\n`,
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
  const { svc, get, b, app } = await arrange(t);
  const stranger = await makeUser(svc, b.id);
  const res = await get('', {}, stranger.auth);
  t.equal(res.statusCode, 404);
  t.same(res.json(), { error: { code: 'NOT_FOUND', message: 'Contract not found' } });
  const csv = await get('', { accept: 'text/csv' }, stranger.auth);
  t.equal(csv.statusCode, 404);
  t.match(csv.headers['content-type'], /^application\/json/);

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
    `${odd.id},AA:BB:CC:00:00:01,${n1.id},,,"import ""legacy"", v1\r\nline 2",2026-11-23T13:00:00.000Z,,\r\n`,
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
      queries++;
      return svc.db.query(sql, params);
    },
    exec: (sql) => svc.db.exec(sql),
  };
  const pages = identificationLogPages(counting, {
    contractId: a.id,
    from: new Date('2026-01-01T00:00:00Z'),
    until: new Date('2027-01-01T00:00:00Z'),
    pageSize: 2,
  });
  const firstPage = await pages.next();
  t.equal(queries, 1, 'one query for the first page, nothing read ahead');
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
