#!/usr/bin/env node
// Kalitka's benchmark: autocannon against real processes on loopback (real PostgreSQL and Redis),
// each Kalitka path measured beside its bare baseline in the same run, alternating rounds so that
// machine drift cancels out. Prints a table; `--json FILE` also writes
// {"results":[{"name","rps","p99Ms","baseline","baselineRps","ratio"}]} (DESIGN §7), with the
// CPU the serving Node process spent per request beside it (`cpuUs`, `baselineCpuUs`; from /proc),
// which moves much less than throughput when other work shares the machine (PostgreSQL and Redis
// are not counted: they serve other work too).
//
//   npm run bench -- [--duration 5] [--rounds 3] [--connections 50] [--json results.json] [--only session-poll,activation]
//                    [--profile DIR]   (V8 CPU profiles of the processes under test, for scripts/profile-summary.mjs)
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { cpuSeconds, cpuUsed, freshDatabase, mean, stopAll, table } from './bench-lib.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { values: opts } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    json: { type: 'string' },
    only: { type: 'string' },
    profile: { type: 'string' },
  },
});
const DURATION = Number(opts.duration);
const ROUNDS = Number(opts.rounds);
const CONNECTIONS = Number(opts.connections);
const only = opts.only ? new Set(opts.only.split(',')) : null;

const PG_ADMIN = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ADMIN_TOKEN = 'bench_admin_token_' + randomBytes(12).toString('hex');
const SECRET = 'bench-secret-' + randomBytes(16).toString('hex');
const children = [];

const { signContext } = await import(path.join(root, 'dist/http/portal/context.js'));
const { luhnDigit } = await import(path.join(root, 'dist/domain/code.js'));

