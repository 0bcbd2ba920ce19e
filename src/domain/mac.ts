import { badRequest } from '../errors.js';

const CANONICAL = /^[0-9A-F]{2}(?::[0-9A-F]{2}){5}$/;

/**
 * Accepts `aa:bb:..`, `AA-BB-..`, `aabb.ccdd.eeff` and bare hex; returns `AA:BB:CC:DD:EE:FF` or null.
 * Anything but text is no MAC (a query naming `mac` twice hands a route a list).
 */
export function normalizeMac(input: unknown): string | null {
  if (typeof input !== 'string') return null;
  // Already in the canonical spelling (what controllers and pollers mostly send back): as it is.
  if (CANONICAL.test(input)) return input;
  const trimmed = input.trim();
  if (!/^[0-9a-fA-F]{2}([:-]?)[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$|^[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}$/.test(trimmed)) {
    return null;
  }
  const hex = trimmed.replace(/[:.-]/g, '').toUpperCase();
  return hex.match(/../g)!.join(':');
}

export function requireMac(input: string | undefined): string {
  const mac = input === undefined ? null : normalizeMac(input);
  if (!mac) throw badRequest('INVALID_MAC', 'A MAC address like AA:BB:CC:DD:EE:FF is required');
  return mac;
}
