import { badRequest } from '../errors.js';

/** Accepts `aa:bb:..`, `AA-BB-..`, `aabb.ccdd.eeff` and bare hex; returns `AA:BB:CC:DD:EE:FF` or null. */
export function normalizeMac(input: string): string | null {
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
