// HTTP layer (panel): synchronizer tokens for the panel's forms. May import src/domain's pure
// helpers; no store or cache handle.
import { timingSafeEqual } from 'node:crypto';
import { hmac } from '../../domain/secret.js';

/** Synchronizer token for the forms of one session (or of one pre-login cookie). */
export const csrfToken = (secret: Buffer, purpose: 'session' | 'login', id: string) => hmac(secret, `panel-csrf-${purpose}`, id);

export function csrfValid(secret: Buffer, purpose: 'session' | 'login', id: string, given: unknown): boolean {
  if (typeof given !== 'string' || given.length !== 64) return false;
  return timingSafeEqual(Buffer.from(csrfToken(secret, purpose, id)), Buffer.from(given));
}
