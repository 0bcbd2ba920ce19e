import { AppError } from '../errors.js';
import type { Queryable } from '../store/db.js';
import { txRetry } from '../store/db.js';
import type { Services } from '../services.js';
import { requireCode } from './code.js';
import { type EndReason, type Identification, liveIdentification, startIdentification, endIdentification } from './identifications.js';
import { findNetwork } from './networks.js';
import { recordEnded, recordStarted } from './outbox.js';
import { forgetSession, rememberSession } from './sessions.js';
import type { TokenRow } from './tokens.js';

/** Why the portal refuses a well-formed code. All are 403: the code is not consumed. */
export type Refusal = 'TOKEN_UNKNOWN' | 'TOKEN_FOREIGN' | 'TOKEN_USED' | 'TOKEN_ANNULLED' | 'TOKEN_EXPIRED';

const REFUSALS: Record<Refusal, string> = {
  TOKEN_UNKNOWN: 'No such token',
  TOKEN_FOREIGN: 'This token is not valid in this network',
  TOKEN_USED: 'This token has already been used on another device',
  TOKEN_ANNULLED: 'This token has been annulled',
  TOKEN_EXPIRED: 'This token has expired',
};

export const refuse = (code: Refusal) => new AppError(403, code, REFUSALS[code]);

/** The losing side of a race on a row: the transaction starts over and sees the winner's state. */
class RaceLost extends Error {
  readonly code = '40001';
}

export interface ActivateInput {
  networkId: string;
  mac: string;
  /** As typed: spaces and dashes are allowed. */
  code: string;
  now: Date;
  method?: string;
}

export interface Activation {
  token: TokenRow;
  identification: Identification;
  /** True when the device already had this identification (re-entry): nothing new was made. */
  existing: boolean;
  /** Identifications this activation ended (elsewhere, replaced, or found expired): de-authorise them. */
  ended: Identification[];
}

const DAY_MS = 86_400_000;

/**
 * A guest's device enters a code in a network (rules 1-7). One Postgres transaction decides and
 * writes everything; races on a row are caught by row locks and unique indexes and replayed.
 * A code that would be refused is refused after one plain read, before any transaction.
 */
export async function activateToken(svc: Pick<Services, 'db' | 'cache'>, input: ActivateInput): Promise<Activation> {
  const code = requireCode(input.code);
  const network = await findNetwork(svc, input.networkId);
  const args = {
    ...input,
    code,
    contractId: network.contractId,
    method: input.method ?? 'token',
    webhook: typeof network.settings.webhookUrl === 'string',
  };
  plan(await candidates(svc.db, code, input.mac), args);
  const result = await txRetry(svc.db, (q) => activateInTx(q, args));
  await Promise.all(result.ended.filter((i) => i.mac !== input.mac).map((i) => forgetSession(svc, i.mac)));
  await rememberSession(svc, result.identification);
  return result;
}

interface Args {
  networkId: string;
  contractId: string;
  mac: string;
  code: string;
  now: Date;
  method: string;
  webhook: boolean;
}

/** Every row this device could be entering: unused copies, single-use rows, and its own copies. */
async function candidates(q: Queryable, code: string, mac: string): Promise<TokenRow[]> {
  const { rows } = await q.query<TokenRow>(
    `select * from tokens
      where code = $1::text and (mac is null or mac = $2::text or not multi_use)
      order by created_at desc`,
    [code, mac],
  );
  return rows;
}

type Plan =
  | { kind: 'existing'; own: TokenRow; unused: TokenRow | undefined }
  | { kind: 'bind'; unused: TokenRow }
  | { kind: 'clone'; unused: TokenRow };

/** Decides from the rows alone what an entry means, or throws the refusal. */
function plan(all: TokenRow[], input: Pick<Args, 'contractId' | 'mac' | 'now'>): Plan {
  const { mac, now } = input;
  if (all.length === 0) throw refuse('TOKEN_UNKNOWN');
  const mine = all.filter((t) => t.contract_id === input.contractId);
  if (mine.length === 0) throw refuse('TOKEN_FOREIGN');
  const own = mine.find((t) => t.status === 'active' && t.mac === mac);
  const unused = mine.find((t) => t.status === 'unused');
  if (own && (!own.expires_at || own.expires_at > now)) return { kind: 'existing', own, unused };
  if (!unused) throw refuse(refusalFor(mine, mac, now));
  if (!unused.multi_use) return { kind: 'bind', unused };
  // A multi-use device that already ran out its term, or was annulled, needs a new code.
  const spent = mine.find((t) => t.multi_use && t.mac === mac && t.status !== 'unused');
  if (spent && (spent.status === 'expired' || spent.end_reason === 'expired' || (spent.expires_at && spent.expires_at <= now))) {
    throw refuse('TOKEN_EXPIRED');
  }
  if (spent && spent.end_reason === 'annulled') throw refuse('TOKEN_ANNULLED');
  return { kind: 'clone', unused };
}

