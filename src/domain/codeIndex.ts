// Domain layer: the index of known codes, so that a well-formed code nobody generated is refused
// without asking PostgreSQL. May import src/store/*, src/cache/cache.ts and src/errors.ts.
//
// The set (Redis, or in-process when embedded) holds every code of the tokens table, plus a
// completeness marker that is a member of the same set, so a flush or an eviction takes the marker
// with the codes. The rules, each one safe on its own:
// - Generation adds its codes before its transaction commits; when that add fails, it refuses
//   (503) and writes nothing. So a complete set never lacks a committed code.
// - A code absent from a set that carries the marker is unknown. Without the marker (first start,
//   a flush, a Redis restart — the marker names the server's run_id, so an old snapshot reloaded
//   does not count), or when the cache cannot answer, PostgreSQL answers, and a rebuild starts.
// - A rebuild first puts a witness of its own into the set, then waits for every generation in
//   flight (they hold a PostgreSQL advisory lock shared from before their add until they end),
//   then copies every code from PostgreSQL, and swaps the witness for the marker atomically. A
//   flush at any point after the witness went in takes the witness with it: the swap fails and
//   the set stays incomplete. A generation whose add came before the witness has committed
//   before the copy reads; one whose add came after is in the set unless a flush removed the
//   witness too.
// - Members are never needed out: a code no longer in PostgreSQL costs one lookup, no more.
import { randomUUID } from 'node:crypto';
import { keys, type Cache } from '../cache/cache.js';
import { AppError } from '../errors.js';
import type { Services } from '../services.js';
import { codesAfter, holdCodeIndexShared, waitForGenerations } from '../store/codeIndex.js';
import type { Queryable } from '../store/db.js';

type Deps = Pick<Services, 'db' | 'cache' | 'log'>;

const MARKER = '#complete:';
const BATCH = 5_000;

const rebuilding = new WeakMap<Cache, Promise<boolean>>();

/** Whether `code` is surely unknown: only when the index is complete and lacks it. */
export async function isSurelyUnknown(deps: Deps, code: string): Promise<boolean> {
  let complete: boolean, has: boolean;
  try {
    const epoch = await deps.cache.epoch();
    [complete, has] = await deps.cache.setHas(keys.codeIndex, [MARKER + epoch, code]);
  } catch {
    return false; // the cache cannot tell: PostgreSQL answers
  }
  if (complete) return !has;
  void rebuildCodeIndex(deps).catch(() => {});
  return false;
}

/**
 * Inside a generating transaction, before it commits: holds the lock a rebuild waits on, then
 * writes the codes to the index, or refuses (503) so that the transaction rolls back.
 */
export async function indexNewCodes(deps: Pick<Services, 'cache'>, q: Queryable, codes: string[]): Promise<void> {
  await holdCodeIndexShared(q);
  try {
    await deps.cache.setAdd(keys.codeIndex, codes);
  } catch {
    throw new AppError(503, 'CACHE_UNAVAILABLE', 'Tokens cannot be generated while the cache is unreachable; try again shortly');
  }
}

/**
 * Copies every code from PostgreSQL into the index and marks it complete, unless the set was
 * flushed meanwhile. One at a time per instance. Resolves whether it marked the set complete.
 */
export function rebuildCodeIndex(deps: Deps): Promise<boolean> {
  const running = rebuilding.get(deps.cache);
  if (running) return running;
  const done = rebuild(deps).finally(() => rebuilding.delete(deps.cache));
  rebuilding.set(deps.cache, done);
  return done;
}

async function rebuild({ db, cache, log }: Deps): Promise<boolean> {
  const epoch = await cache.epoch();
  const witness = `#building:${randomUUID()}`;
  await cache.setAdd(keys.codeIndex, [witness]);
  await waitForGenerations(db);
  let count = 0;
  for (let after = ''; ; ) {
    const codes = await codesAfter(db, after, BATCH);
    if (codes.length) await cache.setAdd(keys.codeIndex, codes);
    count += codes.length;
    if (codes.length < BATCH) break;
    after = codes[codes.length - 1];
  }
  const marked = await cache.setSwap(keys.codeIndex, witness, MARKER + epoch);
  log.info({ codes: count, complete: marked }, marked ? 'code index rebuilt' : 'code index changed during its rebuild; it stays incomplete');
  return marked;
}
