// Store layer: the schema's history (numbered migrations) and its stored functions. May import
// only node built-ins and src/store/db.ts.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { packageRoot } from '../paths.js';
import type { Db } from './db.js';

const MIGRATIONS_DIR = path.join(packageRoot, 'src', 'store', 'migrations');
const FUNCTIONS_DIR = path.join(packageRoot, 'src', 'store', 'functions');

/**
 * Applies the forward-only numbered migrations that are not applied yet, then every stored
 * function in src/store/functions with `create or replace`, so a function's rule changes in one
 * file instead of in a copy per migration. Several instances may start at once: an advisory lock
 * held for the transaction makes them take turns.
 */
export async function migrate(db: Db): Promise<string[]> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d{4}_.+\.sql$/.test(f)).sort();
  const functions = (await readdir(FUNCTIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
  return db.tx(async (q) => {
    await q.query(`select pg_advisory_xact_lock(hashtext('kalitka-migrate:' || current_schema()))`);
    await q.exec(`create table if not exists schema_migrations (
      version text primary key,
      applied_at timestamptz not null default now()
    )`);
    const applied = new Set(
      (await q.query<{ version: string }>('select version from schema_migrations')).rows.map((r) => r.version),
    );
    const done: string[] = [];
    for (const file of files) {
      if (applied.has(file)) continue;
      await q.exec(await readFile(path.join(MIGRATIONS_DIR, file), 'utf8'));
      await q.query('insert into schema_migrations (version) values ($1)', [file]);
      done.push(file);
    }
    for (const file of functions) await q.exec(await readFile(path.join(FUNCTIONS_DIR, file), 'utf8'));
    return done;
  });
}
