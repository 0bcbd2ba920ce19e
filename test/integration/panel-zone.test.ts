// The panel shows times in the viewed contract's zone, not the server's: the server runs in Moscow
// here, the contract is in Vladivostok (UTC+10, seven hours ahead).
process.env.TZ = 'Europe/Moscow';
import t from 'tap';
import { activateToken } from '../../src/domain/activation.js';
import { mac, makeContract, makeSite, makeToken } from '../helpers/factories.js';
import { makePanelUser, panelEnv, PanelClient, signedIn } from '../helpers/panel.js';

type Svc = Awaited<ReturnType<typeof panelEnv>>['svc'];
const setZone = (svc: Svc, contractId: string, zone: string | null) =>
  svc.db.query(`update contracts set time_zone = $2 where id = $1`, [contractId, zone]);
const zoneNotes = (html: string) => [...html.matchAll(/<p class="zone-note" data-zone>([^<]*)<\/p>/g)].map((m) => m[1]);

t.test("a contract in Vladivostok sees a token's creation time at UTC+10, with the zone named once", async (t) => {
  const { app, svc } = await panelEnv(t);
  const contract = await makeContract(svc);
  await setZone(svc, contract.id, 'Asia/Vladivostok');
  await makeToken(svc, contract.id); // created 2026-11-23T10:00Z
  const { client } = await signedIn(app, svc, contract.id);
  const list = await client.get('/admin/tokens?lang=en');
  t.equal(list.statusCode, 200);
  t.match(list.body, '<td data-label="Created">23.11.2026 20:00:00</td>', '10:00 UTC is 20:00 in Vladivostok');
  t.notMatch(list.body, '23.11.2026 13:00:00', 'not the server (Moscow) time');
  t.same(zoneNotes(list.body), ['Times: Asia/Vladivostok (UTC+10:00)']);

  // A contract that names no zone is shown in the server's default, and says so.
  const other = await makeContract(svc);
  await makeToken(svc, other.id);
  const { client: moscow } = await signedIn(app, svc, other.id);
  const page = await moscow.get('/admin/tokens');
  t.match(page.body, '23.11.2026 13:00:00');
  t.same(zoneNotes(page.body), ['Время: Europe/Moscow (UTC+03:00)']);
});

t.test("sessions and the log show the contract's times; the log's days are the contract's days", async (t) => {
  const { app, svc, clock } = await panelEnv(t);
  const { contract, network } = await makeSite(svc);
  await setZone(svc, contract.id, 'Asia/Vladivostok');
  const token = await makeToken(svc, contract.id, { durationDays: 1 });
  // 15:30 UTC on the 23rd: already the 24th, 01:30, in Vladivostok (and still the 23rd in Moscow).
  clock.set('2026-11-23T15:30:00Z');
  await activateToken(svc, { networkId: network.id, mac: mac(1), code: token.code, now: clock.now() });
  const { client } = await signedIn(app, svc, contract.id);

  const sessions = await client.get('/admin/sessions?lang=en');
  t.equal(sessions.statusCode, 200);
  t.match(sessions.body, '24.11.2026 01:30:00');
  t.match(sessions.body, '25.11.2026 01:30:00', 'expiry a day later, same zone');
  t.same(zoneNotes(sessions.body), ['Times: Asia/Vladivostok (UTC+10:00)']);

  const byDefault = await client.get('/admin/log?lang=en');
  t.match(byDefault.body, 'value="2026-11-18"', "the last seven of the contract's days");
  t.match(byDefault.body, 'value="2026-11-24"', "today is the 24th in Vladivostok");
  t.match(byDefault.body, '24.11.2026 01:30:00');
  const on24 = await client.get('/admin/log?lang=en&from=2026-11-24&to=2026-11-24');
  t.match(on24.body, '24.11.2026 01:30:00', "started on the contract's 24th");
  const on23 = await client.get('/admin/log?lang=en&from=2026-11-23&to=2026-11-23');
  t.equal(on23.statusCode, 200);
  t.notMatch(on23.body, '01:30:00', "not on the contract's 23rd, though it is the 23rd on the server");
  t.same(zoneNotes(on23.body), ['Times: Asia/Vladivostok (UTC+10:00)']);
});

t.test("profile tokens: an operator's in the contract's zone, a system administrator's in the default", async (t) => {
  const { app, svc } = await panelEnv(t);
  const contract = await makeContract(svc);
  await setZone(svc, contract.id, 'Asia/Vladivostok');
  for (const [contractId, created, zone] of [
    [contract.id, '23.11.2026 20:00:00', 'Asia/Vladivostok (UTC+10:00)'],
    [null, '23.11.2026 13:00:00', 'Europe/Moscow (UTC+03:00)'],
  ] as const) {
    const user = await makePanelUser(svc, contractId);
    const client = new PanelClient(app);
    t.equal((await client.login(user.login)).statusCode, 303);
    await client.get('/admin/profile/tokens');
    const made = await client.post('/admin/profile/tokens', { label: 'laptop' });
    t.equal(made.statusCode, 303);
    const list = await client.get('/admin/profile/tokens?lang=en');
    t.match(list.body, created, contractId ?? 'system');
    t.same(zoneNotes(list.body), [`Times: ${zone}`]);
    const profile = await client.get('/admin/profile?lang=en');
    t.match(profile.body, created);
    t.same(zoneNotes(profile.body), [`Times: ${zone}`]);
  }
});
