// Printed slips: the PDF layout of a SlipSheet. Presentation only — it reads nothing but its fonts
// and knows no rule of the product; src/domain/slips.ts decides what is printed.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import PDFDocument from 'pdfkit';
import qrcode from 'qrcode-generator';
import { groupCode } from '../domain/code.js';
import type { Slip, SlipJoin, SlipLimits, SlipSheet } from '../domain/slips.js';
import { zonedClock } from '../domain/zonedTime.js';
import { unprocessable } from '../errors.js';

export const SLIP_LAYOUTS = ['a4', 'roll80'] as const;
export type SlipLayout = (typeof SLIP_LAYOUTS)[number];

type Font = 'regular' | 'bold' | 'mono' | 'condensed';
export type SlipFonts = Readonly<Record<Font, Buffer>>;

export interface SlipPrinter {
  render(sheet: SlipSheet, layout: SlipLayout): Promise<Buffer>;
}

// DejaVu covers Cyrillic; the fonts are embedded (subset), so the text is real text in the PDF.
const require = createRequire(import.meta.url);
const FONT_FILES: Record<Font, string> = {
  regular: 'dejavu-fonts-ttf/ttf/DejaVuSans.ttf',
  bold: 'dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf',
  mono: 'dejavu-fonts-ttf/ttf/DejaVuSansMono-Bold.ttf',
  condensed: 'dejavu-fonts-ttf/ttf/DejaVuSansCondensed.ttf',
};

/** Reads the fonts once; the app keeps the printer for as long as it runs. */
export function slipPrinter(): SlipPrinter {
  const fonts: SlipFonts = Object.freeze(
    Object.fromEntries(Object.entries(FONT_FILES).map(([name, file]) => [name, readFileSync(require.resolve(file))])) as Record<Font, Buffer>,
  );
  return Object.freeze({ render: (sheet: SlipSheet, layout: SlipLayout) => renderSlips(fonts, sheet, layout) });
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

const speed = (kbps: number) => (kbps >= 1000 && kbps % 1000 === 0 ? `${kbps / 1000} Мбит/с` : `${kbps} кбит/с`);

/** "Скорость ↓ 10 Мбит/с ↑ 2 Мбит/с · Трафик 500 МБ · Устройств 3 / Speed … · Data … · Devices …", or null. */
export function limitsText(limits: SlipLimits | null): string | null {
  if (!limits) return null;
  const ru: string[] = [];
  const en: string[] = [];
  if (limits.downKbps !== null || limits.upKbps !== null) {
    const arrows = [limits.downKbps !== null ? `↓ ${speed(limits.downKbps)}` : '', limits.upKbps !== null ? `↑ ${speed(limits.upKbps)}` : ''].filter(Boolean).join(' ');
    ru.push(`Скорость ${arrows}`);
    en.push(`Speed ${arrows.replace(/Мбит\/с/g, 'Mbit/s').replace(/кбит\/с/g, 'kbit/s')}`);
  }
  if (limits.quotaMb !== null) {
    ru.push(`Трафик ${limits.quotaMb} МБ`);
    en.push(`Data ${limits.quotaMb} MB`);
  }
  if (limits.maxDevices !== null) {
    ru.push(`Устройств ${limits.maxDevices}`);
    en.push(`Devices ${limits.maxDevices}`);
  }
  return ru.length ? `${ru.join(' · ')} / ${en.join(' · ')}` : null;
}

// Points: 1 mm = 72 / 25.4 pt.
const MM = 72 / 25.4;
const A4 = { width: 595.28, height: 841.89 };
const ROLL_WIDTH = 80 * MM;
/** Text keeps at least 5 mm from every cut line; half a millimetre more covers printer drift. */
const PAD = 5.5 * MM;
const A4_MARGIN_X = 10 * MM;
const A4_MARGIN_Y = 5 * MM;
const A4_OPERATOR_WIDTH = 190;
const INK = '#000000';
const MUTED = '#555555';
/** Cut lines, dashed; the operator's writing lines use another grey, so nobody cuts along them. */
const CUT = '#888888';
const WRITE = '#aaaaaa';
const LEADING = 1.2;

interface Style {
  font: Font;
  size: number;
  color?: string;
}

type Op =
  | { kind: 'text'; text: string; x: number; y: number; style: Style }
  | { kind: 'rule'; x1: number; x2: number; y: number }
  | { kind: 'qr'; x: number; y: number; size: number };

/** A copy laid out at (0, 0): what to draw and how tall it is. */
interface Box {
  ops: Op[];
  height: number;
}

type Doc = InstanceType<typeof PDFDocument>;

type Wrap = (text: string, style: Style, width: number) => string[];

/** `wrap` for one document, remembering its answers: the slips of a sheet repeat most of their lines. */
function memoWrap(doc: Doc): Wrap {
  const seen = new Map<string, string[]>();
  return (text, style, width) => {
    const key = `${style.font}|${style.size}|${width}|${text}`;
    let lines = seen.get(key);
    if (!lines) seen.set(key, (lines = wrap(doc, text, style, width)));
    return lines;
  };
}

/** Splits text into lines no wider than `width`, at spaces; a word wider than a line is split, never cut short. */
function wrap(doc: Doc, text: string, style: Style, width: number): string[] {
  doc.font(style.font).fontSize(style.size);
  const fits = (s: string) => doc.widthOfString(s) <= width;
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const candidate = line ? `${line} ${word}` : word;
    if (fits(candidate)) {
      line = candidate;
      continue;
    }
    if (line) lines.push(line);
    let rest = Array.from(word);
    while (rest.length > 1 && !fits(rest.join(''))) {
      let n = rest.length - 1;
      while (n > 1 && !fits(rest.slice(0, n).join(''))) n--;
      lines.push(rest.slice(0, n).join(''));
      rest = rest.slice(n);
    }
    line = rest.join('');
  }
  if (line) lines.push(line);
  return lines;
}

