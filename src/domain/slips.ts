import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import PDFDocument from 'pdfkit';
import type { Queryable } from '../store/db.js';
import { groupCode } from './code.js';

/** One printed slip: an unused token. */
export interface Slip {
  code: string;
  multiUse: boolean;
  durationDays: number | null;
  createdAt: Date;
  issuedTo: string | null;
}

export interface SlipSheet {
  /** Names of the contract's Wi-Fi networks, printed on the guest's copy. */
  networks: string[];
  slips: Slip[];
  printedAt: Date;
  /** IANA zone for the printed dates; the server's own when absent. */
  timeZone?: string;
}

/** The unused tokens of a contract and its network names, in the order they were made. */
export async function loadSlips(q: Queryable, contractId: string): Promise<Pick<SlipSheet, 'networks' | 'slips'>> {
  const networks = await q.query<{ name: string }>(
    `select name from networks where contract_id = $1::uuid order by created_at, id`,
    [contractId],
  );
  const tokens = await q.query<{ code: string; multi_use: boolean; duration_days: number | null; created_at: Date; issued_to: string | null }>(
    `select code, multi_use, duration_days, created_at, issued_to from tokens
      where contract_id = $1::uuid and status = 'unused' order by created_at, code`,
    [contractId],
  );
  return {
    networks: networks.rows.map((n) => n.name),
    slips: tokens.rows.map((r) => ({
      code: r.code,
      multiUse: r.multi_use,
      durationDays: r.duration_days,
      createdAt: r.created_at,
      issuedTo: r.issued_to,
    })),
  };
}

/** «сутки» has no singular: 1, 21, 31 сутки; otherwise суток. */
export function daysRu(n: number): string {
  return n % 10 === 1 && n % 100 !== 11 ? `${n} сутки` : `${n} суток`;
}

const daysEn = (n: number) => (n === 1 ? '1 day' : `${n} days`);

export function termText(durationDays: number | null): { ru: string; en: string } {
  return durationDays === null ? { ru: 'бессрочный', en: 'unlimited' } : { ru: daysRu(durationDays), en: daysEn(durationDays) };
}

const usesText = (multiUse: boolean) =>
  multiUse
    ? { ru: 'Многоразовый: на любом числе устройств', en: 'Multi-use: any number of devices', short: 'многоразовый / multi-use' }
    : { ru: 'Одноразовый: на одном устройстве', en: 'Single-use: one device', short: 'одноразовый / single-use' };

// Making a DateTimeFormat costs far more than using one: a sheet of 200 slips uses one.
const dateFormats = new Map<string, Intl.DateTimeFormat>();
function dateParts(at: Date, timeZone?: string): { day: string; month: string; year: string } {
  const key = timeZone ?? '';
  let format = dateFormats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', { timeZone, day: '2-digit', month: '2-digit', year: 'numeric' });
    dateFormats.set(key, format);
  }
  const parts = format.formatToParts(at);
  const part = (type: string) => parts.find((p) => p.type === type)!.value;
  return { day: part('day'), month: part('month'), year: part('year') };
}

/** dd.mm.yyyy, as Russian paperwork writes dates. */
export function printedDate(at: Date, timeZone?: string): string {
  const { day, month, year } = dateParts(at, timeZone);
  return `${day}.${month}.${year}`;
}

/** yyyy-mm-dd, for file names. */
export function fileDate(at: Date, timeZone?: string): string {
  const { day, month, year } = dateParts(at, timeZone);
  return `${year}-${month}-${day}`;
}

