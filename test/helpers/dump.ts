import type { Queryable } from '../../src/store/db.js';

/**
 * Every row of every table in the store's schema, as text: two dumps are equal exactly when
 * nothing was written in between (rows written again with the same values count as unchanged).
 */
export async function dumpTables(db: Queryable, skip: string[] = []): Promise<string> {
  const { rows: tables } = await db.query<{ name: string }>(
    `select table_name as name from information_schema.tables
      where table_schema = current_schema() and table_type = 'BASE TABLE' order by 1`,
  );
  const out: string[] = [];
  for (const { name } of tables) {
    if (skip.includes(name)) continue;
    const { rows } = await db.query<{ row: string }>(`select t::text as row from "${name}" t order by 1`);
    out.push(`${name}: ${rows.map((r) => r.row).join('\n')}`);
  }
  return out.join('\n');
}