/** Stacks wrapped lines top to bottom within one column. */
class Column {
  readonly ops: Op[] = [];
  y = 0;
  constructor(
    private readonly wrap: Wrap,
    readonly x: number,
    readonly width: number,
  ) {}

  text(text: string, style: Style, after = 0): this {
    for (const line of this.wrap(text, style, this.width)) {
      this.ops.push({ kind: 'text', text: line, x: this.x, y: this.y, style });
      this.y += style.size * LEADING;
    }
    this.y += after;
    return this;
  }

  /** A blank line to write on by hand, `height` tall, its rule at the bottom. */
  writeOn(height: number, after = 0): this {
    this.y += height;
    this.ops.push({ kind: 'rule', x1: this.x, x2: this.x + this.width, y: this.y });
    this.y += after;
    return this;
  }

  space(h: number): this {
    this.y += h;
    return this;
  }
}

const moved = (ops: Op[], dx: number, dy: number): Op[] =>
  ops.map((op) => (op.kind === 'rule' ? { ...op, x1: op.x1 + dx, x2: op.x2 + dx, y: op.y + dy } : { ...op, x: op.x + dx, y: op.y + dy }));

const STEPS = {
  ru: ['Как подключиться:', '1. Подключитесь к сети Wi-Fi.', '2. Откройте любую страницу в браузере.', '3. Введите код на странице авторизации.'],
  en: ['How to connect:', '1. Connect to the Wi-Fi network.', '2. Open any page in your browser.', '3. Enter the code on the sign-in page.'],
};

const networksLine = (networks: string[]) => (networks.length ? `Сеть Wi-Fi / Network: ${networks.join(', ')}` : 'Доступ к Wi-Fi / Wi-Fi access');
const ONLY_THESE = 'Код действует только в сетях, указанных выше. / The code works only on the networks above.';

function joinCaption(join: SlipJoin, short: boolean): string {
  if (short) return 'Сканируйте / Scan';
  return join.kind === 'wifi'
    ? 'Сканируйте, чтобы подключиться к Wi-Fi / Scan to join the Wi-Fi'
    : 'Сканируйте, чтобы открыть страницу входа / Scan for the sign-in page';
}

/** The largest size (down to `min`) at which every line fits `width` on one line. */
function fittingSize(doc: Doc, lines: string[], font: Font, width: number, max: number, min: number): number {
  doc.font(font).fontSize(1);
  const widest = Math.max(...lines.map((l) => doc.widthOfString(l)));
  return Math.max(min, Math.min(max, Math.floor((width / widest) * 10) / 10));
}

interface Layout {
  doc: Doc;
  wrap: Wrap;
  sheet: SlipSheet;
  /** Tokens of one batch share their instant: each is formatted once. */
  dateOf(at: Date): string;
  timeOf(at: Date): string;
  networkSize: number;
}

/**
 * The guest's copy on A4, `width` wide: the networks over the full width, then the QR code at the
 * left beside the code, its term and uses, and how to connect in Russian and English.
 */
