// Domain layer: what a guest's own device may learn about its access — the RFC 8908 API and the
// portal's status page. The device is named by its MAC (the controller's redirect or `?mac=`) or,
// without one, found by its address through RADIUS accounting's Framed-IP-Address. May import
// src/store/*, src/errors.ts and other domain modules.
import type { Services } from '../services.js';
import { macByFramedIp } from '../store/accounting.js';
import { bytesRemaining } from './accounting.js';
import type { Network } from './networks.js';
import { sessionState } from './sessions.js';

export interface GuestStatus {
  /** Null when no device could be named. */
  mac: string | null;
  authorized: boolean;
  expiresAt: string | null;
  secondsRemaining: number | null;
  /** Null when the copy has no quota (or the device is not authorised). */
  bytesRemaining: number | null;
}

export async function guestStatus(
  svc: Pick<Services, 'db' | 'cache' | 'local'>,
  input: { network: Network; mac: string | null; ip: string | null; now: Date },
): Promise<GuestStatus> {
  const mac = input.mac ?? (input.ip ? await macByFramedIp(svc.db, input.network.id, input.ip) : null);
  const none: GuestStatus = { mac, authorized: false, expiresAt: null, secondsRemaining: null, bytesRemaining: null };
  if (!mac) return none;
  const state = await sessionState(svc, { networkId: input.network.id, mac, now: input.now });
  if (!state.authorized) return none;
  const left = await bytesRemaining(svc, state.tokenId);
  // Accounting ends a copy at its quota in the same transaction; nothing left means not authorised.
  if (left === 0) return none;
  return { mac, authorized: true, expiresAt: state.expiresAt, secondsRemaining: state.secondsRemaining, bytesRemaining: left };
}
