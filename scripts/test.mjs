#!/usr/bin/env node
// Runs the whole suite twice: on the embedded defaults (PGlite + in-process cache) and on real
// PostgreSQL + Redis (DATABASE_URL / REDIS_URL, defaulting to the local servers). Extra arguments
// go to tap (e.g. a test file). `node scripts/test.mjs embedded|servers [files]` runs one setup.
// With no arguments, the files that never read the setup run once, in the embedded run.
import { spawnSync } from 'node:child_process';
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
  'test/e2e/cli-bootstrap.test.ts',
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
function countResults() {
  const dir = path.join(root, '.tap', 'test-results');
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

let passed = 0;
let failed = 0;
let status = 0;
for (const [name, env] of Object.entries(setups)) {
  if (only && only !== name) continue;
  process.stdout.write(`\n=== ${name}: ${env.DATABASE_URL || 'PGlite'} + ${env.REDIS_URL || 'in-process cache'}\n`);
  rmSync(path.join(root, '.tap', 'test-results'), { recursive: true, force: true });
  const files = name === 'servers' && args.length === 0 ? testFiles().filter((f) => !ONE_SETUP.some((p) => f.startsWith(p))) : [];
  const run = spawnSync('npx', ['tap', ...args, ...files], { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  const counts = countResults();
  // A file that fails before any test point (an import error) leaves no 'not ok' line to count.
  if (run.status !== 0 && counts.failed === 0) counts.failed = 1;
  passed += counts.passed;
  failed += counts.failed;
  if (run.status !== 0) status = run.status ?? 1;
  process.stdout.write(`${name}: ${counts.passed} passed, ${counts.failed} failed\n`);
}
process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exit(status || (failed > 0 ? 1 : 0));