async function activateInTx(q: Queryable, input: Args): Promise<Activation> {
  const { mac, now } = input;
  let decided = plan(await candidates(q, input.code, mac), input);
  if (decided.kind === 'existing') {
    const live = await liveIdentification(q, mac);
    if (live && live.token_id === decided.own.id) {
      return { token: decided.own, identification: live, existing: true, ended: [] };
    }
    // An active copy without its identification cannot normally exist; treat the entry as new.
    if (!decided.unused) throw refuse('TOKEN_USED');
    decided = decided.unused.multi_use ? { kind: 'clone', unused: decided.unused } : { kind: 'bind', unused: decided.unused };
  }
  const token = decided.kind === 'bind' ? await bind(q, decided.unused, mac, now) : await cloneFor(q, decided.unused, mac, now);

  const ended = await endPrevious(q, mac, token.id, input.contractId, now);
  const identification = await startIdentification(q, {
    mac,
    network_id: input.networkId,
    contract_id: input.contractId,
    token_id: token.id,
    code: token.code,
    method: input.method,
    started_at: now,
    expires_at: token.expires_at,
  });
  await recordEnded(q, ended, now, input.networkId);
  if (input.webhook) await recordStarted(q, identification, now);
  return { token, identification, existing: false, ended };
}

/** Why no unused copy can serve this device (rule 5: another device → "already used"). */
function refusalFor(mine: TokenRow[], mac: string, now: Date): Refusal {
  const t = mine.find((r) => r.mac === mac) ?? mine.find((r) => r.mac === null) ?? mine[0];
  if (t.mac === null) return 'TOKEN_ANNULLED'; // the code's unused copy was annulled
  if (t.mac !== mac) return 'TOKEN_USED';
  if (t.status === 'annulled') return 'TOKEN_ANNULLED';
  if (t.status === 'expired' || (t.expires_at && t.expires_at <= now)) return 'TOKEN_EXPIRED';
  return 'TOKEN_USED';
}

const expiryOf = (t: TokenRow, now: Date) =>
  t.duration_days === null ? null : new Date(now.getTime() + t.duration_days * DAY_MS);

/** Rule 5: the single-use row itself becomes the device's. Only one of racing devices wins. */
async function bind(q: Queryable, t: TokenRow, mac: string, now: Date): Promise<TokenRow> {
  const { rows } = await q.query<TokenRow>(
    `update tokens set status = 'active', mac = $2::text, activated_at = $3::timestamptz, expires_at = $4::timestamptz
      where id = $1::uuid and status = 'unused'
      returning *`,
    [t.id, mac, now, expiryOf(t, now)],
  );
  if (!rows[0]) throw new RaceLost();
  return rows[0];
}

/**
 * Rule 6: the device gets an activated copy and the unused copy stays. Locking the unused copy
 * queues every activation of the code, so a device racing itself still gets one copy.
 */
async function cloneFor(q: Queryable, unused: TokenRow, mac: string, now: Date): Promise<TokenRow> {
  const locked = await q.query(`select id from tokens where id = $1::uuid and status = 'unused' for update`, [unused.id]);
  if (locked.rowCount === 0) throw new RaceLost();
  const again = await q.query<TokenRow>(
    `select * from tokens where code = $1::text and mac = $2::text and status = 'active'`,
    [unused.code, mac],
  );
  if (again.rows[0]) throw new RaceLost(); // this device won a concurrent entry: replay as re-entry
  const { rows } = await q.query<TokenRow>(
    `insert into tokens (contract_id, code, multi_use, duration_days, status, mac, activated_at, expires_at, created_at)
     select contract_id, code, multi_use, duration_days, 'active', $2::text, $3::timestamptz, $4::timestamptz, created_at
       from tokens where id = $1::uuid
     returning *`,
    [unused.id, mac, now, expiryOf(unused, now)],
  );
  return rows[0];
}

/**
 * Rule 7: a device has one live identification. One in another contract ends as
 * `identified_elsewhere` (its copy annulled); one in this contract with another token is
 * `replaced`; one past its term ends as `expired` at its expiry.
 */
async function endPrevious(q: Queryable, mac: string, tokenId: string, contractId: string, now: Date): Promise<Identification[]> {
  const live = await liveIdentification(q, mac, true);
  if (!live || live.token_id === tokenId) return [];
  const expired = live.expires_at !== null && live.expires_at <= now;
  const reason: EndReason = expired ? 'expired' : live.contract_id === contractId ? 'replaced' : 'identified_elsewhere';
  const at = expired ? live.expires_at! : now;
  if (live.token_id) {
    await q.query(
      `update tokens set status = $2::text, end_reason = $3::text where id = $1::uuid and status = 'active'`,
      [live.token_id, expired ? 'expired' : 'annulled', reason],
    );
    const ended = await endIdentification(q, { tokenId: live.token_id, reason, at });
    if (ended) return [ended];
  }
  const { rows } = await q.query<Identification>(
    `update identifications set ended_at = $2::timestamptz, end_reason = $3::text where id = $1::bigint returning *`,
    [live.id, at, reason],
  );
  return rows;
}
