import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Services } from '../services.js';
import { hmac } from './secret.js';
import { toUser, type User } from './users.js';

/** A panel session ends after this long without a request. */
export const PANEL_IDLE_MS = 12 * 3600_000;

export interface PanelSession {
  user: User;
  /** The contract a system administrator last chose (operators ignore it). */
  chosenContractId: string | null;
}

type Svc = Pick<Services, 'db' | 'secret'>;

/** What the cookie carries: 32 random bytes, base64url. Anything else is not looked up. */
export const plausibleSessionId = (id: string) => /^[A-Za-z0-9_-]{43}$/.test(id);

const idHash = (secret: Buffer, id: string) => hmac(secret, 'panel-session', id);

/** Starts a session for a user who just proved their password; returns the cookie value. */
export async function openPanelSession(svc: Svc, input: { userId: string; now: Date }): Promise<string> {
  const id = randomBytes(32).toString('base64url');
  // Idle sessions of anyone are dropped here: logins are rare enough to carry the clean-up.
  await svc.db.query(`delete from panel_sessions where last_seen_at <= $1::timestamptz`, [
    new Date(input.now.getTime() - PANEL_IDLE_MS),
  ]);
  await svc.db.query(
    `insert into panel_sessions (id_hash, user_id, created_at, last_seen_at) values ($1::text, $2::uuid, $3::timestamptz, $3::timestamptz)`,
    [idHash(svc.secret, id), input.userId, input.now],
  );
  return id;
}

/** The session behind a cookie, if it is alive; a request keeps it alive for another 12 hours. */
export async function resumePanelSession(svc: Svc, id: string, now: Date): Promise<PanelSession | null> {
  if (!plausibleSessionId(id)) return null;
  const { rows } = await svc.db.query<Parameters<typeof toUser>[0] & { chosen_contract_id: string | null }>(
    `with s as (
       update panel_sessions set last_seen_at = $2::timestamptz
        where id_hash = $1::text and last_seen_at > $3::timestamptz
       returning user_id, contract_id)
     select u.*, s.contract_id as chosen_contract_id from s join users u on u.id = s.user_id`,
    [idHash(svc.secret, id), now, new Date(now.getTime() - PANEL_IDLE_MS)],
  );
  return rows[0] ? { user: toUser(rows[0]), chosenContractId: rows[0].chosen_contract_id } : null;
}

export async function endPanelSession(svc: Svc, id: string): Promise<void> {
  await svc.db.query(`delete from panel_sessions where id_hash = $1::text`, [idHash(svc.secret, id)]);
}

export async function choosePanelContract(svc: Svc, id: string, contractId: string): Promise<void> {
  await svc.db.query(`update panel_sessions set contract_id = $2::uuid where id_hash = $1::text`, [idHash(svc.secret, id), contractId]);
}

/** Synchronizer token for the forms of one session (or of one pre-login cookie). */
export const csrfToken = (secret: Buffer, purpose: 'session' | 'login', id: string) => hmac(secret, `panel-csrf-${purpose}`, id);

export function csrfValid(secret: Buffer, purpose: 'session' | 'login', id: string, given: unknown): boolean {
  if (typeof given !== 'string' || given.length !== 64) return false;
  return timingSafeEqual(Buffer.from(csrfToken(secret, purpose, id)), Buffer.from(given));
}

// A just-created personal token waits in the session row for the one page that shows it. It is
// encrypted with a key only the browser's cookie gives, so the store never holds it in clear.
const revealKey = (secret: Buffer, id: string) => createHmac('sha256', secret).update('panel-reveal\0').update(id).digest();

export async function stashReveal(svc: Svc, id: string, token: string): Promise<void> {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', revealKey(svc.secret, id), iv);
  const sealed = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
  const value = Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url');
  await svc.db.query(`update panel_sessions set reveal = $2::text where id_hash = $1::text`, [idHash(svc.secret, id), value]);
}

/** The stashed token, once: reading it clears it, so a reload shows nothing. */
export async function takeReveal(svc: Svc, id: string): Promise<string | null> {
  const { rows } = await svc.db.query<{ reveal: string | null }>(
    `with old as (select id_hash, reveal from panel_sessions where id_hash = $1::text and reveal is not null for update)
     update panel_sessions p set reveal = null from old where p.id_hash = old.id_hash returning old.reveal`,
    [idHash(svc.secret, id)],
  );
  const value = rows[0]?.reveal;
  if (!value) return null;
  const raw = Buffer.from(value, 'base64url');
  try {
    const decipher = createDecipheriv('aes-256-gcm', revealKey(svc.secret, id), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}
