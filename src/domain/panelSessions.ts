// Domain layer: admin panel sessions. Takes narrow deps; may import src/store and the domain's
// users, never src/http (the panel's CSRF tokens live in src/http/panel/csrf.ts).
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import type { Queryable } from '../store/db.js';
import * as store from '../store/panelSessions.js';
import { hmac } from './secret.js';
import { toUser, type User } from './users.js';

/** A panel session ends after this long without a request. */
export const PANEL_IDLE_MS = 12 * 3600_000;

export interface PanelSession {
  user: User;
  /** The contract a system administrator last chose (operators ignore it). */
  chosenContractId: string | null;
}

export interface PanelSessionDeps {
  db: Queryable;
  secret: Buffer;
}

/** What the cookie carries: 32 random bytes, base64url. Anything else is not looked up. */
export const plausibleSessionId = (id: string) => /^[A-Za-z0-9_-]{43}$/.test(id);

const idHash = (secret: Buffer, id: string) => hmac(secret, 'panel-session', id);

/** Starts a session for a user who just proved their password; returns the cookie value. */
export async function openPanelSession(deps: PanelSessionDeps, input: { userId: string; now: Date }): Promise<string> {
  const id = randomBytes(32).toString('base64url');
  // Idle sessions of anyone are dropped here: logins are rare enough to carry the clean-up.
  await store.deleteIdlePanelSessions(deps.db, new Date(input.now.getTime() - PANEL_IDLE_MS));
  await store.insertPanelSession(deps.db, { idHash: idHash(deps.secret, id), userId: input.userId, now: input.now });
  return id;
}

/**
 * The session behind a cookie, if it is alive; a request keeps it alive for another 12 hours.
 * An operator whose contract is disabled has none.
 */
export async function resumePanelSession(deps: PanelSessionDeps, id: string, now: Date): Promise<PanelSession | null> {
  if (!plausibleSessionId(id)) return null;
  const row = await store.touchPanelSession(deps.db, {
    idHash: idHash(deps.secret, id),
    now,
    idleBefore: new Date(now.getTime() - PANEL_IDLE_MS),
  });
  return row ? { user: toUser(row), chosenContractId: row.chosen_contract_id } : null;
}

export async function endPanelSession(deps: PanelSessionDeps, id: string): Promise<void> {
  await store.deletePanelSession(deps.db, idHash(deps.secret, id));
}

export async function choosePanelContract(deps: PanelSessionDeps, id: string, contractId: string): Promise<void> {
  await store.setPanelContract(deps.db, idHash(deps.secret, id), contractId);
}

// A just-created personal token waits in the session row for the one page that shows it. It is
// encrypted with a key only the browser's cookie gives, so the store never holds it in clear.
const revealKey = (secret: Buffer, id: string) => createHmac('sha256', secret).update('panel-reveal\0').update(id).digest();

export async function stashReveal(deps: PanelSessionDeps, id: string, token: string): Promise<void> {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', revealKey(deps.secret, id), iv);
  const sealed = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
  await store.setPanelReveal(deps.db, idHash(deps.secret, id), Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url'));
}

/** The stashed token, once: reading it clears it, so a reload shows nothing. */
export async function takeReveal(deps: PanelSessionDeps, id: string): Promise<string | null> {
  const value = await store.takePanelReveal(deps.db, idHash(deps.secret, id));
  if (!value) return null;
  const raw = Buffer.from(value, 'base64url');
  try {
    const decipher = createDecipheriv('aes-256-gcm', revealKey(deps.secret, id), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}
