// Store layer: one exported function per query, client first, lowercase SQL with explicit casts,
// typed rows out. Store modules import only src/store/db.ts and each other's row types.
import type { Queryable } from './db.js';

/** Writes the value unless the key has one already (the first instance to start wins). */
export async function insertSettingIfAbsent(q: Queryable, key: string, value: string): Promise<void> {
  await q.query(`insert into settings (key, value) values ($1::text, $2::text) on conflict (key) do nothing`, [key, value]);
}

export async function findSetting(q: Queryable, key: string): Promise<string | null> {
  const { rows } = await q.query<{ value: string }>(`select value from settings where key = $1::text`, [key]);
  return rows[0]?.value ?? null;
}
