import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { findContract } from '../../domain/contracts.js';
import { identificationLogPages, LOG_FIELDS, type LogEntry } from '../../domain/identificationLog.js';
import { badRequest } from '../../errors.js';
import type { Services } from '../../services.js';
import { principalOf, scopeOf } from '../plugins/auth.js';
import { uuid } from '../schemas.js';

const DAY_MS = 86_400_000;
const DEFAULT_DAYS = 30;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/** A day (UTC) or an instant with its zone; a date that does not exist (2026-02-30) is refused. */
function parseWhen(name: string, raw: string): { at: Date; wholeDay: boolean } {
  const m = DATE_ONLY.exec(raw) ?? DATE_TIME.exec(raw);
  const at = new Date(DATE_ONLY.test(raw) ? `${raw}T00:00:00Z` : raw);
  const real =
    m !== null &&
    !Number.isNaN(at.getTime()) &&
    new Date(Date.UTC(+m[1], +m[2] - 1, +m[3])).toISOString().slice(0, 10) === `${m[1]}-${m[2]}-${m[3]}`;
  if (!real) {
    throw badRequest('INVALID_DATE', `${name} must be a date (2026-11-23) or an instant with its zone (2026-11-23T10:00:00Z)`);
  }
  return { at, wholeDay: DATE_ONLY.test(raw) };
}

/**
 * The period asked for, as [from, until). `to` is inclusive: a day means through its end, an
 * instant means up to and including it. Both default to the 30 days up to now.
 */
export function logPeriod(query: { from?: string; to?: string }, now: Date): { from: Date; until: Date } {
  const to = query.to === undefined ? { at: now, wholeDay: false } : parseWhen('to', query.to);
  const from = query.from === undefined ? new Date(to.at.getTime() - DEFAULT_DAYS * DAY_MS) : parseWhen('from', query.from).at;
  if (from > to.at) throw badRequest('INVALID_PERIOD', 'from must not be later than to');
  return { from, until: new Date(to.at.getTime() + (to.wholeDay ? DAY_MS : 1)) };
}

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled; lines end in CRLF. */
function csvField(value: string | number | null): string {
  if (value === null) return '';
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const csvLine = (fields: readonly (string | number | null)[]) => fields.map(csvField).join(',') + '\r\n';

async function* csvChunks(pages: AsyncIterable<LogEntry[]>): AsyncGenerator<string> {
  yield csvLine(LOG_FIELDS);
  for await (const page of pages) yield page.map((e) => csvLine(LOG_FIELDS.map((f) => e[f]))).join('');
}

async function* jsonChunks(pages: AsyncIterable<LogEntry[]>): AsyncGenerator<string> {
  yield '{"identifications":[';
  let first = true;
  for await (const page of pages) {
    yield (first ? '' : ',') + page.map((e) => JSON.stringify(e)).join(',');
    first = false;
  }
  yield ']}';
}

/** Reads the first page now, so a store that is down answers 503 instead of a cut-off 200. */
async function started<T>(pages: AsyncGenerator<T>): Promise<AsyncGenerator<T>> {
  const first = await pages.next();
  return (async function* () {
    if (first.done) return;
    yield first.value;
    yield* pages;
  })();
}

const wantsCsv = (accept: string | undefined) => /(^|,)\s*text\/csv\s*(;|,|$)/i.test(accept ?? '');

export async function identificationRoutes(app: FastifyInstance, { svc }: { svc: Services }) {
  app.get<{ Params: { id: string }; Querystring: { from?: string; to?: string } }>(
    '/api/v1/contracts/:id/identifications',
    {
      schema: {
        params: { type: 'object', required: ['id'], properties: { id: uuid }, additionalProperties: false },
        querystring: {
          type: 'object',
          properties: { from: { type: 'string', maxLength: 40 }, to: { type: 'string', maxLength: 40 } },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const contract = await findContract(svc.db, request.params.id, scopeOf(principalOf(request)));
      const { from, until } = logPeriod(request.query, svc.now());
      const pages = await started(identificationLogPages(svc.db, { contractId: contract.id, from, until }));
      // Streamed a page at a time; should the store fail midway, the connection is cut, not ended cleanly.
      if (wantsCsv(request.headers.accept)) {
        const name = `identifications-${from.toISOString().slice(0, 10)}-${new Date(until.getTime() - 1).toISOString().slice(0, 10)}.csv`;
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${name}"`)
          .send(Readable.from(csvChunks(pages)));
      }
      return reply.type('application/json; charset=utf-8').send(Readable.from(jsonChunks(pages)));
    },
  );
}
