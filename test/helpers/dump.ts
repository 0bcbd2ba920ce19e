import type { Queryable } from '../../src/store/db.js';

/**
 * Every row of every table in the store's schema, as text: two dumps are equal exactly when
 * nothing was written in between (rows written again with the same values count as unchanged).
 * One query reads every table (the fuzz tests dump the store thousands of times, and a query per
 * table made them slow on a busy PostgreSQL).
 */
export async function dumpTables(db: Queryable, skip: string[] = []): Promise<string> {
  const { rows: tables } = await db.query<{ name: string }>(
    `select table_name as name from information_schema.tables
      where table_schema = current_schema() and table_type = 'BASE TABLE' order by 1`,
  );
  const names = tables.map((t) => t.name).filter((name) => !skip.includes(name));
  if (names.length === 0) return '';
  const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
  const { rows } = await db.query<{ name: string; dump: string }>(
    names
      .map((name, i) => `select ${i} as i, '${name.replace(/'/g, "''")}' as name, coalesce((select string_agg(t::text, E'\\n' order by t::text) from ${ident(name)} t), '') as dump`)
      .join(' union all ') + ' order by i',
  );
  return rows.map((r) => `${r.name}: ${r.dump}`).join('\n');
}
