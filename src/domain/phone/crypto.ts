import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

/*
 * Phone numbers at rest. The authorities may ask who used a hotspot, so a number must be
 * recoverable (not only hashed) — but never readable from a dump of the database alone:
 *
 *   sealed  = "v1." + base64url(iv[12] ‖ ciphertext ‖ tag[16])      AES-256-GCM
 *   lookup  = hex HMAC-SHA256(lookupKey, e164)                        for look-ups and limits
 *
 * Both keys come from the server secret (KALITKA_SECRET or the generated one) through HKDF-SHA256
 * with distinct `info` labels, so neither key is the secret itself and one cannot be derived from
 * the other. The version prefix leaves room for a key rotation: a reader that meets "v2." asks for
 * the v2 key, "v1." rows keep opening with the v1 key. The associated data binds a sealed number to
 * its context (e.g. the contract id): moved to another row of another contract it no longer opens.
 */

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SALT = Buffer.from('kalitka phone numbers', 'utf8');

export interface PhoneCrypto {
  /** Encrypts an E.164 number; each call uses a fresh IV, so equal numbers seal differently. */
  seal(e164: string, context?: string): string;
  /** Opens what `seal` made with the same context; throws `PhoneCryptoError` on any tampering. */
  open(sealed: string, context?: string): string;
  /** The keyed hash stored beside a sealed number: equal numbers give equal hashes. */
  lookupHash(value: string): string;
}

export class PhoneCryptoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PhoneCryptoError';
  }
}

function derive(secret: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, SALT, Buffer.from(info, 'utf8'), 32));
}

const aad = (context: string | undefined) => Buffer.from(`${VERSION}\0${context ?? ''}`, 'utf8');

export function phoneCrypto(secret: Buffer): PhoneCrypto {
  if (secret.length < 16) throw new Error('the server secret is too short to derive phone keys from');
  const encryptionKey = derive(secret, `kalitka phone encryption ${VERSION}`);
  const lookupKey = derive(secret, `kalitka phone lookup ${VERSION}`);
  return {
    seal(e164, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', encryptionKey, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(aad(context));
      const body = Buffer.concat([cipher.update(e164, 'utf8'), cipher.final()]);
      return `${VERSION}.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
    },
    open(sealed, context) {
      const dot = sealed.indexOf('.');
      const version = dot > 0 ? sealed.slice(0, dot) : '';
      if (version !== VERSION) throw new PhoneCryptoError(`unknown sealed-number version "${version}"`);
      const raw = sealed.slice(dot + 1);
      if (!/^[A-Za-z0-9_-]+$/.test(raw)) throw new PhoneCryptoError('a sealed number is base64url');
      const bytes = Buffer.from(raw, 'base64url');
      if (bytes.length <= IV_BYTES + TAG_BYTES) throw new PhoneCryptoError('a sealed number is too short');
      const iv = bytes.subarray(0, IV_BYTES);
      const tag = bytes.subarray(bytes.length - TAG_BYTES);
      const body = bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES);
      const decipher = createDecipheriv('aes-256-gcm', encryptionKey, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad(context));
      decipher.setAuthTag(tag);
      try {
        return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
      } catch {
        throw new PhoneCryptoError('the sealed number was altered, or sealed with another key or context');
      }
    },
    lookupHash(value) {
      return createHmac('sha256', lookupKey).update(value, 'utf8').digest('hex');
    },
  };
}

/** An identification's sealed number is bound to its contract: moved to another contract's row, it no longer opens. */
export const numberContext = (contractId: string) => `identification:${contractId}`;
