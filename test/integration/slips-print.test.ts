// What a printed sheet must be, checked from the PDF itself with poppler and zbar: every network
// name whole, text clear of the cut lines, a QR code that decodes, an 80 mm roll beside A4.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { groupCode } from '../../src/domain/code.js';
import { printSlips, type SlipLimits } from '../../src/domain/slips.js';
import { setIssuedTo } from '../../src/domain/tokens.js';
import { slipPrinter } from '../../src/pdf/slips.js';
import { makeContract, makeNetwork, makeToken, makeTokens, makeUser, operatorOf } from '../helpers/factories.js';
import { appFor, call } from '../helpers/adminApi.js';
import { escaped, signedIn } from '../helpers/panel.js';
import { testEnv, usingServers } from '../helpers/services.js';

const artifacts = path.resolve(import.meta.dirname, '../../test-artifacts');
mkdirSync(artifacts, { recursive: true });
const setupName = usingServers ? 'servers' : 'embedded';
const MM = 72 / 25.4;
const LONG_NAMES = [
  'Кафе «Калитка» на Набережной, второй этаж, зал для конференций и переговоров',
  'Гостиница «Северная звезда» — лобби, ресторан и открытая терраса у бассейна',
  'Hotel Grand Palace Conference Centre North Wing Guest Network For Visitors',
];
const ISSUED_TO = 'Иванова Мария Сергеевна, паспорт 4512 654321, выдан ОУФМС России по г. Москве';

const occurrences = (text: string, needle: string) => text.split(needle).length - 1;

function saved(pdf: Buffer, name: string): string {
  const file = path.join(artifacts, `${name}-${setupName}.pdf`);
  writeFileSync(file, pdf);
  return file;
}

const rawText = (file: string) => execFileSync('pdftotext', ['-raw', file, '-'], { encoding: 'utf8' });
/** The text in the order it was drawn, every run of white space one space: a wrapped name reads whole. */
const flatText = (file: string) => rawText(file).replace(/\s+/g, ' ');

function pageSizes(file: string): { width: number; height: number }[] {
  const out = execFileSync('pdfinfo', ['-f', '1', '-l', '1000', file], { encoding: 'utf8' });
  return [...out.matchAll(/Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts/g)].map((m) => ({ width: Number(m[1]), height: Number(m[2]) }));
}

interface Word {
  text: string;
  xMin: number;
  yMin: number;
  xMax: number;
  yMax: number;
}

