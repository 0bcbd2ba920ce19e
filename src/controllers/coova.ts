import { createHash } from 'node:crypto';
import { requireMac } from '../domain/mac.js';
import { badRequest } from '../errors.js';
import type { Network } from '../domain/networks.js';
import { httpUrl, ipParam, isHostPort, LOGIN_HOSTS, loginHostsSetting, param, requirePinned, stringSetting } from './common.js';
import { RADIUS_DISCONNECT_DEPENDENCIES, RADIUS_DISCONNECT_SETTINGS, revokeViaRadius, sessionAttributes } from './radius-disconnect.js';
import { changeViaRadius } from './radius-coa.js';
import type { ControllerAdapter } from './types.js';

/*
 * CoovaChilli (ChilliSpot) UAM. Chilli redirects with
 *   ?res=notyet&uamip=..&uamport=..&challenge=<32 hex>&mac=..&called=..&nasid=..&userurl=..
 * and logs the device in at http://uamip:uamport/logon?username=..&password=<hex>&userurl=..
 * The password is hidden the way the stock hotspotlogin.cgi / .php does it:
 *   newchal = uamsecret ? MD5(hexdecode(challenge) + uamsecret) : hexdecode(challenge)
 *   password = hex( pack("a32", password) XOR newchal )   (first 16 octets)
 * The password hidden so is the device's single-use grant secret, never the voucher code; Chilli
 * sends it as User-Password to RADIUS, where /api/v1/radius/authorize redeems it. uamip:uamport
 * must be one of the network's loginHosts.
 */

/** Chilli's logon URL for a redirect's uamip and uamport, if the network pins that host. */
function logonUrl(network: Network, uamip: string | undefined, uamport: string | undefined): URL {
  if (!uamip || !uamport || !isHostPort(`${uamip}:${uamport}`)) throw badRequest('INVALID_REDIRECT', 'The hotspot sent no usable uamip and uamport');
  return new URL(requirePinned(network, `http://${uamip}:${uamport}/logon`, 'uamip and uamport'));
}

/** The PAP password field of a UAM logon, per hotspotlogin.cgi. */
export function coovaPapPassword(password: string, challengeHex: string, uamSecret: string | null): string {
  if (!/^[0-9a-fA-F]{32}$/.test(challengeHex)) throw badRequest('INVALID_REDIRECT', 'The hotspot sent a malformed challenge');
  const challenge = Buffer.from(challengeHex, 'hex');
  const newchal = uamSecret
    ? createHash('md5').update(challenge).update(Buffer.from(uamSecret, 'utf8')).digest()
    : challenge;
  const pwd = Buffer.from(password, 'utf8');
  // One MD5 block hides 16 octets; our 12-digit codes always fit.
  if (pwd.length > 16) throw new RangeError('UAM PAP passwords longer than 16 octets are not supported');
  const padded = Buffer.alloc(16);
  pwd.copy(padded);
  for (let i = 0; i < 16; i++) padded[i] ^= newchal[i];
  return padded.toString('hex');
}

export const coovaAdapter: ControllerAdapter = {
  kind: 'coova',
  settings: {
    required: [],
    properties: {
      [LOGIN_HOSTS]: loginHostsSetting('10.1.0.1:3990 (HS_UAMLISTEN:HS_UAMPORT, as in uamip and uamport)'),
      uamSecret: { type: 'string', minLength: 1, maxLength: 128, description: "Chilli's HS_UAMSECRET / uamsecret, when set there" },
      ...RADIUS_DISCONNECT_SETTINGS,
    },
    dependentRequired: RADIUS_DISCONNECT_DEPENDENCIES,
  },

  parseRedirect(query, network) {
    const mac = requireMac(param(query, 'mac') ?? undefined);
    const uamip = param(query, 'uamip');
    const uamport = param(query, 'uamport');
    const challenge = param(query, 'challenge');
    if (!uamip || !isHostPort(uamip) || uamip.includes(':') || !uamport || !/^\d{1,5}$/.test(uamport) || Number(uamport) < 1 || Number(uamport) > 65535) {
      throw badRequest('INVALID_REDIRECT', 'The hotspot sent no usable uamip and uamport');
    }
    if (!challenge || !/^[0-9a-fA-F]{32}$/.test(challenge)) {
      throw badRequest('INVALID_REDIRECT', 'The hotspot sent a malformed challenge');
    }
    const params: Record<string, string> = { uamip, uamport: String(Number(uamport)), challenge: challenge.toLowerCase() };
    logonUrl(network, params.uamip, params.uamport);
    for (const name of ['called', 'nasid'] as const) {
      const v = param(query, name);
      if (v) params[name] = v.slice(0, 253);
    }
    return { mac, originalUrl: httpUrl(param(query, 'userurl')), clientIp: ipParam(query, 'ip'), params };
  },

  // Chilli's RADIUS login gets ChilliSpot-Bandwidth-Max-Down/-Up and ChilliSpot-Max-Total-Octets.
  enforcesLimits: () => true,

  async grant({ network, context, grantSecret }) {
    const { uamip, uamport, challenge } = context.params;
    const url = logonUrl(network, uamip, uamport);
    url.searchParams.set('username', context.mac);
    url.searchParams.set('password', coovaPapPassword(await grantSecret(), challenge ?? '', stringSetting(network, 'uamSecret')));
    const userurl = httpUrl(context.originalUrl);
    if (userurl) url.searchParams.set('userurl', userurl);
    return { kind: 'redirect', url: url.href };
  },

  async update({ network, mac, secondsRemaining, limitAttributes, outbound, session }) {
    await changeViaRadius(
      network,
      {
        'User-Name': mac,
        'Calling-Station-Id': mac.replace(/:/g, '-'),
        ...sessionAttributes(session),
        ...(secondsRemaining === null ? {} : { 'Session-Timeout': Math.max(1, secondsRemaining) }),
        limits: limitAttributes,
      },
      outbound,
    );
  },

  async revoke({ network, mac, outbound, session }) {
    // Chilli's Calling-Station-Id spells the MAC with dashes (AA-BB-CC-DD-EE-FF); User-Name is what we logged in with.
    await revokeViaRadius(network, { 'User-Name': mac, 'Calling-Station-Id': mac.replace(/:/g, '-'), ...sessionAttributes(session) }, outbound);
  },
};
