// HTTP layer: the identification log as CSV, for the admin API and the panel's download.
import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { groupCode } from '../domain/code.js';
import type { IdentificationLog, LogRow } from '../domain/identificationLog.js';
import { zonedClock, type ZonedClock } from '../domain/zonedTime.js';

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

// The byte order mark makes Excel read the file as UTF-8 (Cyrillic names); LibreOffice does anyway,
// and a program reading the API's export would find it glued to the first column's name.
const BOM = '\ufeff';

async function* csvChunks(pages: AsyncIterable<LogRow[]>, contract: string, clock: ZonedClock, bom: boolean): AsyncGenerator<string> {
  yield (bom ? BOM : '') + csvLine(CSV_COLUMNS);
  for await (const page of pages) yield page.map((r) => csvLine(csvRow(r, contract, clock))).join('');
}

/**
 * The log as a CSV attachment named after its period, streamed a page at a time: should the store
 * fail midway, the connection is cut, not ended cleanly.
 */
export function sendLogCsv(reply: FastifyReply, log: IdentificationLog, options: { bom: boolean }): FastifyReply {
  const clock = zonedClock(log.contract.timeZone);
  const name = `identifications-${clock.fileDate(log.from)}-${clock.fileDate(new Date(log.until.getTime() - 1))}.csv`;
  return reply
    .type('text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${name}"`)
    .send(Readable.from(csvChunks(log.pages, log.contract.name, clock, options.bom)));
}

