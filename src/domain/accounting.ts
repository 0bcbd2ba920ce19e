// Domain layer: RADIUS accounting (DESIGN §1 rule 13, §4 "Session state"). The counting rule and the
// quota's end live in kalitka_account (src/store/functions/60_accounting.sql); this module finds the
// network the NAS stands for (as authorize does: the actor sees only its own networks), calls it,
// and writes the cache through for a device whose quota ran out. May import src/store/*,
// src/errors.ts and other domain modules.
import type { Services } from '../services.js';
import * as store from '../store/accounting.js';
import type { Identification } from '../store/identifications.js';
import type { Principal } from './actor.js';
import { forgetEnded } from './identifications.js';
import { networkForNas } from './radius.js';

/** What a NAS reported, as the store records it, before its network is known (found by `nasIdentifier`). */
export type AccountingReport = Omit<store.AccountingInput, 'networkId' | 'contractId' | 'nasIdentifier'> & { nasIdentifier: string };

/** Records one Accounting-Request; returns whether it was charged to a copy and which identifications it ended. */
export async function radiusAccounting(
  svc: Pick<Services, 'db' | 'cache' | 'local'>,
  actor: Principal,
  report: AccountingReport,
): Promise<store.AccountingAnswer> {
  const network = await networkForNas(svc, actor, report.nasIdentifier);
  const answer = await store.account(svc.db, {
    networkId: network.id,
    contractId: network.contractId,
    mac: report.mac,
    status: report.status,
    sessionId: report.sessionId,
    inputOctets: report.inputOctets,
    inputGigawords: report.inputGigawords,
    outputOctets: report.outputOctets,
    outputGigawords: report.outputGigawords,
    framedIp: report.framedIp,
    nasIp: report.nasIp,
    nasIdentifier: report.nasIdentifier,
    now: report.now,
  });
  // "Not authorised" from the byte that reached the quota, before the revoke is delivered.
  if (answer.ended.length) await forgetEnded(svc, answer.ended as unknown as Identification[]);
  return answer;
}

/** A copy's quota and what is left of it, in bytes; null when it has none. */
export async function bytesRemaining(svc: Pick<Services, 'db'>, tokenId: string | null): Promise<number | null> {
  if (!tokenId) return null;
  const left = await store.quotaLeft(svc.db, tokenId);
  return left === null ? null : Math.max(0, left);
}

/** The NAS session accounting last reported for an identification (for a Disconnect-Request). */
export async function lastNasSession(
  svc: Pick<Services, 'db'>,
  identificationId: number,
): Promise<{ acctSessionId: string; framedIp: string | null; nasIp: string | null; nasIdentifier: string | null } | undefined> {
  const row = await store.latestSessionOf(svc.db, identificationId);
  if (!row) return undefined;
  return { acctSessionId: row.acct_session_id, framedIp: row.framed_ip, nasIp: row.nas_ip, nasIdentifier: row.nas_identifier };
}

/** Accounting rows follow the identification log's retention, but a live copy keeps its usage. */
export async function pruneAccounting(svc: Pick<Services, 'db'>, input: { now: Date; retentionDays: number; batchSize?: number }): Promise<number> {
  let pruned = 0;
  for (;;) {
    const deleted = await store.deleteSessionsBefore(svc.db, input.now, input.retentionDays, input.batchSize ?? 5000);
    pruned += deleted;
    if (deleted === 0) return pruned;
  }
}
