import t from 'tap';
import { buildApp } from '../../src/http/app.js';
import { mac, makeContract, makeNetwork, makeToken, makeUser } from '../helpers/factories.js';
import { findProgram, radclient, startFreeRadiusForApp } from '../helpers/freeradius.js';
import { testEnv } from '../helpers/services.js';

const freeradius = findProgram('freeradius') ?? findProgram('radiusd');
const ctxOf = (html: string) => /name="ctx" value="([^"]+)"/.exec(html)?.[1] ?? '';

// A chap-id below 32 keeps radclient from taking the 17 octets for a password to hash itself.
const CHAP_ID = '\\001';
const CHAP_CHALLENGE = '\\043\\242\\062\\374\\062\\365\\062\\266\\201\\323\\145\\251\\200\\303\\025\\315';
const CHALLENGE_HEX = '23a232fc32f532b681d365a980c315cd';

t.test(
  'a real FreeRADIUS with the deploy config accepts a MikroTik login with the grant secret once (PAP and CHAP), and no other device',
  { skip: freeradius ? false : 'the freeradius binary is not installed (apt-get install freeradius freeradius-rest freeradius-utils)' },
  async (t) => {
    const { svc } = await testEnv(t);
    const contract = await makeContract(svc);
    const network = await makeNetwork(svc, contract.id, 'mikrotik', { loginHosts: '10.5.50.1', nasIdentifier: 'hs-1', radiusPort: 3799 });
    const { token: apiToken } = await makeUser(svc, contract.id);
    const app = await buildApp(svc);
    const r = await startFreeRadiusForApp(t, app, { binary: freeradius!, apiToken });
    const auth = async (attributes: Record<string, string>) => {
      const mark = r.output().length;
      const result = await radclient(r.authPort, 'auth', r.secret, { 'NAS-Identifier': 'hs-1', ...attributes });
      return { ...result, status: r.restStatus(mark), log: r.output().slice(mark) };
    };
    const explain = (x: { raw: string; log: string }) => ({ radclient: x.raw.slice(-1500), freeradius: x.log.slice(-3000) });

    /** The guest signs in at the portal; returns the password the router's login URL carries. */
    const signIn = async (device: string, extra: Record<string, string> = {}) => {
      const tok = await makeToken(svc, contract.id, { durationDays: 1 });
      const query = new URLSearchParams({ mac: device, 'link-login-only': 'http://10.5.50.1/login', ...extra });
      const page = await app.inject(`/portal/${network.id}?${query}`);
      const res = await app.inject({
        method: 'POST',
        url: `/portal/${network.id}/activate`,
        payload: new URLSearchParams({ token: tok.code, ctx: ctxOf(page.body) }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      t.equal(res.statusCode, 303);
      t.notMatch(res.headers.location, tok.code);
      return new URL(res.headers.location as string).searchParams.get('password')!;
    };

    const [a, b] = [mac(), mac()];
    const secret = await signIn(a);
    await signIn(b);
    const stolen = await auth({ 'User-Name': b, 'Calling-Station-Id': b, 'User-Password': secret });
    t.equal(stolen.received, 'Access-Reject', "A's secret from device B", explain(stolen));
    t.equal(stolen.status, 403);

    const pap = await auth({ 'User-Name': a, 'Calling-Station-Id': a, 'User-Password': secret });
    t.equal(pap.received, 'Access-Accept', 'PAP with the grant secret', explain(pap));
    t.equal(pap.attributes['Session-Timeout'], '86400');
    t.match(pap.log, /pap: User authenticated successfully/, 'FreeRADIUS checked PAP against the returned secret');
    const replay = await auth({ 'User-Name': a, 'Calling-Station-Id': a, 'User-Password': secret });
    t.equal(replay.received, 'Access-Reject', 'the same secret a second time', explain(replay));

    const c = mac();
    const response = await signIn(c, { 'chap-id': CHAP_ID, 'chap-challenge': CHAP_CHALLENGE });
    const chap = { 'User-Name': c, 'Calling-Station-Id': c, 'CHAP-Password': `0x01${response}`, 'CHAP-Challenge': `0x${CHALLENGE_HEX}` };
    const accepted = await auth(chap);
    t.equal(accepted.received, 'Access-Accept', 'CHAP over the grant secret', explain(accepted));
    t.match(accepted.log, /chap: (CHAP user .* authenticated succesfully|.*authenticated successfully)/i, 'FreeRADIUS checked CHAP itself');
    const again = await auth(chap);
    t.equal(again.received, 'Access-Reject', 'single use', explain(again));

    const macAuth = await auth({ 'User-Name': a, 'User-Password': a, 'Calling-Station-Id': a });
    t.equal(macAuth.received, 'Access-Accept', 'MAC authentication of an identified device still passes', explain(macAuth));
  },
);
