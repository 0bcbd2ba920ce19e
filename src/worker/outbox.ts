// Worker layer: delivering the outbox (de-authorisations, webhooks) with retries. May import
// src/store/*, src/domain/*, src/controllers/* and src/services.ts; never src/http.
import { adapterFor } from '../controllers/index.js';
import { sendWebhook } from '../controllers/webhook.js';
import { lastNasSession } from '../domain/accounting.js';
import type { IdentificationEvent } from '../domain/outbox.js';
import { refreshSession } from '../domain/sessions.js';
import { findNetwork, type Network } from '../domain/networks.js';
import { sessionLimitAttributes } from '../domain/radius.js';
import { quotaLeft } from '../store/accounting.js';
import { findTokenInContract } from '../store/tokens.js';
import { networkOutbound } from '../net/outbound.js';
import type { Services } from '../services.js';
import { deleteDeliveredBefore, leaseDue, markDelivered, markFailed, type OutboxRow as Row } from '../store/outbox.js';

type OutboxRow = Row<IdentificationEvent>;

const LEASE_S = 60;
const BATCH = 50;
const MAX_BACKOFF_S = 3600;

/** 5 s, 10 s, 20 s … up to an hour between tries. */
export const backoffSeconds = (attempts: number) => Math.min(MAX_BACKOFF_S, 5 * 2 ** Math.max(0, attempts - 1));

export interface DeliveryResult {
  delivered: number;
  failed: number;
}

/**
 * Delivers what is due. Rows are leased (their next try pushed a minute ahead) in one short
 * transaction with `skip locked`, then delivered outside it, so several workers never send the
 * same row at once and a slow controller never holds a lock or blocks the sweep.
 */
export async function deliverDue(svc: Services, input: { now: Date; batchSize?: number }): Promise<DeliveryResult> {
  const rows = await leaseDue<IdentificationEvent>(svc.db, input.now, input.batchSize ?? BATCH, LEASE_S);
  let delivered = 0;
  let failed = 0;
  await Promise.all(
    rows.map(async (row) => {
      try {
        await deliver(svc, row, input.now);
        await markDelivered(svc.db, row.id, svc.now());
        delivered++;
        svc.metrics.controllerCalls.inc({ kind: row.kind, result: 'ok' });
      } catch (err) {
        failed++;
        svc.metrics.controllerCalls.inc({ kind: row.kind, result: 'failed' });
        const message = err instanceof Error ? err.message : String(err);
        svc.log.warn({ outboxId: row.id, kind: row.kind, attempts: row.attempts + 1, err: message }, 'controller call failed; will retry');
        await markFailed(svc.db, row.id, message.slice(0, 500), svc.now(), backoffSeconds(row.attempts + 1));
      }
    }),
  );
  return { delivered, failed };
}

async function deliver(svc: Services, row: OutboxRow, now: Date): Promise<void> {
  const network = await findNetwork(svc, row.network_id, { retired: true }); // a deleted network's last devices too
  if (row.kind === 'revoke') {
    // An end the SQL RADIUS path wrote (a quota reached in kalitka_radius_account) could not
    // touch the cache: dropping the device's entry here makes the next session-state answer read
    // PostgreSQL, within one delivery round of the end. Harmless after an end made in Node.
    await refreshSession(svc, row.payload.mac);
    const adapter = adapterFor(network.controller);
    if (!adapter.revoke) return; // this controller has no way to de-authorise; its session simply ends
    await adapter.revoke({
      network,
      mac: row.payload.mac,
      now,
      outbound: networkOutbound(svc.config.outboundAllow, network),
      identification: { startedAt: new Date(row.payload.startedAt) },
      session: await lastNasSession(svc, row.payload.identificationId),
    });
    return;
  }
  if (row.kind === 'coa') return pushUpdate(svc, network, row.payload, now);
  const url = network.settings.webhookUrl;
  const secret = network.settings.webhookSecret;
  if (typeof url !== 'string') return; // the webhook was removed since
  await sendWebhook({ url, secret: typeof secret === 'string' ? secret : '', event: row.payload, outbound: networkOutbound(svc.config.outboundAllow, network) });
}

/**
 * Rule 14: tells the NAS a live session's new term and limits, read from its copy when sent (a
 * retry carries the latest). A copy no longer active, or a controller that takes no updates, is
 * nothing to do.
 */
async function pushUpdate(svc: Services, network: Network, event: IdentificationEvent, now: Date): Promise<void> {
  const adapter = adapterFor(network.controller);
  if (!adapter.update || !event.tokenId) return;
  const token = await findTokenInContract(svc.db, null, event.tokenId);
  if (!token || token.status !== 'active' || token.mac !== event.mac || (token.expires_at && token.expires_at <= now)) return;
  const left = token.quota_mb === null ? null : await quotaLeft(svc.db, token.id);
  const limits = { downKbps: token.down_kbps, upKbps: token.up_kbps, bytesRemaining: left === null ? null : Math.max(0, left) };
  await adapter.update({
    network,
    mac: event.mac,
    secondsRemaining: token.expires_at ? Math.max(1, Math.floor((token.expires_at.getTime() - now.getTime()) / 1000)) : null,
    limits,
    limitAttributes: await sessionLimitAttributes(svc, { controller: network.controller, ...limits }),
    session: await lastNasSession(svc, event.identificationId),
    now,
    outbound: networkOutbound(svc.config.outboundAllow, network),
  });
}

/** Delivers batch after batch while whole batches come back (at most `maxBatches`), so a backlog drains. */
export async function drainOutbox(svc: Services, maxBatches: number, stopped: () => boolean = () => false): Promise<DeliveryResult> {
  const total = { delivered: 0, failed: 0 };
  for (let i = 0; i < maxBatches && !stopped(); i++) {
    const batch = await deliverDue(svc, { now: svc.now(), batchSize: BATCH });
    total.delivered += batch.delivered;
    total.failed += batch.failed;
    if (batch.delivered + batch.failed < BATCH) break;
  }
  return total;
}

/** Done rows are kept a week for inspection, then dropped. */
export async function pruneOutbox(svc: Pick<Services, 'db'>, now: Date): Promise<number> {
  return deleteDeliveredBefore(svc.db, now);
}
