import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { groupCode } from '../../domain/code.js';
import { identificationLog, type LogRow } from '../../domain/identificationLog.js';
import { zonedClock, type ZonedClock } from '../../domain/zonedTime.js';
import type { Services } from '../../services.js';
import { principalOf } from '../plugins/auth.js';
import { uuid } from '../schemas.js';

/** The JSON log's fields: UTC instants, ids (rule 11), and to whom the slip was issued (rule 12). */
function jsonEntry(r: LogRow) {
  return {
    id: r.id,
    mac: r.mac,
    contractId: r.contract_id,
    networkId: r.network_id,
    tokenId: r.token_id,
    code: r.code,
    issuedTo: r.issued_to,
    method: r.method,
    startedAt: r.started_at.toISOString(),
    endedAt: r.ended_at?.toISOString() ?? null,
    endReason: r.end_reason,
    // Method `phone`: the number (E.164; null unless the reader is one of the contract's operators) and how it was confirmed.
    ...(r.method === 'phone' ? { phone: r.phone, phoneMethod: r.phone_method, provider: r.phone_provider, providerReference: r.phone_reference } : {}),
  };
}

/** The CSV's columns, for people and spreadsheets: names, the code as printed, times in the contract's zone. */
export const CSV_COLUMNS = [
  'id',
  'contract',
  'network',
  'mac',
  'method',
  'code',
  'issuedTo',
  'startedAt',
  'endedAt',
  'endReason',
  'timeZone',
  'networkId',
  'tokenId',
  'phone',
  'provider',
  'providerReference',
] as const;

function csvRow(r: LogRow, contract: string, clock: ZonedClock): (string | number | null)[] {
  const cells: Record<(typeof CSV_COLUMNS)[number], string | number | null> = {
    id: r.id,
    contract,
    network: r.network_name,
    mac: r.mac,
    method: r.method,
    code: r.code === null ? null : groupCode(r.code),
    issuedTo: r.issued_to,
    startedAt: clock.iso(r.started_at),
    endedAt: r.ended_at ? clock.iso(r.ended_at) : null,
    endReason: r.end_reason,
    timeZone: clock.timeZone,
    networkId: r.network_id,
    tokenId: r.token_id,
    phone: r.phone,
    provider: r.phone_provider,
    providerReference: r.phone_reference,
  };
  return CSV_COLUMNS.map((c) => cells[c]);
}

/**
 * One CSV cell. A text a spreadsheet would run as a formula (= + - @, tab, CR first) gets a `'`
 * before it; then RFC 4180: a cell with a comma, quote or line break is quoted, its quotes doubled.
 */
export function csvCell(value: string | number | null): string {
  if (value === null) return '';
  let s = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Lines end in CRLF (RFC 4180). */
export const csvLine = (cells: readonly (string | number | null)[]) => cells.map(csvCell).join(',') + '\r\n';

// The byte order mark makes Excel read the file as UTF-8 (Cyrillic names), as LibreOffice does anyway.
const BOM = '\ufeff';

async function* csvChunks(pages: AsyncIterable<LogRow[]>, contract: string, clock: ZonedClock): AsyncGenerator<string> {
  yield BOM + csvLine(CSV_COLUMNS);
  for await (const page of pages) yield page.map((r) => csvLine(csvRow(r, contract, clock))).join('');
}

async function* jsonChunks(pages: AsyncIterable<LogRow[]>): AsyncGenerator<string> {
  yield '{"identifications":[';
  let first = true;
  for await (const page of pages) {
    yield (first ? '' : ',') + page.map((r) => JSON.stringify(jsonEntry(r))).join(',');
    first = false;
  }
  yield ']}';
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
      const log = await identificationLog(svc, principalOf(request), { contractId: request.params.id, ...request.query, now: svc.now() });
      // Streamed a page at a time; should the store fail midway, the connection is cut, not ended cleanly.
      if (wantsCsv(request.headers.accept)) {
        const clock = zonedClock(log.contract.timeZone);
        const name = `identifications-${clock.fileDate(log.from)}-${clock.fileDate(new Date(log.until.getTime() - 1))}.csv`;
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${name}"`)
          .send(Readable.from(csvChunks(log.pages, log.contract.name, clock)));
      }
      return reply.type('application/json; charset=utf-8').send(Readable.from(jsonChunks(log.pages)));
    },
  );
}