function start(name, script, args, env) {
  // --profile DIR: every process under test writes a V8 CPU profile there when it exits.
  const nodeArgs = opts.profile ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(opts.profile)] : [];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, script, ...args], { cwd: root, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    const onData = (d) => {
      out += d;
      const m = /(?:listening at|serving .* at) (http:\/\/[\d.:]+)/.exec(out);
      if (m) resolve({ child, base: m[1] });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${name} exited with ${code}:\n${out}`)));
  });
}

async function api(base, method, url, body) {
  const res = await fetch(base + url, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
  return res.status === 204 ? null : res.json();
}

const macOf = (n) => n.toString(16).padStart(12, '0').toUpperCase().match(/../g).join(':');
const form = (code, ctx) => new URLSearchParams({ token: code, ctx }).toString();

/** A contract with a generic network; returns ids. */
async function site(base, name) {
  const contract = await api(base, 'POST', '/api/v1/contracts', { name });
  const network = await api(base, 'POST', `/api/v1/contracts/${contract.id}/networks`, { name: `${name} Wi-Fi`, controller: 'generic' });
  return { contract, network };
}

/** Enough unused single-use codes (200 per contract) with a signed context for a distinct device each. */
async function activationBodies(base, count, macStart) {
  const bodies = [];
  for (let c = 0; bodies.length < count; c++) {
    const { contract, network } = await site(base, `Bench ${macStart}-${c}`);
    const { tokens } = await api(base, 'POST', `/api/v1/contracts/${contract.id}/tokens`, { count: 200, multiUse: false, durationDays: 1 });
    for (const t of tokens) {
      const mac = macOf(macStart + bodies.length);
      const ctx = signContext(Buffer.from(SECRET), network.id, { mac, originalUrl: null, clientIp: null, params: {} }, new Date());
      bodies.push({ path: `/portal/${network.id}/activate`, body: form(t.code, ctx) });
    }
  }
  return bodies;
}

async function setupKalitka(base, macStart, withActivation) {
  const { contract, network } = await site(base, `Bench ${macStart}`);
  const [tok] = (await api(base, 'POST', `/api/v1/contracts/${contract.id}/tokens`, { count: 1, multiUse: false, durationDays: null })).tokens;
  const polledMac = macOf(macStart - 1);
  const ctx = signContext(Buffer.from(SECRET), network.id, { mac: polledMac, originalUrl: null, clientIp: null, params: {} }, new Date());
  const activated = await fetch(`${base}/portal/${network.id}/activate`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form(tok.code, ctx) });
  if (activated.status !== 200) throw new Error(`activation for the polled device failed: ${activated.status}`);
  const payload = '90000000000';
  const unknown = payload + luhnDigit(payload);
  const mistyped = payload + ((luhnDigit(payload) + 1) % 10);
  const strangerCtx = signContext(Buffer.from(SECRET), network.id, { mac: macOf(macStart - 2), originalUrl: null, clientIp: null, params: {} }, new Date());
  const needed = withActivation ? Math.ceil(ROUNDS * DURATION * 2500) : 0;
  return {
    network,
    polledMac,
    rejectBody: form(unknown, strangerCtx),
    mistypedBody: form(mistyped, strangerCtx),
    activations: withActivation ? await activationBodies(base, needed, macStart + 1) : [],
  };
}

/** One autocannon run, and the CPU µs per request the process with `pid` spent meanwhile. */
async function measured(pid, go) {
  const before = cpuSeconds([pid]);
  const result = await go();
  return { ...result, cpuUs: (cpuUsed(before, cpuSeconds([pid])) * 1e6) / Math.max(1, result.total) };
}

function run(target) {
  return new Promise((resolve, reject) => {
    autocannon({ connections: CONNECTIONS, duration: DURATION, ...target }, (err, result) => {
      if (err) return reject(err);
      const bad = result.non2xx + result.errors + result.timeouts;
      if (bad > 0) return reject(new Error(`${target.title}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`));
      resolve({ reqPerSec: result.requests.average, p99Ms: result.latency.p99, total: result.requests.total });
    });
  });
}

async function main() {
  process.stdout.write(`building…\n`);
  const build = spawn('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  await new Promise((r) => build.on('exit', r));

  const dbUrl = await freshDatabase(PG_ADMIN, 'kalitka_bench');
  const common = { KALITKA_ADMIN_TOKEN: ADMIN_TOKEN, KALITKA_SECRET: SECRET, LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: '0',
    PORTAL_MAX_FAILS_PER_DEVICE: '1000000', PORTAL_MAX_FAILS_PER_IP: '1000000' };
  const kalitka = await start('kalitka', 'dist/cli.js', ['serve'], { ...common, DATABASE_URL: dbUrl, REDIS_URL, KALITKA_REDIS_PREFIX: `kalitka-bench:${randomBytes(4).toString('hex')}:`, KALITKA_ROLES: 'portal,admin' });
  const baseline = await start('baseline', 'scripts/bench-baseline.mjs', [], { DATABASE_URL: dbUrl, REDIS_URL });
  const embedded = await start('kalitka-embedded', 'dist/cli.js', ['serve'], { ...common, KALITKA_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'kalitka-bench-')), KALITKA_ROLES: 'portal,admin' });

  process.stdout.write('arranging contracts, networks and tokens…\n');
  const want = (name) => !only || only.has(name);
  const real = await setupKalitka(kalitka.base, 0x100000, want('activation'));
  const emb = await setupKalitka(embedded.base, 0x900000, want('embedded-activation'));

  const activationRequests = (list) => {
    let i = 0;
    return [{ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, setupRequest: (req) => {
      const next = list[i++];
      if (!next) throw new Error('ran out of prepared codes; lower --duration or --rounds');
      return { ...req, path: next.path, body: next.body };
    } }];
  };
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const formHeaders = { 'content-type': 'application/x-www-form-urlencoded' };
  const bare = {
    'bare-redis-get': { url: `${baseline.base}/bare-redis-get` },
    'bare-pg-transaction': { url: `${baseline.base}/bare-pg-transaction`, method: 'POST' },
    'bare-hello': { url: `${baseline.base}/bare-hello` },
  };
  const scenarios = [
    { name: 'session-poll', baseline: 'bare-redis-get', target: { url: `${kalitka.base}/api/v1/networks/${real.network.id}/sessions/${real.polledMac}`, headers: auth } },
    { name: 'token-rejected', baseline: 'bare-redis-get', target: { url: `${kalitka.base}/portal/${real.network.id}/activate`, method: 'POST', headers: formHeaders, body: real.rejectBody }, expect: 403 },
    // The same refusal path without the PostgreSQL lookup: a mistyped check digit (not a target).
    { name: 'token-mistyped', baseline: 'bare-redis-get', target: { url: `${kalitka.base}/portal/${real.network.id}/activate`, method: 'POST', headers: formHeaders, body: real.mistypedBody }, expect: 400 },
    { name: 'activation', baseline: 'bare-pg-transaction', target: { url: kalitka.base, requests: activationRequests(real.activations) } },
    { name: 'portal-page', baseline: 'bare-hello', target: { url: `${kalitka.base}/portal/${real.network.id}?mac=${macOf(0x50000)}&url=http://example.com/` } },
    { name: 'embedded-session-poll', baseline: null, target: { url: `${embedded.base}/api/v1/networks/${emb.network.id}/sessions/${emb.polledMac}`, headers: auth } },
    { name: 'embedded-activation', baseline: null, target: { url: embedded.base, requests: activationRequests(emb.activations) } },
  ].filter((s) => want(s.name));

  const results = [];
  for (const s of scenarios) {
    const target = [];
    const base = [];
    for (let r = 0; r < ROUNDS; r++) {
      if (s.baseline) base.push(await measured(baseline.child.pid, () => run({ title: s.baseline, ...bare[s.baseline] })));
      // A refused code is a 403 (a mistyped one a 400) by contract: those scenarios count every other answer as a failure.
      const pid = (s.name.startsWith('embedded-') ? embedded : kalitka).child.pid;
      target.push(await measured(pid, () => (s.expect ? runExpecting(s.expect, { title: s.name, ...s.target }) : run({ title: s.name, ...s.target }))));
      process.stdout.write(`  ${s.name} round ${r + 1}/${ROUNDS}\n`);
    }
    const reqPerSec = mean(target.map((x) => x.reqPerSec));
    const baselineReqPerSec = s.baseline ? mean(base.map((x) => x.reqPerSec)) : null;
    results.push({
      name: s.name,
      rps: Math.round(reqPerSec),
      p99Ms: Math.max(...target.map((x) => x.p99Ms)),
      baseline: s.baseline,
      baselineRps: baselineReqPerSec === null ? null : Math.round(baselineReqPerSec),
      ratio: baselineReqPerSec === null ? null : Number((reqPerSec / baselineReqPerSec).toFixed(2)),
      cpuUs: Math.round(mean(target.map((x) => x.cpuUs))),
      baselineCpuUs: s.baseline ? Math.round(mean(base.map((x) => x.cpuUs))) : null,
    });
  }
  return results;
}

