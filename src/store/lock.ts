import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';

/**
 * One process per embedded data directory. PGlite is PostgreSQL in this process, with no server
 * to arbitrate: two processes on one directory each believe they own it, and both write. So the
 * first one to open it holds `kalitka.lock` (its PID, host and start time), taken atomically with
 * link(2); a later one is refused with the holder's PID, unless the holder is gone (a crash or
 * kill -9 leaves the file behind), in which case the stale lock is taken over.
 *
 * Limits: the PID is checked on this host only (a lock written on another host, say over NFS,
 * is always treated as held), and in this host's PID namespace (containers sharing one volume must
 * not run at once).
 */

export const LOCK_FILE = 'kalitka.lock';

interface Holder {
  pid: number;
  host: string;
  /** Process start time in clock ticks since boot (/proc/PID/stat), so a reused PID is told apart. */
  start: string | null;
}

/** The data directory is held by another live process. */
export class DataDirLocked extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
    readonly host: string,
  ) {
    super(
      host === hostname()
        ? `data directory ${dataDir} is in use by process ${pid}; only one process may open it`
        : `data directory ${dataDir} is in use by process ${pid} on host ${host}; only one process may open it (remove ${path.join(dataDir, LOCK_FILE)} only if that process is gone)`,
    );
    this.name = 'DataDirLocked';
  }
}

function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses): state is the 3rd, start time the 22nd.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return null; // exited, not yet reaped
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

function alive(holder: Holder): boolean {
  if (holder.host !== hostname()) return true;
  // Our own PID in a lock we do not hold (a held one is caught before): the PID was reused after a
  // restart, as PID 1 is in every container.
  if (holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (holder.start === null) return true;
  const now = startTime(holder.pid);
  // Without /proc (not Linux), signal 0 is all we can ask.
  return now === null ? process.platform !== 'linux' : now === holder.start;
}

function readHolder(file: string): Holder | null {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<Holder>;
    if (!Number.isInteger(parsed.pid) || typeof parsed.host !== 'string') return null;
    return { pid: parsed.pid!, host: parsed.host, start: typeof parsed.start === 'string' ? parsed.start : null };
  } catch {
    return null;
  }
}

/** Directories this process holds, so a second open in the same process is refused too. */
const heldDirs = new Set<string>();

export interface DataDirLock {
  release(): void;
}

/** The live process holding `dataDir`, or null when nobody does (or only a stale lock is left). */
export function lockHolder(dataDir: string): Holder | null {
  const holder = readHolder(path.join(path.resolve(dataDir), LOCK_FILE));
  if (holder && holder.pid === process.pid && heldDirs.has(path.resolve(dataDir))) return holder;
  return holder && alive(holder) ? holder : null;
}

/** Takes the data directory for this process, or throws DataDirLocked naming the live holder. */
export function lockDataDir(dataDir: string): DataDirLock {
  const dir = path.resolve(dataDir);
  if (heldDirs.has(dir)) throw new DataDirLocked(dir, process.pid, hostname());
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, LOCK_FILE);
  const mine = `${file}.${process.pid}.${Date.now()}`;
  const content = JSON.stringify({ pid: process.pid, host: hostname(), start: startTime(process.pid) } satisfies Holder) + '\n';
  // Written whole under a private name first, so nobody ever reads a half-written lock.
  writeFileSync(mine, content, { mode: 0o644 });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(mine, file);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 5) throw err;
      }
      const holder = readHolder(file);
      if (holder && alive(holder)) throw new DataDirLocked(dir, holder.pid, holder.host);
      // Stale: move it aside (atomic, so of several processes taking over only one gets this
      // file), then make sure what was moved is the stale lock and not one just taken by another.
      const aside = `${file}.stale.${process.pid}`;
      try {
        renameSync(file, aside);
      } catch {
        continue;
      }
      const moved = readHolder(aside);
      if (moved && alive(moved)) {
        try {
          linkSync(aside, file);
        } catch {
          // someone else holds it now; the loop finds out who
        }
      }
      unlinkSync(aside);
    }
  } finally {
    unlinkSync(mine);
  }
  heldDirs.add(dir);
  const release = () => {
    if (!heldDirs.delete(dir)) return;
    process.removeListener('exit', release);
    const holder = readHolder(file);
    if (holder?.pid === process.pid) {
      try {
        unlinkSync(file);
      } catch {
        // already gone
      }
    }
  };
  // A crash that never reaches close() still frees it (kill -9 leaves a stale lock, taken over later).
  process.on('exit', release);
  return { release };
}
