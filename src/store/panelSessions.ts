// Store layer: one exported function per query, client first, lowercase SQL with explicit casts,
// typed rows out. Store modules import only src/store/db.ts and each other's row types.
import type { Queryable } from './db.js';
import type { UserRow } from './users.js';

/** Sessions idle since before `before` are dropped (logins carry the clean-up). */
export async function deleteIdlePanelSessions(q: Queryable, before: Date): Promise<void> {
  await q.query(`delete from panel_sessions where last_seen_at <= $1::timestamptz`, [before]);
}

export async function insertPanelSession(q: Queryable, input: { idHash: string; userId: string; now: Date }): Promise<void> {
  await q.query(
    `insert into panel_sessions (id_hash, user_id, created_at, last_seen_at) values ($1::text, $2::uuid, $3::timestamptz, $3::timestamptz)`,
    [input.idHash, input.userId, input.now],
  );
}

/**
 * Moves a live session's last-seen time forward and returns its user and chosen contract; null
 * when it is idle past `idleBefore`, unknown, or its user's contract is disabled.
 */
export async function touchPanelSession(
  q: Queryable,
  input: { idHash: string; now: Date; idleBefore: Date },
): Promise<(UserRow & { chosen_contract_id: string | null }) | null> {
  const { rows } = await q.query<UserRow & { chosen_contract_id: string | null }>(
    `with s as (
       update panel_sessions set last_seen_at = $2::timestamptz
        where id_hash = $1::text and last_seen_at > $3::timestamptz
       returning user_id, contract_id)
     select u.id, u.login, u.contract_id, u.is_system, u.role, u.token_login_allowed, u.created_at,
            s.contract_id as chosen_contract_id
       from s join users u on u.id = s.user_id left join contracts c on c.id = u.contract_id
      where c.disabled_at is null`,
    [input.idHash, input.now, input.idleBefore],
  );
  return rows[0] ?? null;
}

export async function deletePanelSession(q: Queryable, idHash: string): Promise<void> {
  await q.query(`delete from panel_sessions where id_hash = $1::text`, [idHash]);
}

export async function setPanelContract(q: Queryable, idHash: string, contractId: string): Promise<void> {
  await q.query(`update panel_sessions set contract_id = $2::uuid where id_hash = $1::text`, [idHash, contractId]);
}

export async function setPanelReveal(q: Queryable, idHash: string, sealed: string): Promise<void> {
  await q.query(`update panel_sessions set reveal = $2::text where id_hash = $1::text`, [idHash, sealed]);
}

/** The sealed value waiting in the session, cleared in the same statement: only one reader gets it. */
export async function takePanelReveal(q: Queryable, idHash: string): Promise<string | null> {
  const { rows } = await q.query<{ reveal: string | null }>(
    `with old as (select id_hash, reveal from panel_sessions where id_hash = $1::text and reveal is not null for update)
     update panel_sessions p set reveal = null from old where p.id_hash = old.id_hash returning old.reveal`,
    [idHash],
  );
  return rows[0]?.reveal ?? null;
}