/** Every word's box in points, top-left origin, page by page, as poppler reads it from the PDF. */
function wordBoxes(file: string): Word[][] {
  const html = execFileSync('pdftotext', ['-bbox', file, '-'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return html.split('<page ').slice(1).map((page) =>
    [...page.matchAll(/<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<\/word>/g)].map((m) => ({
      text: m[5],
      xMin: Number(m[1]),
      yMin: Number(m[2]),
      xMax: Number(m[3]),
      yMax: Number(m[4]),
    })),
  );
}

interface CutLine {
  /** `h`: at y = at, from `from` to `to` along x; `v`: at x = at, along y. Points. */
  dir: 'h' | 'v';
  at: number;
  from: number;
  to: number;
}

const DPI = 144;
/** Cut lines are drawn dashed in #888888; nothing else on a slip has that grey. */
const CUT_GREY = 0x88;

/**
 * The dashed cut lines of one page, found in a picture of it (no anti-aliasing, so colours stay
 * exact): rows and columns where the cut lines' grey covers much of the length.
 */
function cutLines(file: string, page: number): CutLine[] {
  const prefix = path.join(artifacts, `cuts-${setupName}`);
  execFileSync('pdftoppm', ['-gray', '-aa', 'no', '-aaVector', 'no', '-r', String(DPI), '-f', String(page), '-l', String(page), '-singlefile', file, prefix]);
  const pgm = readFileSync(`${prefix}.pgm`);
  const header = /^P5\s+(\d+)\s+(\d+)\s+255\s/.exec(pgm.subarray(0, 40).toString('latin1'))!;
  const [w, h, offset] = [Number(header[1]), Number(header[2]), header[0].length];
  const grey = (x: number, y: number) => pgm[offset + y * w + x] === CUT_GREY;
  const px = 72 / DPI;
  /** Centres (in pixels) of runs of adjacent rows or columns that pass `min`. */
  const runs = (count: (i: number) => number, n: number, min: number) => {
    const found: number[][] = [];
    for (let i = 0; i < n; i++) {
      if (count(i) < min) continue;
      const last = found[found.length - 1];
      if (last && last[last.length - 1] === i - 1) last.push(i);
      else found.push([i]);
    }
    return found.map((r) => ({ first: r[0], centre: (r[0] + r[r.length - 1] + 1) / 2 }));
  };
  const extent = (n: number, at: (i: number) => boolean) => {
    let first = -1;
    let last = -1;
    for (let i = 0; i < n; i++) if (at(i)) [first, last] = [first < 0 ? i : first, i];
    return { from: first * px, to: (last + 1) * px };
  };
  const countRow = (y: number) => {
    let c = 0;
    for (let x = 0; x < w; x++) c += grey(x, y) ? 1 : 0;
    return c;
  };
  const countCol = (x: number) => {
    let c = 0;
    for (let y = 0; y < h; y++) c += grey(x, y) ? 1 : 0;
    return c;
  };
  const rows = runs(countRow, h, w * 0.3);
  const lines: CutLine[] = rows.map((r) => ({ dir: 'h', at: r.centre * px, ...extent(w, (x) => grey(x, r.first)) }));
  const span = rows.length > 1 ? rows[rows.length - 1].centre - rows[0].centre : h;
  for (const c of runs(countCol, w, span * 0.3)) lines.push({ dir: 'v', at: c.centre * px, ...extent(h, (y) => grey(c.first, y)) });
  return lines;
}

/** How near any word comes to a cut line that runs past it, in points. */
function nearestToCut(words: Word[], lines: CutLine[]): { distance: number; word: string } {
  let nearest = { distance: Infinity, word: '' };
  for (const line of lines) {
    for (const w of words) {
      const [lo, hi, a, b] = line.dir === 'h' ? [w.yMin, w.yMax, w.xMin, w.xMax] : [w.xMin, w.xMax, w.yMin, w.yMax];
      if (b < line.from || a > line.to) continue;
      const distance = hi <= line.at ? line.at - hi : lo >= line.at ? lo - line.at : -1;
      if (distance < nearest.distance) nearest = { distance, word: w.text };
    }
  }
  return nearest;
}

/** The QR codes on a page, decoded by zbarimg from a 300 dpi picture of it. */
function qrCodes(file: string, page: number): string[] {
  const prefix = path.join(artifacts, `qr-${setupName}`);
  execFileSync('pdftoppm', ['-png', '-r', '300', '-f', String(page), '-l', String(page), '-singlefile', file, prefix]);
  const out = spawnSync('zbarimg', ['--raw', '-q', '-Sdisable', '-Sqrcode.enable', `${prefix}.png`], { encoding: 'utf8' });
  return out.stdout.split('\n').filter(Boolean);
}

// One store for the whole file: a contract with three long-named networks and one slip of each
// kind, in the Moscow zone (KALITKA_TIME_ZONE), and a second one whose first network has an SSID.
const { svc, clock } = await testEnv(t, { KALITKA_TIME_ZONE: 'Europe/Moscow' });
const app = await appFor(t, svc);

async function contractWithLongNames(firstSettings: Record<string, string> = {}) {
  const c = await makeContract(svc);
  const networks = [];
  for (const [i, name] of LONG_NAMES.entries()) {
    const n = await makeNetwork(svc, c.id, 'generic', i === 0 ? firstSettings : {});
    await svc.db.query('update networks set name = $2::text where id = $1::uuid', [n.id, name]);
    networks.push(n);
    clock.advance(1000); // networks are printed in the order they were made
  }
  const operator = await makeUser(svc, c.id);
  const tokens = [
    await makeToken(svc, c.id, { durationDays: 1 }),
    await makeToken(svc, c.id, { multiUse: true, durationDays: null }),
    await makeToken(svc, c.id, { durationDays: 21 }),
  ];
  await setIssuedTo(svc, operatorOf(c.id), { tokenId: tokens[2].id, issuedTo: ISSUED_TO });
  const pdf = async (query = '') => {
    const res = await app.inject({
      method: 'GET',
      url: `/api/v1/contracts/${c.id}/tokens.pdf${query}`,
      headers: { authorization: `Bearer ${operator.token}`, host: 'wifi.example:8443' },
    });
    if (res.statusCode !== 200) throw new Error(`tokens.pdf${query}: ${res.statusCode} ${res.body}`);
    return res;
  };
  return { c, networks, operator, tokens, pdf };
}

const plain = await contractWithLongNames();
const withSsid = await contractWithLongNames({ ssid: 'Кафе; "Гость"' });

for (const layout of ['a4', 'roll80']) {
  t.test(`${layout}: three long network names are printed whole on every guest's copy, never cut with "…"`, async (t) => {
    const file = saved((await plain.pdf(`?layout=${layout}`)).rawPayload, `slips-long-${layout}`);
    const text = flatText(file);
    t.notOk(text.includes('…'), 'no ellipsis anywhere');
    t.equal(occurrences(text, `Сеть Wi-Fi / Network: ${LONG_NAMES.join(', ')}`), 3, 'the whole line of names on each of the three slips');
    for (const name of LONG_NAMES) t.equal(occurrences(text, name), 3, name);
    for (const tok of plain.tokens) t.equal(occurrences(text, groupCode(tok.code)), 2, 'each code on both copies');
    t.equal(occurrences(text, ISSUED_TO), 1, 'issuedTo whole too');
  });

  t.test(`${layout}: text keeps at least 5 mm from every cut line`, async (t) => {
    const file = saved((await plain.pdf(`?layout=${layout}`)).rawPayload, `slips-cuts-${layout}`);
    const pages = wordBoxes(file);
    const sizes = pageSizes(file);
    t.equal(pages.length, layout === 'a4' ? 1 : 3);
    for (const [i, words] of pages.entries()) {
      const lines = cutLines(file, i + 1);
      if (layout === 'a4') {
        t.equal(lines.filter((l) => l.dir === 'h').length, 4, 'a cut above, between and below three slips');
        t.equal(lines.filter((l) => l.dir === 'v').length, 1, "a cut between the guest's and the operator's copy");
      } else {
        t.equal(lines.length, 1, "one dashed cut between the guest's and the operator's copy");
        // On a roll the printer cuts at the top and bottom of each page.
        const { width, height } = sizes[i];
        lines.push({ dir: 'h', at: 0, from: 0, to: width }, { dir: 'h', at: height, from: 0, to: width });
      }
      t.ok(words.length > 40, 'the page has its words');
      const nearest = nearestToCut(words, lines);
      t.ok(nearest.distance >= 5 * MM, `page ${i + 1}: the nearest text to a cut line ("${nearest.word}") is ${(nearest.distance / MM).toFixed(2)} mm from it`);
    }
  });
}

t.test("the guest's copy carries a QR code of the first network's portal URL", async (t) => {
  const file = saved((await plain.pdf()).rawPayload, 'slips-qr-portal');
  t.same(qrCodes(file, 1), Array(3).fill(`http://wifi.example:8443/portal/${plain.networks[0].id}`), 'one per slip, each decoded');
  t.equal(occurrences(flatText(file), 'Сканируйте / Scan'), 3);
});

t.test('a first network with an ssid gets a Wi-Fi join QR code instead, its special characters escaped', async (t) => {
  const expected = 'WIFI:S:Кафе\\; \\"Гость\\";T:nopass;;';
  const a4 = saved((await withSsid.pdf()).rawPayload, 'slips-qr-wifi');
  t.same(qrCodes(a4, 1), Array(3).fill(expected));
  const roll = saved((await withSsid.pdf('?layout=roll80')).rawPayload, 'slips-qr-wifi-roll80');
  t.same(qrCodes(roll, 1), [expected], "the roll's guest copy too");
  t.match(flatText(roll), 'Сканируйте, чтобы подключиться к Wi-Fi / Scan to join the Wi-Fi');
});

t.test('roll80: 80 mm wide, one slip per page (one per cut), the guest copy above the operator copy', async (t) => {
  const res = await plain.pdf('?layout=roll80');
  t.equal(res.headers['content-type'], 'application/pdf');
  t.equal(res.headers['content-disposition'], 'attachment; filename="tokens-2026-11-23-roll80.pdf"');
  const file = saved(res.rawPayload, 'slips-roll80');
  const sizes = pageSizes(file);
  t.equal(sizes.length, 3);
  for (const size of sizes) t.ok(Math.abs(size.width - 80 * MM) < 0.01, `page width ${(size.width / MM).toFixed(3)} mm`);
  const pages = rawText(file).split('\f').slice(0, -1).map((p) => p.replace(/\s+/g, ' '));
  const onPage = plain.tokens.map((tok) => pages.findIndex((p) => occurrences(p, groupCode(tok.code)) === 2));
  t.same([...onPage].sort(), [0, 1, 2], 'each page holds one token, on both copies');
  for (const page of pages) t.ok(page.indexOf('How to connect:') < page.indexOf('Корешок оператора / Operator’s copy'), "the guest's copy comes first");
  execFileSync('pdftoppm', ['-png', '-r', '100', '-f', '1', '-l', '1', file, path.join(artifacts, `slips-roll80-${setupName}`)]);
});

t.test('an unknown layout is a 400', async (t) => {
  for (const layout of ['a5', 'A4', '']) {
    const res = await call(app, plain.operator.token, 'GET', `/api/v1/contracts/${plain.c.id}/tokens.pdf?layout=${layout}`);
    t.equal(res.statusCode, 400, layout);
    t.equal(res.json().error.code, 'VALIDATION_ERROR');
  }
});

t.test("printSlips refuses another contract's operator with NOT_FOUND, without HTTP", async (t) => {
  const theirs = await makeContract(svc);
  await makeTokens(svc, theirs.id, { count: 2 });
  const actor = { userId: plain.operator.user.id, login: plain.operator.user.login, contractId: plain.c.id, isSystem: false, tokenId: null, role: 'operator' as const };
  const input = { contractId: theirs.id, portalBase: 'http://x', now: svc.now() };
  await t.rejects(printSlips(svc, actor, input), { status: 404, code: 'NOT_FOUND', message: 'Contract not found' });
  const sheet = await printSlips(svc, { ...actor, contractId: null, isSystem: true }, input);
  t.equal(sheet.slips.length, 2, 'a system administrator prints any contract');
});

t.test("the operator's copy dates the slip in the contract's own time zone and says which", async (t) => {
  const c = await makeContract(svc);
  const operator = await makeUser(svc, c.id);
  clock.set('2026-11-23T10:00:00.000Z');
  await makeToken(svc, c.id);
  clock.set('2026-11-23T20:30:00.000Z'); // 23 November in Moscow, 24 November in Vladivostok
  await makeToken(svc, c.id);
  const get = () => call(app, operator.token, 'GET', `/api/v1/contracts/${c.id}/tokens.pdf`);
  const moscow = flatText(saved((await get()).rawPayload, 'slips-zone-default'));
  t.equal(occurrences(moscow, 'Дата генерации / Generated: 23.11.2026 13:00 Europe/Moscow (UTC+03:00)'), 1, 'KALITKA_TIME_ZONE when the contract has none');
  t.equal(occurrences(moscow, 'Дата генерации / Generated: 23.11.2026 23:30 Europe/Moscow (UTC+03:00)'), 1);
  await svc.db.query(`update contracts set time_zone = 'Asia/Vladivostok' where id = $1::uuid`, [c.id]);
  const res = await get();
  t.equal(res.headers['content-disposition'], 'attachment; filename="tokens-2026-11-24.pdf"', "the file is named for the contract's day");
  const text = flatText(saved(res.rawPayload, 'slips-zone'));
  t.equal(occurrences(text, 'Дата генерации / Generated: 23.11.2026 20:00 Asia/Vladivostok (UTC+10:00)'), 1);
  t.equal(occurrences(text, 'Дата генерации / Generated: 24.11.2026 06:30 Asia/Vladivostok (UTC+10:00)'), 1);
});

t.test('a token with limits says them on the guest copy', async (t) => {
  const slip = (limits: SlipLimits | null) => ({ code: '100123456781', multiUse: true, durationDays: 3, createdAt: new Date('2026-11-23T10:00:00Z'), issuedTo: null, limits });
  const pdf = await slipPrinter().render(
    {
      contractName: 'Кафе',
      networks: ['Кафе'],
      join: null,
      slips: [slip({ downKbps: 10000, upKbps: 2000, quotaMb: 500, maxDevices: 3 }), slip({ downKbps: null, upKbps: 512, quotaMb: null, maxDevices: null }), slip(null)],
      printedAt: new Date('2026-11-23T10:00:00Z'),
      timeZone: 'Europe/Moscow',
    },
    'a4',
  );
  const text = flatText(saved(pdf, 'slips-limits'));
  t.equal(occurrences(text, 'Скорость ↓ 10 Мбит/с ↑ 2 Мбит/с · Трафик 500 МБ · Устройств 3 / Speed ↓ 10 Mbit/s ↑ 2 Mbit/s · Data 500 MB · Devices 3'), 1);
  t.equal(occurrences(text, 'Скорость ↑ 512 кбит/с / Speed ↑ 512 kbit/s'), 1);
  t.equal(occurrences(text, 'Скорость'), 2, 'a slip without limits says none');
});

t.test("the panel's roll button downloads the 80 mm layout; an unknown layout is a 400 there too", async (t) => {
  const { client } = await signedIn(app, svc, plain.c.id);
  const page = await client.get('/admin/tokens');
  t.match(page.body, `<a class="button secondary" href="${escaped(`/admin/tokens.pdf?contract=${plain.c.id}&layout=roll80`)}" id="pdf-roll80">`);
  const res = await client.get(`/admin/tokens.pdf?contract=${plain.c.id}&layout=roll80`);
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-type'], 'application/pdf');
  const sizes = pageSizes(saved(res.rawPayload, 'slips-panel-roll80'));
  t.equal(sizes.length, 3);
  t.ok(sizes.every((s) => Math.abs(s.width - 80 * MM) < 0.01), '80 mm wide');
  t.equal((await client.get(`/admin/tokens.pdf?contract=${plain.c.id}&layout=a5`)).statusCode, 400);
});

t.test('names too many for an A4 slip are refused with a pointer to the roll, which prints them all', async (t) => {
  const networks = Array.from({ length: 100 }, (_, i) => `Сеть номер ${i + 1} ${'длинное название гостевой сети '.repeat(6).trim()}`);
  const sheet = {
    contractName: 'Кафе',
    networks,
    join: null,
    slips: [{ code: '100123456781', multiUse: false, durationDays: 1, createdAt: new Date('2026-11-23T10:00:00Z'), issuedTo: null, limits: null }],
    printedAt: new Date('2026-11-23T10:00:00Z'),
    timeZone: 'Europe/Moscow',
  };
  const printer = slipPrinter();
  await t.rejects(printer.render(sheet, 'a4'), { status: 422, code: 'SLIPS_DO_NOT_FIT' });
  const text = flatText(saved(await printer.render(sheet, 'roll80'), 'slips-many-networks-roll80'));
  t.equal(networks.filter((n) => occurrences(text, n) === 1).length, 100, 'every name whole on the roll');
});

t.test('a deleted network is gone from the slips: its name is not printed and the QR code points at the next one', async (t) => {
  const site = await contractWithLongNames();
  const [gone, ...left] = site.networks;
  const deleted = await app.inject({ method: 'DELETE', url: `/api/v1/networks/${gone.id}`, headers: { authorization: `Bearer ${site.operator.token}` } });
  t.equal(deleted.statusCode, 204);
  const file = saved((await site.pdf()).rawPayload, 'slips-deleted-network');
  const text = flatText(file);
  t.equal(occurrences(text, LONG_NAMES[0]), 0, "the deleted network's name");
  t.equal(occurrences(text, `Сеть Wi-Fi / Network: ${LONG_NAMES.slice(1).join(', ')}`), 3, 'the networks left, on each slip');
  t.same(qrCodes(file, 1), Array(3).fill(`http://wifi.example:8443/portal/${left[0].id}`));
});
