import t from 'tap';
import { buildApp } from '../../src/http/app.js';
import { makeSite } from '../helpers/factories.js';
import { launchBrowser } from '../helpers/browser.js';
import { testEnv } from '../helpers/services.js';

const { svc } = await testEnv(t);
const app = await buildApp(svc);
t.teardown(() => app.close());

/** The images an ICO file holds: its directory entries, each a PNG of the size it claims. */
function icoImages(ico: Buffer): { size: number; png: boolean }[] | null {
  if (ico.readUInt32BE(0) !== 0x00000100) return null; // not an icon resource
  return Array.from({ length: ico.readUInt16LE(4) }, (_, i) => {
    const entry = 6 + 16 * i;
    const [length, offset] = [ico.readUInt32LE(entry + 8), ico.readUInt32LE(entry + 12)];
    const image = ico.subarray(offset, offset + length);
    return {
      size: ico.readUInt8(entry),
      png: image.subarray(1, 4).toString('latin1') === 'PNG' && image.readUInt32BE(16) === ico.readUInt8(entry),
    };
  });
}

t.test('/favicon.ico answers with an icon, cacheable', async (t) => {
  const res = await app.inject('/favicon.ico');
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-type'], 'image/x-icon');
  t.equal(res.headers['cache-control'], 'public, max-age=3600');
  t.same(icoImages(res.rawPayload), [16, 32, 48].map((size) => ({ size, png: true })));
});

t.test('the portal assets answer 200 with their types; anything else under assets is a 404', async (t) => {
  const css = await app.inject('/portal/assets/portal.css');
  t.equal(css.statusCode, 200);
  t.equal(css.headers['content-type'], 'text/css; charset=utf-8');
  t.match(css.body, /--accent/);
  const ico = await app.inject('/portal/assets/favicon.ico');
  t.equal(ico.statusCode, 200);
  t.equal(ico.headers['content-type'], 'image/x-icon');
  for (const url of ['/portal/assets/nope.css', '/portal/assets/..%2f..%2fpackage.json', '/portal/assets/portal.css.map']) {
    t.equal((await app.inject(url)).statusCode, 404, url);
  }
});

t.test('a phone opening the portal page gets no failed request and no console error', async (t) => {
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const { network } = await makeSite(svc);
  const browser = await launchBrowser(t);
  const page = await (await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, locale: 'ru-RU' })).newPage();
  const failed: string[] = [];
  const errors: string[] = [];
  page.on('response', (r) => {
    if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
  });
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(`${base}/portal/${network.id}?mac=aa:bb:cc:dd:ee:01&url=${encodeURIComponent('http://example.com/')}`);
  await page.waitForLoadState('networkidle');
  t.same(failed, [], 'no request failed');
  t.same(errors, [], 'no console error');
  // Browsers fetch /favicon.ico on their own, outside the page's requests: fetch it the same way.
  const icon = await page.goto(`${base}/favicon.ico`);
  t.equal(icon?.status(), 200);
  t.equal(icon?.headers()['content-type'], 'image/x-icon');
});