function guestA4(l: Layout, s: Slip, width: number): Box {
  const { doc, sheet } = l;
  // The QR code wants a quiet zone of four modules (about 7 pt here) clear of other ink.
  const top = new Column(l.wrap, 0, width).text(networksLine(sheet.networks), { font: 'bold', size: l.networkSize }, sheet.join ? 7 : 4);
  const qr = sheet.join ? 62 : 0;
  const gap = sheet.join ? 10 : 0;
  const right = new Column(l.wrap, qr + gap, width - qr - gap);
  right.y = top.y;
  const term = termText(s.durationDays);
  const uses = usesText(s.multiUse);
  right.text(groupCode(s.code), { font: 'mono', size: 17 }, 1);
  right.text(`Срок: ${term.ru} / Term: ${term.en}${s.durationDays !== null ? ', с момента активации / from activation' : ''}`, { font: 'regular', size: 6.5 });
  right.text(`${uses.ru} / ${uses.en}`, { font: 'regular', size: 6.5 });
  const limits = limitsText(s.limits);
  if (limits) right.text(limits, { font: 'regular', size: 6.5 });
  right.space(3);
  const colGap = 8;
  const colWidth = (right.width - colGap) / 2;
  const stepSize = fittingSize(doc, [...STEPS.ru, ...STEPS.en], 'condensed', colWidth, 6.5, 5);
  const ru = new Column(l.wrap, right.x, colWidth);
  const en = new Column(l.wrap, right.x + colWidth + colGap, colWidth);
  ru.y = en.y = right.y;
  STEPS.ru.forEach((text, i) => ru.text(text, { font: i === 0 ? 'bold' : 'condensed', size: stepSize }));
  STEPS.en.forEach((text, i) => en.text(text, { font: i === 0 ? 'bold' : 'condensed', size: stepSize }));
  const ops = [...top.ops, ...right.ops, ...ru.ops, ...en.ops];
  let bottom = Math.max(ru.y, en.y);
  if (sheet.join) {
    ops.push({ kind: 'qr', x: 0, y: top.y, size: qr });
    const caption = new Column(l.wrap, 0, qr);
    caption.y = top.y + qr + 6;
    caption.text(joinCaption(sheet.join, true), { font: 'regular', size: 5, color: MUTED });
    ops.push(...caption.ops);
    bottom = Math.max(bottom, caption.y);
  }
  if (sheet.networks.length) {
    const note = new Column(l.wrap, 0, width);
    note.y = bottom + 2;
    note.text(ONLY_THESE, { font: 'regular', size: 6, color: MUTED });
    ops.push(...note.ops);
    bottom = note.y;
  }
  return { ops, height: bottom };
}

/** The guest's copy on an 80 mm roll: one column, the QR code large and centred. */
function guestRoll(l: Layout, s: Slip, width: number): Box {
  const { sheet } = l;
  const c = new Column(l.wrap, 0, width).text(networksLine(sheet.networks), { font: 'bold', size: l.networkSize }, 4);
  const term = termText(s.durationDays);
  const uses = usesText(s.multiUse);
  c.text(groupCode(s.code), { font: 'mono', size: 18 }, 2);
  c.text(`Срок: ${term.ru} / Term: ${term.en}`, { font: 'regular', size: 7 });
  if (s.durationDays !== null) c.text('с момента активации / from activation', { font: 'regular', size: 6.5, color: MUTED });
  c.text(uses.ru, { font: 'regular', size: 7 }).text(uses.en, { font: 'regular', size: 6.5, color: MUTED });
  const limits = limitsText(s.limits);
  if (limits) c.text(limits, { font: 'regular', size: 6.5 });
  // Four modules of quiet zone around the code (about 11 pt at this size).
  c.space(sheet.join ? 11 : 6);
  if (sheet.join) {
    const qr = 100;
    c.ops.push({ kind: 'qr', x: (width - qr) / 2, y: c.y, size: qr });
    c.space(qr + 11).text(joinCaption(sheet.join, false), { font: 'regular', size: 6, color: MUTED }, 6);
  }
  STEPS.ru.forEach((text, i) => c.text(text, { font: i === 0 ? 'bold' : 'regular', size: 7 }));
  c.space(3);
  STEPS.en.forEach((text, i) => c.text(text, { font: i === 0 ? 'bold' : 'regular', size: 7 }));
  if (sheet.networks.length) c.space(3).text(ONLY_THESE, { font: 'regular', size: 6, color: MUTED });
  return { ops: c.ops, height: c.y };
}

