import { createHmac } from 'node:crypto';

/** A keyed digest of `value` for one purpose, so digests made for different purposes never match. */
export const hmac = (secret: Buffer, purpose: string, value: string) =>
  createHmac('sha256', secret).update(purpose).update('\0').update(value).digest('hex');
