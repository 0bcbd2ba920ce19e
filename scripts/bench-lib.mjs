// What the benchmark scripts share: a fresh database per run, the result table, and stopping the
// processes they started (waiting for each, so --profile finds the profiles written).
import { readFileSync } from 'node:fs';
import pg from 'pg';

/** Drops and creates database `name` on the server of `adminUrl`; returns its URL. */
export async function freshDatabase(adminUrl, name) {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${name} with (force)`);
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A Markdown table: `rows[0]` is the header. */
export function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => String(row[i]).length)));
  const line = (row) => '| ' + row.map((c, i) => String(c).padEnd(widths[i])).join(' | ') + ' |';
  return [line(rows[0]), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...rows.slice(1).map(line)].join('\n') + '\n';
}

export const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** SIGTERM to every child still running, and wait for each to exit. */
export async function stopAll(children) {
  await Promise.all(children.filter((c) => c.exitCode === null).map((c) => new Promise((r) => { c.once('exit', r); c.kill('SIGTERM'); })));
}

/**
 * CPU seconds (user + system) each process has used so far, by pid, from /proc (Linux); a pid
 * gone or unreadable counts 0. Throughput moves with whatever else runs on the machine; the CPU
 * a path costs per request moves much less, so the scripts print both.
 */
export function cpuSeconds(pids) {
  const out = new Map();
  for (const pid of pids) {
    try {
      // Fields after the command (which may hold spaces) start at the last ')'; utime and stime are 14 and 15.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(pid, (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS);
    } catch {
      out.set(pid, 0);
    }
  }
  return out;
}
const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux

/** CPU seconds used between two cpuSeconds() readings, summed over the pids of the later one. */
export function cpuUsed(before, after) {
  let sum = 0;
  for (const [pid, s] of after) sum += Math.max(0, s - (before.get(pid) ?? 0));
  return sum;
}