/** The operator's copy: the code, when and in which zone it was made, and lines for whom it went to. */
function operatorCopy(l: Layout, s: Slip, width: number): Box {
  const term = termText(s.durationDays);
  const muted = { font: 'regular', size: 6.5, color: MUTED } as const;
  const plain = { font: 'regular', size: 6.5 } as const;
  const c = new Column(l.wrap, 0, width)
    .text('Корешок оператора / Operator’s copy', muted, 1)
    .text(groupCode(s.code), { font: 'mono', size: 13 }, 1)
    .text(`Дата генерации / Generated: ${l.dateOf(s.createdAt)}`, plain)
    .text(l.timeOf(s.createdAt), muted)
    .text(`${term.ru} / ${term.en}, ${usesText(s.multiUse).short}`, plain, 3)
    .text('Кому выдан / Issued to:', muted);
  if (s.issuedTo) c.text(s.issuedTo, { font: 'regular', size: 7 }).writeOn(2, 3);
  else c.writeOn(11, 3);
  c.text('Паспортные данные / Passport:', muted).writeOn(11);
  return { ops: c.ops, height: c.y };
}

function draw(doc: Doc, ops: Op[], qr: QrForm | null) {
  for (const op of ops) {
    if (op.kind === 'text') {
      doc.font(op.style.font).fontSize(op.style.size).fillColor(op.style.color ?? INK).text(op.text, op.x, op.y, { lineBreak: false });
    } else if (op.kind === 'rule') {
      doc.save().moveTo(op.x1, op.y).lineTo(op.x2, op.y).lineWidth(0.4).strokeColor(WRITE).stroke().restore();
    } else if (qr) {
      drawQr(doc, qr, op.x, op.y, op.size);
    }
  }
}

function dashed(doc: Doc, x1: number, y1: number, x2: number, y2: number) {
  doc.save().moveTo(x1, y1).lineTo(x2, y2).lineWidth(0.5).dash(3, { space: 2 }).strokeColor(CUT).stroke().undash().restore();
}

interface QrMatrix {
  count: number;
  dark: (row: number, col: number) => boolean;
}

function qrMatrix(text: string): QrMatrix {
  const qr = qrcode(0, 'M');
  // The library writes one byte per character: handing it the UTF-8 bytes as Latin-1 characters
  // encodes a Cyrillic SSID as UTF-8, which phones expect.
  qr.addData(Buffer.from(text, 'utf8').toString('latin1'), 'Byte');
  qr.make();
  return { count: qr.getModuleCount(), dark: (r, c) => qr.isDark(r, c) };
}

/** A QR code drawn once into the document, placed on every slip by reference. */
interface QrForm {
  name: string;
  count: number;
  ref: ReturnType<Doc['ref']>;
}

/**
 * The code as a form XObject of one-module squares (runs of dark modules merged): vector, so it
 * prints sharp at any size, and written once however many slips carry it.
 */
function qrForm(doc: Doc, text: string): QrForm {
  const qr = qrMatrix(text);
  const runs: string[] = [];
  for (let r = 0; r < qr.count; r++) {
    for (let c = 0; c < qr.count; c++) {
      if (!qr.dark(r, c)) continue;
      let end = c;
      while (end + 1 < qr.count && qr.dark(r, end + 1)) end++;
      runs.push(`${c} ${r} ${end - c + 1} 1 re`);
      c = end;
    }
  }
  const ref = doc.ref({ Type: 'XObject', Subtype: 'Form', BBox: [0, 0, qr.count, qr.count] });
  ref.end(`0 g\n${runs.join('\n')}\nf`);
  return { name: 'KalitkaQR', count: qr.count, ref };
}

/** The code's modules fill `size`; the quiet zone is the white space the layout leaves around it. */
function drawQr(doc: Doc, qr: QrForm, x: number, y: number, size: number) {
  doc.page.xobjects[qr.name] = qr.ref;
  const m = size / qr.count;
  doc.save();
  doc.transform(m, 0, 0, m, x, y);
  doc.addContent(`/${qr.name} Do`);
  doc.restore();
}

const NETWORK_SIZES = [7.5, 7, 6.5, 6, 5.5, 5];

/**
 * A4: slips in rows, each row cut off by dashed lines, the guest's copy at the left and the
 * operator's at the right of a dashed line. Rows are as tall as the sheet's tallest slip needs
 * (all networks whole), so long names mean fewer slips to a page.
 */
