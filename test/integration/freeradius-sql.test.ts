import t from 'tap';
import { activateToken } from '../../src/domain/activation.js';
import { updateContract } from '../../src/domain/contracts.js';
import { deleteNetwork } from '../../src/domain/networks.js';
import { annulToken } from '../../src/domain/tokens.js';
import { mac, makeContract, makeNetwork, makeToken, operatorOf } from '../helpers/factories.js';
import { findProgram, radclient, startSqlFreeRadius } from '../helpers/freeradius.js';
import { DAY, setup, testEnv } from '../helpers/services.js';

// The SQL variant (install.sh --sql): FreeRADIUS's rlm_sql asks Kalitka's PostgreSQL through the
// stored function kalitka_radius_check, which uses the database's own now(). The test clock is set
// to the real time, so what the domain writes (activations, annulments) lines up with it.
const freeradius = findProgram('freeradius') ?? findProgram('radiusd');
const skip = !freeradius
  ? 'the freeradius binary is not installed (apt-get install freeradius freeradius-postgresql freeradius-utils)'
  : !setup.databaseUrl
    ? 'the SQL variant needs a PostgreSQL server: PGlite (the embedded setup) has no network port for FreeRADIUS; runs in the servers setup'
    : false;

t.test('a real FreeRADIUS with the SQL deploy config answers from Kalitka\'s PostgreSQL by Kalitka\'s rules', { skip }, async (t) => {
  const { svc, clock } = await testEnv(t);
  clock.set(new Date());
  const contract = await makeContract(svc);
  const network = await makeNetwork(svc, contract.id, 'generic', { nasIdentifier: 'lobby-ap' });
  const radius = await startSqlFreeRadius(t, svc.db, { binary: freeradius!, databaseUrl: setup.databaseUrl! });
  const auth = (attributes: Record<string, string>) => radclient(radius.authPort, 'auth', radius.secret, attributes);
  const explain = (r: { raw: string }) => ({ radclient: r.raw.slice(-1500), freeradius: radius.output().slice(-3000) });
  const asDevice = (m: string, nas = 'lobby-ap') => ({ 'User-Name': m.replace(/:/g, '-'), 'Calling-Station-Id': m.replace(/:/g, '-'), 'NAS-Identifier': nas });

  const device = mac();
  const day = await makeToken(svc, contract.id, { durationDays: 1 });
  await activateToken(svc, { networkId: network.id, mac: device, code: day.code, now: clock.now() });
  const accepted = await auth(asDevice(device));
  t.equal(accepted.received, 'Access-Accept', 'identified device', explain(accepted));
  const timeout = Number(accepted.attributes['Session-Timeout']);
  t.ok(timeout > 86_300 && timeout <= 86_400, `about a day left (${timeout})`);
  t.equal(accepted.attributes['Auth-Type'], undefined, 'control attributes stay out of the reply');

  const byId = await auth({ 'Calling-Station-Id': device.toLowerCase().replace(/:/g, ''), 'NAS-Identifier': network.id });
  t.equal(byId.received, 'Access-Accept', 'the network id as NAS-Identifier, the MAC as bare hex', explain(byId));

  const stranger = mac();
  t.equal((await auth(asDevice(stranger))).received, 'Access-Reject', 'a device that never entered a token');
  t.equal((await auth(asDevice(device, 'no-such-ap'))).received, 'Access-Reject', 'a NAS that no network answers to');
  t.equal((await auth({ 'User-Name': device, 'Calling-Station-Id': stranger, 'NAS-Identifier': 'lobby-ap' })).received, 'Access-Reject', 'a User-Name naming another MAC');
  t.equal((await auth({ 'User-Name': 'guest', 'NAS-Identifier': 'lobby-ap' })).received, 'Access-Reject', 'no MAC in the request');

  // Expiry by the database's clock: activated exactly one day ago → expired at this instant, not swept.
  const lapsed = mac();
  const lapsedToken = await makeToken(svc, contract.id, { durationDays: 1 });
  await activateToken(svc, { networkId: network.id, mac: lapsed, code: lapsedToken.code, now: new Date(Date.now() - DAY) });
  const gone = await auth(asDevice(lapsed));
  t.equal(gone.received, 'Access-Reject', 'rejected from the instant of expiry, before any sweep', explain(gone));
  // Ninety seconds short of a day ago → about ninety seconds left.
  const late = mac();
  const lateToken = await makeToken(svc, contract.id, { durationDays: 1 });
  await activateToken(svc, { networkId: network.id, mac: late, code: lateToken.code, now: new Date(Date.now() - DAY + 90_000) });
  const nearly = await auth(asDevice(late));
  t.equal(nearly.received, 'Access-Accept', 'still in its last minutes', explain(nearly));
  const left = Number(nearly.attributes['Session-Timeout']);
  t.ok(left >= 80 && left <= 90, `about ninety seconds left (${left})`);

  // The exact instant, with the function's time given (FreeRADIUS leaves it to now()).
  const { rows: [ident] } = await svc.db.query<{ expires_at: Date }>('select expires_at from identifications where mac = $1 and ended_at is null', [late]);
  const at = async (when: Date) =>
    (await svc.db.query<{ attribute: string; value: string }>('select attribute, value from kalitka_radius_check($1, $2, null, $3)', ['lobby-ap', late, when])).rows;
  t.same(await at(new Date(ident.expires_at.getTime() - 1)), [{ attribute: 'Auth-Type', value: 'Accept' }, { attribute: 'Session-Timeout', value: '1' }], 'a millisecond before expiry: accepted, one second');
  t.same(await at(ident.expires_at), [], 'at the expiry instant: nobody');

  const forever = mac();
  const unlimited = await makeToken(svc, contract.id, { durationDays: null });
  await activateToken(svc, { networkId: network.id, mac: forever, code: unlimited.code, now: clock.now() });
  const open = await auth(asDevice(forever));
  t.equal(open.received, 'Access-Accept', 'unlimited token', explain(open));
  t.equal(open.attributes['Session-Timeout'], undefined, 'no Session-Timeout for an unlimited token');

  await annulToken(svc, operatorOf(contract.id), { tokenId: day.id, now: clock.now() });
  t.equal((await auth(asDevice(device))).received, 'Access-Reject', 'annulled: rejected at once');

  // A disabled contract serves nobody; enabled again, it serves again.
  await updateContract(svc, operatorOf(null), contract.id, { disabled: true }, clock.now());
  t.equal((await auth(asDevice(forever))).received, 'Access-Reject', 'a disabled contract serves nobody');
  await updateContract(svc, operatorOf(null), contract.id, { disabled: false }, clock.now());
  t.equal((await auth(asDevice(forever))).received, 'Access-Accept', 'enabled again');

  // Two networks answering to one NAS-Identifier: nobody (the HTTP path answers 409).
  const twin = await makeNetwork(svc, contract.id, 'generic', { nasIdentifier: 'lobby-ap' });
  t.equal((await auth(asDevice(forever))).received, 'Access-Reject', 'an ambiguous NAS-Identifier');
  await deleteNetwork(svc, operatorOf(null), twin.id, clock.now());
  t.equal((await auth(asDevice(forever))).received, 'Access-Accept', 'unambiguous again once the twin is deleted');

  await deleteNetwork(svc, operatorOf(null), network.id, clock.now());
  t.equal((await auth(asDevice(forever))).received, 'Access-Reject', 'a deleted network serves nobody (by its old NAS-Identifier)');
  t.equal((await auth(asDevice(forever, network.id))).received, 'Access-Reject', 'nor by its id');

  const mark = radius.output().length;
  const acct = await radclient(radius.acctPort, 'acct', radius.secret, { 'Acct-Status-Type': 'Start', 'Acct-Session-Id': 'abc123', 'User-Name': forever, 'Calling-Station-Id': forever, 'NAS-Identifier': 'lobby-ap' });
  t.equal(acct.received, 'Accounting-Response', 'accounting is answered', { radclient: acct.raw.slice(-1500), freeradius: radius.output().slice(mark).slice(-3000) });
});
