import t from 'tap';
import { activateToken } from '../../src/domain/activation.js';
import { buildApp } from '../../src/http/app.js';
import { mac, makeContract, makeNetwork, makeToken, makeUser } from '../helpers/factories.js';
import { findProgram, radclient, startFreeRadiusForApp } from '../helpers/freeradius.js';
import { DAY, testEnv } from '../helpers/services.js';

const freeradius = findProgram('freeradius') ?? findProgram('radiusd');

t.test(
  'a real FreeRADIUS with the deploy config accepts identified devices for the time they have left and rejects the rest',
  { skip: freeradius ? false : 'the freeradius binary is not installed (apt-get install freeradius freeradius-rest freeradius-utils)' },
  async (t) => {
    const { svc, clock } = await testEnv(t);
    const contract = await makeContract(svc);
    const network = await makeNetwork(svc, contract.id, 'generic', { nasIdentifier: 'lobby-ap' });
    const { token: apiToken } = await makeUser(svc, contract.id);

    const app = await buildApp(svc);
    const radius = await startFreeRadiusForApp(t, app, { binary: freeradius!, apiToken });
    /** Sends an Access-Request; `status` is what Kalitka answered rlm_rest for it. */
    const auth = async (attributes: Record<string, string>) => {
      const mark = radius.output().length;
      const result = await radclient(radius.authPort, 'auth', radius.secret, attributes);
      return { ...result, status: radius.restStatus(mark) };
    };
    const explain = (r: { raw: string }) => ({ radclient: r.raw.slice(-1500), freeradius: radius.output().slice(-3000) });

    const device = mac();
    const dashed = device.replace(/:/g, '-');
    const day = await makeToken(svc, contract.id, { durationDays: 1 });
    await activateToken(svc, { networkId: network.id, mac: device, code: day.code, now: clock.now() });

    const accepted = await auth({ 'User-Name': dashed, 'User-Password': dashed, 'Calling-Station-Id': dashed, 'NAS-Identifier': 'lobby-ap' });
    t.equal(accepted.received, 'Access-Accept', 'identified device', explain(accepted));
    t.equal(accepted.status, 200);
    t.equal(accepted.attributes['Session-Timeout'], '86400', 'a whole day left');

    clock.advance(DAY - 90_000);
    const later = await auth({ 'User-Name': dashed, 'Calling-Station-Id': dashed, 'NAS-Identifier': network.id });
    t.equal(later.received, 'Access-Accept', 'the network id works as NAS-Identifier too', explain(later));
    t.equal(later.attributes['Session-Timeout'], '90', 'ninety seconds left');

    const stranger = mac();
    const unknown = await auth({ 'User-Name': stranger, 'Calling-Station-Id': stranger, 'NAS-Identifier': 'lobby-ap' });
    t.equal(unknown.received, 'Access-Reject', 'a device that never entered a token', explain(unknown));
    t.equal(unknown.status, 403);

    const nowhere = await auth({ 'User-Name': dashed, 'Calling-Station-Id': dashed, 'NAS-Identifier': 'no-such-ap' });
    t.equal(nowhere.received, 'Access-Reject', 'a NAS that no network answers to', explain(nowhere));
    t.equal(nowhere.status, 404);

    const noMac = await auth({ 'User-Name': 'guest', 'NAS-Identifier': 'lobby-ap' });
    t.equal(noMac.received, 'Access-Reject', 'a request with no MAC in it', explain(noMac));
    t.equal(noMac.status, 400);

    clock.advance(90_000);
    const expired = await auth({ 'User-Name': dashed, 'Calling-Station-Id': dashed, 'NAS-Identifier': 'lobby-ap' });
    t.equal(expired.received, 'Access-Reject', 'rejected from the instant of expiry, before any sweep', explain(expired));
    t.equal(expired.status, 403);

    const forever = mac();
    const unlimited = await makeToken(svc, contract.id, { durationDays: null });
    await activateToken(svc, { networkId: network.id, mac: forever, code: unlimited.code, now: clock.now() });
    const open = await auth({ 'User-Name': forever, 'Calling-Station-Id': forever, 'NAS-Identifier': 'lobby-ap' });
    t.equal(open.received, 'Access-Accept', 'unlimited token', explain(open));
    t.equal(open.status, 200);
    t.equal(open.attributes['Session-Timeout'], undefined, 'no Session-Timeout for an unlimited token');

    const mark = radius.output().length;
    const acct = await radclient(radius.acctPort, 'acct', radius.secret, {
      'Acct-Status-Type': 'Start',
      'Acct-Session-Id': 'abc123',
      'User-Name': forever,
      'Calling-Station-Id': forever,
      'NAS-Identifier': 'lobby-ap',
    });
    t.equal(acct.received, 'Accounting-Response', 'accounting is answered', explain(acct));
    t.equal(radius.restStatus(mark), 204);
  },
);

t.test(
  'FreeRADIUS rejects everyone when Kalitka refuses its API token',
  { skip: freeradius ? false : 'the freeradius binary is not installed (apt-get install freeradius freeradius-rest freeradius-utils)' },
  async (t) => {
    const { svc, clock } = await testEnv(t);
    const contract = await makeContract(svc);
    const network = await makeNetwork(svc, contract.id, 'generic', { nasIdentifier: 'lobby-ap' });
    const device = mac();
    const day = await makeToken(svc, contract.id, { durationDays: 1 });
    await activateToken(svc, { networkId: network.id, mac: device, code: day.code, now: clock.now() });

    const app = await buildApp(svc);
    const wrong = 'klt_' + 'A'.repeat(36);
    const radius = await startFreeRadiusForApp(t, app, { binary: freeradius!, apiToken: wrong });
    const mark = radius.output().length;
    const r = await radclient(radius.authPort, 'auth', radius.secret, { 'User-Name': device, 'Calling-Station-Id': device, 'NAS-Identifier': 'lobby-ap' });
    t.equal(r.received, 'Access-Reject', 'fails closed', { radclient: r.raw.slice(-1500), freeradius: radius.output().slice(-3000) });
    t.equal(radius.restStatus(mark), 401, 'because Kalitka refused the token');
  },
);
