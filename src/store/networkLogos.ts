// Store layer: a network's uploaded logo (migration 0010). One exported function per query.
import type { Queryable } from './db.js';

export type LogoType = 'image/png' | 'image/jpeg' | 'image/webp';

export interface Logo {
  contentType: LogoType;
  body: Buffer;
  version: string;
}

/** Saves (or replaces) the logo and notes its version on the networks row, in one statement. */
export async function saveLogo(q: Queryable, networkId: string, logo: Logo & { now: Date }): Promise<void> {
  await q.query(
    `with saved as (
       insert into network_logos (network_id, content_type, body, updated_at)
       values ($1::uuid, $2::text, $3::bytea, $4::timestamptz)
       on conflict (network_id) do update set content_type = excluded.content_type, body = excluded.body, updated_at = excluded.updated_at
       returning network_id)
     update networks set logo_version = $5::text where id in (select network_id from saved)`,
    [networkId, logo.contentType, logo.body, logo.now, logo.version],
  );
}

export async function deleteLogo(q: Queryable, networkId: string): Promise<void> {
  await q.query(
    `with gone as (delete from network_logos where network_id = $1::uuid returning network_id)
     update networks set logo_version = null where id = $1::uuid`,
    [networkId],
  );
}

export async function findLogo(q: Queryable, networkId: string): Promise<Logo | null> {
  const { rows } = await q.query<{ content_type: LogoType; body: Buffer | Uint8Array; version: string }>(
    `select l.content_type, l.body, n.logo_version as version
       from network_logos l join networks n on n.id = l.network_id where l.network_id = $1::uuid`,
    [networkId],
  );
  const r = rows[0];
  return r ? { contentType: r.content_type, body: Buffer.from(r.body), version: r.version } : null;
}
