import t, { type Test } from 'tap';
import { activateToken } from '../../src/domain/activation.js';
import type { ControllerKind } from '../../src/domain/networks.js';
import { extendToken } from '../../src/domain/tokens.js';
import { buildApp } from '../../src/http/app.js';
import type { Services } from '../../src/services.js';
import { mac, makeContract, makeNetwork, makeToken, makeUser, operatorOf } from '../helpers/factories.js';
import { findProgram, radclient, startFreeRadiusForApp, startSqlFreeRadius, type RadclientResult } from '../helpers/freeradius.js';
import { setup, testEnv, type TestClock } from '../helpers/services.js';

// Rule 13 through a real FreeRADIUS with the shipped configuration, both variants: the Access-Accept
// carries the token's limits in the attributes of the network's NAS kind (FreeRADIUS's own
// dictionaries), and rule 14: an extension shows in the next answer's Session-Timeout.
const freeradius = findProgram('freeradius') ?? findProgram('radiusd');
const noBinary = freeradius ? false : 'the freeradius binary is not installed (apt-get install freeradius freeradius-rest freeradius-postgresql freeradius-utils)';

// 2 Mbit/s down, 512 kbit/s up, 5000 MiB = 5 242 880 000 bytes = 1 × 4 GiB + 947 912 704.
const LIMITS = { downKbps: 2048, upKbps: 512, quotaMb: 5000 };
const WISPR = { 'WISPr-Bandwidth-Max-Down': '2048000', 'WISPr-Bandwidth-Max-Up': '512000' };
const EXPECTED: Record<'generic' | 'mikrotik' | 'coova', Record<string, string>> = {
  generic: WISPR,
  // rx/tx from the router's side: rx is what the guest uploads.
  mikrotik: { ...WISPR, 'Mikrotik-Rate-Limit': '512k/2048k', 'Mikrotik-Total-Limit': '947912704', 'Mikrotik-Total-Limit-Gigawords': '1' },
  // kbit/s; no Gigawords attribute in FreeRADIUS's dictionary.chillispot: the most a 32-bit integer holds.
  coova: { ...WISPR, 'ChilliSpot-Bandwidth-Max-Down': '2048', 'ChilliSpot-Bandwidth-Max-Up': '512', 'ChilliSpot-Max-Total-Octets': '4294967295' },
};
// Only a download speed: nothing else may appear (a missing limit is no limit, never a zero or a cap).
const DOWN_ONLY: Record<'generic' | 'mikrotik' | 'coova', Record<string, string>> = {
  generic: { 'WISPr-Bandwidth-Max-Down': '2048000' },
  mikrotik: { 'WISPr-Bandwidth-Max-Down': '2048000', 'Mikrotik-Rate-Limit': '0/2048k' },
  coova: { 'WISPr-Bandwidth-Max-Down': '2048000', 'ChilliSpot-Bandwidth-Max-Down': '2048' },
};
const LIMIT_NAMES = /^(WISPr|Mikrotik|ChilliSpot)-/;
const limitAttributes = (r: RadclientResult) => Object.fromEntries(Object.entries(r.attributes).filter(([k]) => LIMIT_NAMES.test(k)));

type Auth = (attributes: Record<string, string>) => Promise<RadclientResult>;
const asDevice = (m: string, nas: string) => ({ 'User-Name': m.replace(/:/g, '-'), 'Calling-Station-Id': m.replace(/:/g, '-'), 'NAS-Identifier': nas });

