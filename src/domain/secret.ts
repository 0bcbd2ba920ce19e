import { createHmac, randomBytes } from 'node:crypto';
import type { Db } from '../store/db.js';

/**
 * The server pepper: KALITKA_SECRET when set, otherwise one generated on first start and kept in
 * the store, so that every instance on the same database agrees on it.
 */
export async function loadPepper(db: Db, configured: string | null): Promise<Buffer> {
  if (configured) return Buffer.from(configured, 'utf8');
  await db.query(
    `insert into settings (key, value) values ('secret', $1::text) on conflict (key) do nothing`,
    [randomBytes(32).toString('base64url')],
  );
  const { rows } = await db.query<{ value: string }>(`select value from settings where key = 'secret'`);
  return Buffer.from(rows[0].value, 'utf8');
}

export const hmac = (secret: Buffer, purpose: string, value: string) =>
  createHmac('sha256', secret).update(purpose).update('\0').update(value).digest('hex');