function runExpecting(status, target) {
  return new Promise((resolve, reject) => {
    let wrong = 0;
    const instance = autocannon({ connections: CONNECTIONS, duration: DURATION, ...target }, (err, result) => {
      if (err) return reject(err);
      if (wrong > 0 || result.errors + result.timeouts > 0) return reject(new Error(`${target.title}: ${wrong} answers other than ${status}`));
      resolve({ reqPerSec: result.requests.average, p99Ms: result.latency.p99, total: result.requests.total });
    });
    instance.on('response', (_client, code) => {
      if (code !== status) wrong++;
    });
  });
}

try {
  const results = await main();
  const rows = [['name', 'req/s', 'p99 ms', 'baseline', 'baseline req/s', 'ratio', 'CPU µs/req', 'baseline CPU µs/req']].concat(
    results.map((r) => [r.name, r.rps, r.p99Ms, r.baseline ?? '—', r.baselineRps ?? '—', r.ratio ?? '—', r.cpuUs, r.baselineCpuUs ?? '—'].map(String)),
  );
  process.stdout.write(`\n${CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${DURATION} s each\n`);
  process.stdout.write(table(rows));
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ results }, null, 2) + '\n');
} finally {
  // Wait for the processes to exit, so that --profile finds their profiles written.
  await stopAll(children);
}