/** The same checks for either variant: one limited device per NAS kind, an unlimited one, and an extension. */
async function checkLimits(t: Test, svc: Services, clock: TestClock, auth: Auth, explain: (r: RadclientResult) => object) {
  const contract = await makeContract(svc);
  for (const kind of ['generic', 'mikrotik', 'coova'] as const) {
    const nas = `${kind}-ap-${Math.random().toString(36).slice(2, 8)}`;
    const network = await makeNetwork(svc, contract.id, kind as ControllerKind, { nasIdentifier: nas });
    const device = mac();
    const token = await makeToken(svc, contract.id, { durationDays: 1, ...LIMITS });
    await activateToken(svc, { networkId: network.id, mac: device, code: token.code, now: clock.now() });
    const answer = await auth(asDevice(device, nas));
    t.equal(answer.received, 'Access-Accept', `${kind}: accepted`, explain(answer));
    t.same(limitAttributes(answer), EXPECTED[kind], `${kind}: its NAS kind's limit attributes, and only those`, explain(answer));
    t.ok(Number(answer.attributes['Session-Timeout']) > 86_000, `${kind}: Session-Timeout stays`);

    const slow = mac();
    const downOnly = await makeToken(svc, contract.id, { durationDays: 1, downKbps: 2048 });
    await activateToken(svc, { networkId: network.id, mac: slow, code: downOnly.code, now: clock.now() });
    const partial = await auth(asDevice(slow, nas));
    t.same(limitAttributes(partial), DOWN_ONLY[kind], `${kind}: only the limit the token has`, explain(partial));

    const free = mac();
    const unlimited = await makeToken(svc, contract.id, { durationDays: 1 });
    await activateToken(svc, { networkId: network.id, mac: free, code: unlimited.code, now: clock.now() });
    const open = await auth(asDevice(free, nas));
    t.equal(open.received, 'Access-Accept', `${kind}: unlimited token accepted`, explain(open));
    t.same(limitAttributes(open), {}, `${kind}: no limit attributes for an unlimited token`);

    if (kind === 'mikrotik') {
      // Rule 14: two more days and 1000 MiB more are seen by the very next Access-Request.
      const [copy] = (await svc.db.query<{ id: string }>(`select id from tokens where mac = $1 and status = 'active'`, [device])).rows;
      await extendToken(svc, operatorOf(contract.id), { tokenId: copy.id, days: 2, quotaMb: 1000, now: clock.now() });
      const after = await auth(asDevice(device, nas));
      t.equal(after.received, 'Access-Accept', 'extended: accepted', explain(after));
      const timeout = Number(after.attributes['Session-Timeout']);
      t.ok(timeout > 3 * 86_400 - 120 && timeout <= 3 * 86_400, `three days left after the extension (${timeout})`);
      // 6000 MiB = 6 291 456 000 = 1 × 4 GiB + 1 996 488 704.
      t.equal(after.attributes['Mikrotik-Total-Limit'], '1996488704', 'the raised quota');
      t.equal(after.attributes['Mikrotik-Total-Limit-Gigawords'], '1');
    }
  }
}

t.test('rlm_rest: the Access-Accept carries the limits in the NAS kind\'s attributes', { skip: noBinary }, async (t) => {
  const { svc, clock } = await testEnv(t);
  const { token: apiToken } = await makeUser(svc, null);
  const app = await buildApp(svc);
  const server = await startFreeRadiusForApp(t, app, { binary: freeradius!, apiToken });
  await checkLimits(t, svc, clock, (a) => radclient(server.authPort, 'auth', server.secret, a), (r) => ({
    radclient: r.raw.slice(-1500),
    freeradius: server.output().slice(-3000),
  }));
});

t.test(
  'rlm_sql: kalitka_radius_check answers the same limit attributes',
  { skip: noBinary || (!setup.databaseUrl ? 'the SQL variant needs a PostgreSQL server (PGlite has no port for FreeRADIUS); runs in the servers setup' : false) },
  async (t) => {
    const { svc, clock } = await testEnv(t);
    clock.set(new Date()); // the function uses the database's now()
    const radius = await startSqlFreeRadius(t, svc.db, { binary: freeradius!, databaseUrl: setup.databaseUrl! });
    await checkLimits(t, svc, clock, (a) => radclient(radius.authPort, 'auth', radius.secret, a), (r) => ({
      radclient: r.raw.slice(-1500),
      freeradius: radius.output().slice(-3000),
    }));
  },
);
