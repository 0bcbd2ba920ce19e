import { badRequest } from '../errors.js';
import { logPage, type LogRow as StoredRow } from '../store/identificationLog.js';
import { numberContext, phoneCrypto } from './phone/crypto.js';
import type { Principal } from './actor.js';
import { visibleContractZone, type ContractZone, type ExportDeps } from './contractZone.js';
import { zonedClock, type ZonedClock } from './zonedTime.js';

/** A log row as readers get it: `phone` (E.164) only for the contract's own operators, else null. */
export type LogRow = StoredRow & { phone: string | null };

export const LOG_PAGE_SIZE = 1000;
const DAY_MS = 86_400_000;
const DEFAULT_DAYS = 30;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/** A day in the contract's zone or an instant with its own zone; a date that does not exist (2026-02-30) is refused. */
function parseWhen(name: string, raw: string, clock: ZonedClock): { at: Date; nextDay: Date | null } {
  const day = DATE_ONLY.exec(raw);
  const m = day ?? DATE_TIME.exec(raw);
  const real = m !== null && new Date(Date.UTC(+m[1], +m[2] - 1, +m[3])).toISOString().slice(0, 10) === `${m[1]}-${m[2]}-${m[3]}`;
  const at = !real ? null : day ? clock.startOfDay(+m[1], +m[2], +m[3]) : new Date(raw);
  if (!at || Number.isNaN(at.getTime())) {
    throw badRequest('INVALID_DATE', `${name} must be a date (2026-11-23) or an instant with its zone (2026-11-23T10:00:00Z)`);
  }
  return { at, nextDay: day ? clock.startOfDay(+m![1], +m![2], +m![3] + 1) : null };
}

/**
 * The period asked for, as [from, until). A day is the contract's day. `to` is inclusive: a day
 * means through its end, an instant up to and including it. Both default to the 30 days up to now.
 */
export function logPeriod(query: { from?: string; to?: string }, now: Date, clock: ZonedClock): { from: Date; until: Date } {
  // An empty value (`?from=&to=`, a form sent as it stood) is one not given.
  const to = !query.to ? { at: now, nextDay: null } : parseWhen('to', query.to, clock);
  const from = !query.from ? new Date(to.at.getTime() - DEFAULT_DAYS * DAY_MS) : parseWhen('from', query.from, clock).at;
  if (from > to.at) throw badRequest('INVALID_PERIOD', 'from must not be later than to');
  return { from, until: to.nextDay ?? new Date(to.at.getTime() + 1) };
}

export interface IdentificationLog {
  contract: ContractZone;
  from: Date;
  until: Date;
  /** Pages of rows in id order. The first is read already, so a store that is down fails the call, not the stream. */
  pages: AsyncGenerator<LogRow[]>;
}

/**
 * A contract's identification log over a period, for an actor who may see the contract (another
 * contract's is NOT_FOUND). Read one keyset page at a time, so an export of months never sits in
 * memory whole.
 */
export async function identificationLog(
  deps: ExportDeps & { secret?: Buffer },
  actor: Principal,
  input: { contractId: string; from?: string; to?: string; now: Date; pageSize?: number },
): Promise<IdentificationLog> {
  const contract = await visibleContractZone(deps, actor, input.contractId);
  const { from, until } = logPeriod(input, input.now, zonedClock(contract.timeZone));
  const limit = input.pageSize ?? LOG_PAGE_SIZE;
  // Rule 16: the number is shown only to the contract's operators (not a system administrator, not an issuer).
  const box = deps.secret && !actor.isSystem && actor.contractId === contract.id && actor.role === 'operator' ? phoneCrypto(deps.secret) : null;
  const numberOf = (r: StoredRow): string | null => {
    if (!box || !r.phone_sealed) return null;
    try {
      return box.open(r.phone_sealed, numberContext(contract.id));
    } catch {
      return null; // sealed under another server secret
    }
  };
  async function* pages(): AsyncGenerator<LogRow[]> {
    for (let after = 0; ; ) {
      const stored = await logPage(deps.db, contract.id, { after, from, until, limit });
      const rows = stored.map((r) => ({ ...r, phone: numberOf(r) }));
      if (rows.length > 0) yield rows;
      if (rows.length < limit) return;
      after = rows[rows.length - 1].id;
    }
  }
  return { contract, from, until, pages: await started(pages()) };
}

/** Reads the first page now; the rest as the caller asks. */
async function started<T>(pages: AsyncGenerator<T>): Promise<AsyncGenerator<T>> {
  const first = await pages.next();
  return (async function* () {
    if (first.done) return;
    yield first.value;
    yield* pages;
  })();
}
