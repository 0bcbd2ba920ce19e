import { createHash } from 'node:crypto';
import { requireMac } from '../domain/mac.js';
import { badRequest } from '../errors.js';
import { httpUrl, ipParam, LOGIN_HOSTS, loginHostsSetting, param, requireHttpUrl, requirePinned } from './common.js';
import { RADIUS_DISCONNECT_DEPENDENCIES, RADIUS_DISCONNECT_SETTINGS, revokeViaRadius, sessionAttributes } from './radius-disconnect.js';
import { changeViaRadius } from './radius-coa.js';
import type { ControllerAdapter } from './types.js';

/*
 * MikroTik HotSpot with an external login page: the router's login.html forwards its variables
 * `$(mac) $(ip) $(link-login-only) $(link-orig) $(chap-id) $(chap-challenge)` to our portal, and
 * the guest is sent back to `link-login-only` with username, password and dst. When the router
 * offers CHAP, its stock login.html does
 *   hexMD5('$(chap-id)' + password + '$(chap-challenge)')
 * (md5.js), with chap-id/challenge written as JavaScript octal escapes like '\340' and
 * '\043\242...' — see MikroTik's default hotspot login.html.
 *
 * The password is never the voucher code: it is the device's single-use grant secret (with CHAP,
 * only its hash), which the router's Access-Request then proves to /api/v1/radius/authorize.
 * link-login-only must name one of the network's loginHosts.
 */

/**
 * Decodes a MikroTik `$(chap-id)`/`$(chap-challenge)` value the way a browser reads the JavaScript
 * string literal it was written into: `\NNN` octal escapes are bytes, other characters are their
 * own (latin-1) code. Null when it is not such a string.
 */
export function decodeOctalEscapes(value: string): Buffer | null {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; ) {
    if (value[i] === '\\') {
      // JavaScript legacy octal: up to three digits while the value stays within a byte.
      const m = /^[0-3][0-7]{0,2}|^[4-7][0-7]?/.exec(value.slice(i + 1));
      if (!m) return null;
      bytes.push(parseInt(m[0], 8));
      i += 1 + m[0].length;
    } else {
      const c = value.charCodeAt(i);
      if (c > 0xff) return null;
      bytes.push(c);
      i++;
    }
  }
  return Buffer.from(bytes);
}

/** The CHAP response MikroTik's md5.js computes: hex MD5(chap-id byte + password + challenge bytes). */
export function chapResponse(chapId: Buffer, password: string, challenge: Buffer): string {
  return createHash('md5').update(chapId).update(Buffer.from(password, 'latin1')).update(challenge).digest('hex');
}

export const mikrotikAdapter: ControllerAdapter = {
  kind: 'mikrotik',
  settings: {
    required: [],
    properties: {
      [LOGIN_HOSTS]: loginHostsSetting('10.5.50.1 or hotspot.example.net (the router\'s hotspot address, as in link-login-only)'),
      ...RADIUS_DISCONNECT_SETTINGS,
    },
    dependentRequired: RADIUS_DISCONNECT_DEPENDENCIES,
  },

  parseRedirect(query, network) {
    const mac = requireMac(param(query, 'mac') ?? undefined);
    const loginUrl = requirePinned(network, requireHttpUrl(param(query, 'link-login-only'), 'link-login-only'), 'link-login-only');
    const params: Record<string, string> = { linkLoginOnly: loginUrl };
    const rawId = param(query, 'chap-id');
    const rawChallenge = param(query, 'chap-challenge');
    if (rawId || rawChallenge) {
      const chapId = rawId ? decodeOctalEscapes(rawId) : null;
      const challenge = rawChallenge ? decodeOctalEscapes(rawChallenge) : null;
      if (!chapId || chapId.length !== 1 || !challenge || challenge.length < 1 || challenge.length > 64) {
        throw badRequest('INVALID_REDIRECT', 'The router sent a malformed chap-id or chap-challenge');
      }
      params.chapId = chapId.toString('hex');
      params.chapChallenge = challenge.toString('hex');
    }
    return { mac, originalUrl: httpUrl(param(query, 'link-orig')), clientIp: ipParam(query, 'ip'), params };
  },

  // The router's RADIUS login gets Mikrotik-Rate-Limit and Mikrotik-Total-Limit(-Gigawords).
  enforcesLimits: () => true,

  async grant({ network, context, grantSecret }) {
    const url = new URL(requirePinned(network, requireHttpUrl(context.params.linkLoginOnly, 'link-login-only'), 'link-login-only'));
    url.searchParams.set('username', context.mac);
    // The HotSpot protocol carries the password in the login request; with CHAP only its hash.
    const secret = await grantSecret();
    const password = context.params.chapId
      ? chapResponse(Buffer.from(context.params.chapId, 'hex'), secret, Buffer.from(context.params.chapChallenge ?? '', 'hex'))
      : secret;
    url.searchParams.set('password', password);
    const dst = httpUrl(context.originalUrl);
    if (dst) url.searchParams.set('dst', dst);
    return { kind: 'redirect', url: url.href };
  },

  async update({ network, mac, secondsRemaining, limitAttributes, outbound, session }) {
    await changeViaRadius(
      network,
      {
        'User-Name': mac,
        'Calling-Station-Id': mac,
        ...sessionAttributes(session),
        ...(secondsRemaining === null ? {} : { 'Session-Timeout': Math.max(1, secondsRemaining) }),
        limits: limitAttributes,
      },
      outbound,
    );
  },

  async revoke({ network, mac, outbound, session }) {
    // The router logged the device in with username = MAC; its Calling-Station-Id is the MAC with colons.
    await revokeViaRadius(network, { 'User-Name': mac, 'Calling-Station-Id': mac, ...sessionAttributes(session) }, outbound);
  },
};