// DejaVu covers Cyrillic; the fonts are embedded (subset), so the text is real text in the PDF.
const require = createRequire(import.meta.url);
let fonts: { regular: Buffer; bold: Buffer; mono: Buffer } | null = null;
function loadFonts() {
  fonts ??= {
    regular: readFileSync(require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf')),
    bold: readFileSync(require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf')),
    mono: readFileSync(require.resolve('dejavu-fonts-ttf/ttf/DejaVuSansMono-Bold.ttf')),
  };
  return fonts;
}

// A4 in points; 1 cm ≈ 28.35 pt.
const PAGE = { width: 595.28, height: 841.89 };
const MARGIN_X = 28;
const MARGIN_Y = 20;
const MIN_SLIP_HEIGHT = 96;
const GUEST_WIDTH = 330; // the rest of the width is the operator's copy
const PAD = 8;
const INK = '#000000';
const MUTED = '#555555';
const RULE = '#888888';

type Font = 'regular' | 'bold' | 'mono';

/**
 * Lays out slips on A4 pages, as many as fit, each in two columns separated by a dashed cut line:
 * the guest's copy with how to connect, and the operator's copy with the generation date and lines
 * for whom it was issued to. Data in, PDF out; nothing is read but the fonts.
 */
export function renderSlips(sheet: SlipSheet): Promise<Buffer> {
  const f = loadFonts();
  const doc = new PDFDocument({
    size: 'A4',
    margin: 0,
    autoFirstPage: false,
    info: { Title: 'Токены Wi-Fi / Wi-Fi tokens', Creator: 'Kalitka', CreationDate: sheet.printedAt },
  });
  doc.registerFont('regular', f.regular);
  doc.registerFont('bold', f.bold);
  doc.registerFont('mono', f.mono);
  const done = new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });

  /** One line of text, shrunk (down to `min`) and then cut with an ellipsis to fit `width`. */
  const line = (text: string, x: number, y: number, width: number, font: Font, size: number, color = INK, min = size * 0.75) => {
    doc.font(font).fontSize(size);
    const natural = doc.widthOfString(text);
    if (natural > width) {
      size = Math.max(min, (size * width) / natural);
      doc.fontSize(size);
      while (text.length > 1 && doc.widthOfString(text) > width) text = text.slice(0, -2).trimEnd() + '…';
    }
    doc.fillColor(color).text(text, x, y, { lineBreak: false });
  };

  const dashed = (x1: number, y1: number, x2: number, y2: number) => {
    doc.save().moveTo(x1, y1).lineTo(x2, y2).lineWidth(0.5).dash(3, { space: 2 }).strokeColor(RULE).stroke().undash().restore();
  };

  const writeOn = (x1: number, x2: number, y: number) => {
    doc.save().moveTo(x1, y).lineTo(x2, y).lineWidth(0.4).strokeColor(RULE).stroke().restore();
  };

  const usable = PAGE.height - 2 * MARGIN_Y;
  const perPage = Math.floor(usable / MIN_SLIP_HEIGHT);
  const slipHeight = usable / perPage;
  const right = PAGE.width - MARGIN_X;
  const cutX = MARGIN_X + GUEST_WIDTH;
  const networks = sheet.networks.join(', ');
  // Slips of one batch share their date: format each date once.
  const dates = new Map<number, string>();
  const dateOf = (at: Date) => {
    let text = dates.get(at.getTime());
    if (text === undefined) dates.set(at.getTime(), (text = printedDate(at, sheet.timeZone)));
    return text;
  };

  const guestCopy = (s: Slip, top: number) => {
    const x = MARGIN_X + PAD;
    const width = GUEST_WIDTH - 2 * PAD;
    const term = termText(s.durationDays);
    const uses = usesText(s.multiUse);
    line(networks ? `Сеть Wi-Fi / Network: ${networks}` : 'Доступ к Wi-Fi / Wi-Fi access', x, top + 7, width, 'bold', 8);
    line(groupCode(s.code), x, top + 19, 176, 'mono', 20);
    const side = x + 182;
    const sideWidth = width - 182;
    const facts: [string, number, string][] = [[`Срок: ${term.ru} / Term: ${term.en}`, 7, INK]];
    if (s.durationDays !== null) facts.push(['с момента активации / from activation', 6.5, MUTED]);
    facts.push([uses.ru, 7, INK], [uses.en, 6.5, MUTED]);
    facts.forEach(([text, size, color], i) => line(text, side, top + 18 + i * 8.5, sideWidth, 'regular', size, color));

    const colWidth = (width - 10) / 2;
    const steps = [
      ['Как подключиться:', '1. Подключитесь к сети Wi-Fi.', '2. Откройте любую страницу в браузере.', '3. Введите код на странице авторизации.'],
      ['How to connect:', '1. Connect to the Wi-Fi network.', '2. Open any page in your browser.', '3. Enter the code on the sign-in page.'],
    ];
    steps.forEach((lines, col) =>
      lines.forEach((text, i) => line(text, x + col * (colWidth + 10), top + 55 + i * 8.5, colWidth, i === 0 ? 'bold' : 'regular', 7)),
    );
    if (networks) {
      line('Код действует только в сетях, указанных выше. / The code works only on the networks above.', x, top + 89.5, width, 'regular', 6, MUTED);
    }
  };

  const operatorCopy = (s: Slip, top: number) => {
    const x = cutX + PAD + 2;
    const width = right - PAD - x;
    const term = termText(s.durationDays);
    line('Корешок оператора / Operator’s copy', x, top + 6, width, 'regular', 6.5, MUTED);
    line(groupCode(s.code), x, top + 15, width, 'mono', 14);
    line(`Дата генерации / Generated: ${dateOf(s.createdAt)}`, x, top + 33, width, 'regular', 7);
    line(`${term.ru} / ${term.en}, ${usesText(s.multiUse).short}`, x, top + 42, width, 'regular', 7);
    line('Кому выдан / Issued to:', x, top + 54, width, 'regular', 6.5, MUTED);
    if (s.issuedTo) line(s.issuedTo, x, top + 62, width, 'regular', 7.5, INK, 5);
    writeOn(x, right - PAD, top + 72);
    line('Паспортные данные / Passport:', x, top + 75, width, 'regular', 6.5, MUTED);
    writeOn(x, right - PAD, top + 93);
  };

  if (sheet.slips.length === 0) {
    doc.addPage();
    line('Нет неиспользованных токенов / No unused tokens', MARGIN_X, MARGIN_Y, PAGE.width - 2 * MARGIN_X, 'regular', 12);
  }
  for (let start = 0; start < sheet.slips.length; start += perPage) {
    doc.addPage();
    const page = sheet.slips.slice(start, start + perPage);
    const bottom = MARGIN_Y + page.length * slipHeight;
    for (let i = 0; i <= page.length; i++) dashed(MARGIN_X, MARGIN_Y + i * slipHeight, right, MARGIN_Y + i * slipHeight);
    dashed(cutX, MARGIN_Y, cutX, bottom);
    page.forEach((s, i) => {
      const top = MARGIN_Y + i * slipHeight;
      guestCopy(s, top);
      operatorCopy(s, top);
    });
  }
  doc.end();
  return done;
}
