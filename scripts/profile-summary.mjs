#!/usr/bin/env node
// Where a V8 CPU profile (node --cpu-prof, or `npm run bench -- --profile DIR`) spent its time:
// self time by function and by file, largest first.
//
//   node scripts/profile-summary.mjs PROFILE.cpuprofile [--top 30]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '30' } } });
if (positionals.length !== 1) {
  process.stderr.write('usage: profile-summary.mjs PROFILE.cpuprofile [--top N]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(positionals[0], 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const parentOf = new Map();
for (const n of profile.nodes) for (const child of n.children ?? []) parentOf.set(child, n.id);
const byFunction = new Map();
const byFile = new Map();
const inclusive = new Map();
const nameOf = (id) => {
  const { functionName, url, lineNumber } = byId.get(id).callFrame;
  const file = url.replace(/^file:\/\//, '').replace(/.*node_modules\//, 'node_modules/') || '(native)';
  return { file, fn: `${functionName || '(anonymous)'}  ${file}:${lineNumber + 1}` };
};
for (const [id, us] of selfUs) {
  const { file, fn } = nameOf(id);
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  byFile.set(file, (byFile.get(file) ?? 0) + us);
  // Inclusive: every distinct function on the sampled stack gets the time once.
  const seen = new Set();
  for (let at = id; at !== undefined; at = parentOf.get(at)) seen.add(nameOf(at).fn);
  for (const f of seen) inclusive.set(f, (inclusive.get(f) ?? 0) + us);
}
const top = Number(values.top);
const table = (title, map) => {
  process.stdout.write(`\n${title}\n`);
  for (const [name, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${name}\n`);
  }
};
process.stdout.write(`${(total / 1e6).toFixed(2)} s sampled\n`);
table('self time by file', byFile);
table('self time by function', byFunction);
table('inclusive time by function (callees included)', inclusive);
