// HTTP layer: the panel's sessions and identification-log pages. Translation only; the use cases
// enforce tenancy. May import src/domain/*, src/errors.ts and http helpers; never the store or cache.
import type { FastifyInstance } from 'fastify';
import { groupCode } from '../../domain/code.js';
import { identificationLog as logExport } from '../../domain/identificationLog.js';
import { identificationLog, liveIdentifications, type ShownIdentification } from '../../domain/identifications.js';
import { sendLogCsv } from '../logCsv.js';
import { notFound } from '../../errors.js';
import type { Lang } from '../views.js';
import { actorOf, chooseContract, field, panelClock, sendPage, type Panel, type PanelClock } from './page.js';

export const LOG_ROWS = 1000;
export const LOG_MAX_DAYS = 366;

// Days on the log's filter are calendar days of the contract's zone, held as UTC midnights so that
// adding days is plain arithmetic; `startOf` turns one into the instant that day begins in the zone.

/** `yyyy-mm-dd` → that calendar day (at UTC midnight), or null when it is not a real date. */
function parseDay(value: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d ? date : null;
}

const addDays = (d: Date, n: number) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + n));
const dayText = (d: Date) => d.toISOString().slice(0, 10);
const startOf = (clock: PanelClock, d: Date) => clock.startOfDay(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate());

/** The sessions page (live identifications) and the identification log. */
export async function activityPages(app: FastifyInstance, { panel }: { panel: Panel }) {
  const { svc, views } = panel;

  const rowView = (lang: Lang, clock: PanelClock, i: ShownIdentification) => ({
    mac: i.mac,
    network: i.network_name ?? views.text(lang, 'log.networkGone'),
    // A phone identification has no code: the number stands in its column (for the contract's operators).
    code: i.code ? groupCode(i.code) : (i.phone ?? ''),
    method: i.method === 'token' ? views.text(lang, 'method.token') : i.method === 'phone' ? views.text(lang, 'method.phone', { how: i.phone_method ? views.text(lang, `phone.method.${i.phone_method}`) : '' }) : i.method,
    startedAt: clock.at(i.started_at),
    expiresAt: i.expires_at ? clock.at(i.expires_at) : views.text(lang, 'term.unlimited'),
    endedAt: clock.at(i.ended_at),
    endReason: i.end_reason ? views.text(lang, `reason.${i.end_reason}`) : '',
  });

  app.get('/sessions', async (request, reply) => {
    const lang = request.lang;
    const choice = await chooseContract(panel, request, field(request.query, 'contract'));
    const rows = choice.current ? await liveIdentifications(svc, actorOf(request), { contractId: choice.current.id, now: svc.now() }) : [];
    return sendPage(panel, request, reply, 'sessions', { contract: choice.current, rows: rows.map((r) => rowView(lang, panelClock(choice.current!.timeZone), r)) }, {
      title: views.text(lang, 'sessions.title'),
      section: 'sessions',
      contracts: choice,
    });
  });

  app.get('/log', async (request, reply) => {
    const lang = request.lang;
    const choice = await chooseContract(panel, request, field(request.query, 'contract'));
    const clock = panelClock(choice.current?.timeZone ?? svc.config.timeZone);
    const today = parseDay(clock.day(svc.now()))!;
    let from = addDays(today, -6);
    let to = today;
    let error = '';
    const fromText = field(request.query, 'from');
    const toText = field(request.query, 'to');
    if (fromText || toText) {
      const f = parseDay(fromText);
      const t = parseDay(toText);
      if (!f || !t) error = views.text(lang, 'log.bad.date');
      else if (f > t) error = views.text(lang, 'log.bad.order');
      else if (addDays(f, LOG_MAX_DAYS) <= t) error = views.text(lang, 'log.bad.range', { days: LOG_MAX_DAYS });
      else [from, to] = [f, t];
    }
    const rows = choice.current
      ? await identificationLog(svc, actorOf(request), { contractId: choice.current.id, from: startOf(clock, from), to: startOf(clock, addDays(to, 1)), limit: LOG_ROWS + 1 })
      : [];
    return sendPage(
      panel,
      request,
      reply,
      'log',
      {
        contract: choice.current,
        from: error ? fromText : dayText(from),
        to: error ? toText : dayText(to),
        error,
        truncated: rows.length > LOG_ROWS ? views.text(lang, 'log.truncated', { n: LOG_ROWS }) : '',
        rows: rows.slice(0, LOG_ROWS).map((r) => rowView(lang, clock, r)),
        csvUrl: error || !choice.current ? '' : `/admin/log.csv?${new URLSearchParams({ contract: choice.current.id, from: dayText(from), to: dayText(to) })}`,
      },
      { title: views.text(lang, 'log.title'), section: 'log', contracts: choice, status: error ? 400 : 200 },
    );
  });

  // The same days as a CSV file for a spreadsheet (the whole period, not only the first rows
  // shown): the API's export, with the byte order mark Excel needs to read Cyrillic as UTF-8.
  app.get('/log.csv', async (request, reply) => {
    const choice = await chooseContract(panel, request, field(request.query, 'contract'));
    if (!choice.current) throw notFound('Contract');
    const log = await logExport(svc, actorOf(request), { contractId: choice.current.id, from: field(request.query, 'from'), to: field(request.query, 'to'), now: svc.now() });
    return sendLogCsv(reply, log, { bom: true });
  });
}
