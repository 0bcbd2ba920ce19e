import type { Queryable } from '../store/db.js';
import type { Identification } from './identifications.js';

/** One row of the identification log as operators export it. */
export interface LogEntry {
  id: number;
  mac: string;
  networkId: string;
  tokenId: string | null;
  code: string | null;
  method: string;
  startedAt: string;
  endedAt: string | null;
  endReason: string | null;
}

export const LOG_FIELDS = ['id', 'mac', 'networkId', 'tokenId', 'code', 'method', 'startedAt', 'endedAt', 'endReason'] as const;

const toEntry = (r: Identification): LogEntry => ({
  id: r.id,
  mac: r.mac,
  networkId: r.network_id,
  tokenId: r.token_id,
  code: r.code,
  method: r.method,
  startedAt: r.started_at.toISOString(),
  endedAt: r.ended_at?.toISOString() ?? null,
  endReason: r.end_reason,
});

export const LOG_PAGE_SIZE = 1000;

/**
 * A contract's identifications that overlap the period [from, until): started before `until`
 * and not over by `from` (one not yet swept counts as over at its expiry). In id order, one page
 * of keyset-paginated rows at a time, so an export of months never sits in memory whole.
 */
export async function* identificationLogPages(
  q: Queryable,
  input: { contractId: string; from: Date; until: Date; pageSize?: number },
): AsyncGenerator<LogEntry[]> {
  const pageSize = input.pageSize ?? LOG_PAGE_SIZE;
  let after = 0;
  for (;;) {
    const { rows } = await q.query<Identification>(
      `select * from identifications
        where contract_id = $1::uuid and id > $2::bigint
          and started_at < $4::timestamptz
          and coalesce(ended_at, expires_at, 'infinity') > $3::timestamptz
        order by id
        limit $5::int`,
      [input.contractId, after, input.from, input.until, pageSize],
    );
    if (rows.length > 0) yield rows.map(toEntry);
    if (rows.length < pageSize) return;
    after = rows[rows.length - 1].id;
  }
}
