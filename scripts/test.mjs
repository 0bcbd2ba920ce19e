#!/usr/bin/env node
// Runs the whole suite twice: on the embedded defaults (PGlite + in-process cache) and on real
// PostgreSQL + Redis (DATABASE_URL / REDIS_URL, defaulting to the local servers). Extra arguments
// go to tap (e.g. a test file). `node scripts/test.mjs embedded|servers [files]` runs one setup.
// With no arguments, the files that never read the setup run once, in the embedded run.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, existsSync, rmSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const args = process.argv.slice(2);
const only = ['embedded', 'servers'].includes(args[0]) ? args.shift() : null;

const setups = {
  embedded: { DATABASE_URL: '', REDIS_URL: '' },
  servers: {
    DATABASE_URL: process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test',
    REDIS_URL: process.env.REDIS_URL || 'redis://127.0.0.1:6379',
  },
};

/**
 * Files that behave the same in both setups, so a second run would repeat them: unit tests use no
 * store, the process-level tests give their servers an environment of their own (the embedded
 * store, or the local servers in both runs), and the logging test opens an in-memory store itself.
 * A file that starts using testEnv leaves this list.
 */
const ONE_SETUP = [
  'test/unit/',
  'test/e2e/cli.test.ts',
  'test/e2e/cli-commands.test.ts',
  'test/e2e/cli-bootstrap.test.ts',
  'test/e2e/cli-password.test.ts',
  'test/e2e/data-dir-lock.test.ts',
  'test/e2e/faketime.test.ts',
  'test/e2e/panel-process.test.ts',
  'test/faults/revoke-across-processes.test.ts',
  'test/faults/shutdown.test.ts',
  'test/integration/logging.test.ts',
];
const testFiles = () =>
  readdirSync(path.join(root, 'test'), { recursive: true })
    .map((f) => `test/${String(f)}`)
    .filter((f) => f.endsWith('.test.ts'))
    .sort();

// The CLI and process-level tests run the built dist/, so build first.
const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

/** Counts top-level test points in tap's saved results for one run. */
function countResults(dir) {
  let passed = 0;
  let failed = 0;
  if (!existsSync(dir)) return { passed, failed };
  for (const file of readdirSync(dir, { recursive: true })) {
    if (!String(file).endsWith('.tap')) continue;
    for (const line of readFileSync(path.join(dir, String(file)), 'utf8').split('\n')) {
      if (/^ok \d+/.test(line)) passed++;
      else if (/^not ok \d+/.test(line)) failed++;
    }
  }
  return { passed, failed };
}

/**
 * Runs one setup's tap. The two setups use different stores (each test makes its own schema and
 * Redis prefix), so they run at the same time: most files spend much of their time waiting
 * (browsers, servers, timers), and one run fills the other's gaps and its tail. Each run saves its
 * results in a directory of its own (.tap/results-NAME); tap's shared .tap/test-results is removed.
 * The first run prints as it goes; the other's output is kept and printed after it.
 */
function runSetup(name, { live, onStarted }) {
  const env = setups[name];
  const resultsDir = path.join(root, '.tap', `results-${name}`);
  rmSync(resultsDir, { recursive: true, force: true });
  const files = name === 'servers' && args.length === 0 ? testFiles().filter((f) => !ONE_SETUP.some((p) => f.startsWith(p))) : [];
  const child = spawn('npx', ['tap', `--output-dir=${resultsDir}`, ...args, ...files], {
    cwd: root,
    stdio: live ? 'inherit' : ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let output = '';
  if (!live) {
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
  }
  // tap rebuilds its plugins and clears .tap/processinfo before its first test: the other run starts after that.
  if (onStarted) {
    const started = setInterval(() => {
      if (existsSync(resultsDir) || child.exitCode !== null) {
        clearInterval(started);
        onStarted();
      }
    }, 200);
  }
  return new Promise((resolve) => {
    child.on('close', (code) => {
      const counts = countResults(resultsDir);
      // A file that fails before any test point (an import error) leaves no 'not ok' line to count.
      if (code !== 0 && counts.failed === 0) counts.failed = 1;
      resolve({ name, env, code: code ?? 1, output, counts });
    });
  });
}

const header = (name) => {
  const env = setups[name];
  return `\n=== ${name}: ${env.DATABASE_URL || 'PGlite'} + ${env.REDIS_URL || 'in-process cache'}\n`;
};

const names = Object.keys(setups).filter((name) => !only || only === name);
rmSync(path.join(root, '.tap', 'test-results'), { recursive: true, force: true });
const [first, ...rest] = names;
process.stdout.write(header(first));
const later = [];
const firstRun = runSetup(first, {
  live: true,
  onStarted: () => rest.forEach((name) => later.push(runSetup(name, { live: false }))),
});
const results = [await firstRun];
process.stdout.write(`${first}: ${results[0].counts.passed} passed, ${results[0].counts.failed} failed\n`);
for (const run of later) {
  const result = await run;
  process.stdout.write(header(result.name) + result.output);
  process.stdout.write(`${result.name}: ${result.counts.passed} passed, ${result.counts.failed} failed\n`);
  results.push(result);
}
if (names.length > 1) rmSync(path.join(root, '.tap', 'test-results'), { recursive: true, force: true });

const passed = results.reduce((n, r) => n + r.counts.passed, 0);
const failed = results.reduce((n, r) => n + r.counts.failed, 0);
const status = results.find((r) => r.code !== 0)?.code ?? 0;
process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exit(status || (failed > 0 ? 1 : 0));
