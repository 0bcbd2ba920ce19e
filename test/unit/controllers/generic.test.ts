import t from 'tap';
import { genericAdapter } from '../../../src/controllers/generic.js';
import { AppError } from '../../../src/errors.js';
import { fakeNetwork, grantInput, thrown } from '../../helpers/controllers.js';

const network = fakeNetwork('generic');

t.test('the redirect gives the MAC in any spelling and the original URL', async (t) => {
  const ctx = genericAdapter.parseRedirect({ mac: 'aa-bb-cc-dd-ee-0f', url: 'http://example.com/news?a=1', ip: '10.0.0.7' }, network);
  t.same(ctx, { mac: 'AA:BB:CC:DD:EE:0F', originalUrl: 'http://example.com/news?a=1', clientIp: '10.0.0.7', params: {} });
});

t.test('a redirect without a usable MAC is refused with INVALID_MAC', async (t) => {
  for (const query of [{}, { mac: '' }, { mac: 'nonsense' }, { mac: 'aa:bb:cc:dd:ee' }]) {
    const err = thrown(() => genericAdapter.parseRedirect(query, network));
    t.ok(err instanceof AppError, JSON.stringify(query));
    t.equal((err as AppError).status, 400);
    t.equal((err as AppError).code, 'INVALID_MAC');
  }
});

t.test('only http and https URLs are kept as the place to continue to', async (t) => {
  const cases: [string, string | null][] = [
    ['https://example.com/', 'https://example.com/'],
    ['http://EXAMPLE.com', 'http://example.com/'],
    ['javascript:alert(1)', null],
    ['data:text/html,hi', null],
    ['ftp://example.com/', null],
    ['//evil.example/', null],
    ['https://bank.example@evil.example/', null],
    ['not a url', null],
  ];
  for (const [url, expected] of cases) {
    const ctx = genericAdapter.parseRedirect({ mac: 'aabbccddeeff', url }, network);
    t.equal(ctx.originalUrl, expected, url);
  }
});

t.test('the grant is done at once and continues to the original URL', async (t) => {
  const context = genericAdapter.parseRedirect({ mac: 'aabbccddeeff', url: 'https://example.com/x' }, network);
  t.same(await genericAdapter.grant(grantInput(network, context, { secondsRemaining: 3600 })), {
    kind: 'done',
    continueUrl: 'https://example.com/x',
  });
  const tampered = { ...context, originalUrl: 'javascript:alert(1)' };
  t.same(await genericAdapter.grant(grantInput(network, tampered, { secondsRemaining: null })), {
    kind: 'done',
    continueUrl: null,
  });
  t.equal(genericAdapter.revoke, undefined, 'nothing to de-authorise at a generic controller');
});