function layoutA4(doc: Doc, l: Layout) {
  const usable = A4.height - 2 * A4_MARGIN_Y;
  const right = A4.width - A4_MARGIN_X;
  const cutX = right - A4_OPERATOR_WIDTH;
  const guestWidth = cutX - A4_MARGIN_X - 2 * PAD;
  const operatorWidth = A4_OPERATOR_WIDTH - 2 * PAD;
  let rows: { guest: Box; operator: Box; height: number }[] = [];
  // Many long network names shrink their line; a slip must still fit on a page.
  for (const size of NETWORK_SIZES) {
    l.networkSize = size;
    rows = l.sheet.slips.map((s) => {
      const guest = guestA4(l, s, guestWidth);
      const operator = operatorCopy(l, s, operatorWidth);
      return { guest, operator, height: Math.max(guest.height, operator.height) + 2 * PAD };
    });
    if (rows.every((r) => r.height <= usable)) break;
  }
  if (rows.some((r) => r.height > usable)) {
    throw unprocessable('SLIPS_DO_NOT_FIT', 'The network names do not fit on an A4 slip; print with layout=roll80');
  }
  // One height for every row of the sheet, the tallest slip's, stretched so whole rows fill a
  // page: the same grid on every page, cut with a guillotine in one go.
  const perPage = Math.floor(usable / Math.max(...rows.map((r) => r.height)));
  const rowHeight = usable / perPage;
  const qr = l.sheet.join ? qrForm(doc, l.sheet.join.text) : null;
  for (let start = 0; start < rows.length; start += perPage) {
    const page = rows.slice(start, start + perPage);
    doc.addPage({ size: 'A4', margin: 0 });
    const top = A4_MARGIN_Y;
    for (let i = 0; i <= page.length; i++) dashed(doc, A4_MARGIN_X, top + i * rowHeight, right, top + i * rowHeight);
    dashed(doc, cutX, top, cutX, top + page.length * rowHeight);
    page.forEach((row, i) => {
      draw(doc, moved(row.guest.ops, A4_MARGIN_X + PAD, top + i * rowHeight + PAD), qr);
      draw(doc, moved(row.operator.ops, cutX + PAD, top + i * rowHeight + PAD), qr);
    });
  }
}

/** 80 mm roll: one page per slip, so the printer cuts after each; the guest's copy, a dashed line, the operator's. */
function layoutRoll(doc: Doc, l: Layout) {
  const width = ROLL_WIDTH - 2 * PAD;
  l.networkSize = 7.5;
  const qr = l.sheet.join ? qrForm(doc, l.sheet.join.text) : null;
  for (const s of l.sheet.slips) {
    const guest = guestRoll(l, s, width);
    const operator = operatorCopy(l, s, width);
    const cutY = PAD + guest.height + PAD;
    doc.addPage({ size: [ROLL_WIDTH, cutY + PAD + operator.height + PAD], margin: 0 });
    draw(doc, moved(guest.ops, PAD, PAD), qr);
    dashed(doc, 0, cutY, ROLL_WIDTH, cutY);
    draw(doc, moved(operator.ops, PAD, cutY + PAD), qr);
  }
}

/** Data in, PDF out: A4 sheets to cut, or an 80 mm thermal roll. */
export function renderSlips(fonts: SlipFonts, sheet: SlipSheet, layout: SlipLayout): Promise<Buffer> {
  const doc = new PDFDocument({
    autoFirstPage: false,
    info: { Title: `Токены Wi-Fi / Wi-Fi tokens — ${sheet.contractName}`, Creator: 'Kalitka', CreationDate: sheet.printedAt },
  });
  for (const [name, data] of Object.entries(fonts)) doc.registerFont(name, data);
  const done = new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const clock = zonedClock(sheet.timeZone);
  const once = (format: (at: Date) => string) => {
    const seen = new Map<number, string>();
    return (at: Date) => {
      let text = seen.get(at.getTime());
      if (text === undefined) seen.set(at.getTime(), (text = format(at)));
      return text;
    };
  };
  const l: Layout = {
    doc,
    wrap: memoWrap(doc),
    sheet,
    dateOf: once((at) => clock.date(at)),
    timeOf: once((at) => `${clock.time(at)} ${clock.timeZone} (${clock.offset(at)})`),
    networkSize: NETWORK_SIZES[0],
  };
  try {
    if (sheet.slips.length === 0) {
      const width = layout === 'roll80' ? ROLL_WIDTH : A4.width;
      const text = new Column(l.wrap, PAD, width - 2 * PAD).text('Нет неиспользованных токенов / No unused tokens', { font: 'regular', size: 12 });
      doc.addPage({ size: layout === 'roll80' ? [ROLL_WIDTH, text.y + 2 * PAD] : 'A4', margin: 0 });
      draw(doc, moved(text.ops, 0, PAD), null);
    } else if (layout === 'roll80') {
      layoutRoll(doc, l);
    } else {
      layoutA4(doc, l);
    }
  } catch (err) {
    doc.end();
    return done.then(() => Promise.reject(err));
  }
  doc.end();
  return done;
}
