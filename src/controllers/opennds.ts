import { createHash } from 'node:crypto';
import { requireMac } from '../domain/mac.js';
import { badRequest } from '../errors.js';
import { httpUrl, ipParam, isHostPort, LOGIN_HOSTS, loginHostsSetting, param, requirePinned, requireSetting } from './common.js';
import type { Network } from '../domain/networks.js';
import type { ControllerAdapter, GrantLimits, RedirectQuery } from './types.js';

/*
 * openNDS with a remote FAS at fas_secure_enabled = 1 (openNDS docs, "Forwarding Authentication
 * Service", and its fas-hid.php example). openNDS 9+ sends one parameter, `fas`, holding base64 of
 *   clientip=.., clientmac=.., gatewayname=.., version=.., hid=.., client_type=.., gatewayaddress=..,
 *   gatewaymac=.., authdir=.., originurl=.., clientif=.., ...          (separator: comma-space)
 * with gatewayname/originurl rawurlencoded inside; older releases sent the same names as plain
 * query parameters (with the original URL as `redir`). The FAS authenticates the client by sending
 * it to http://<gatewayaddress>/<authdir>/?tok=<sha256_hex(hid + faskey)>&redir=<landing url>.
 * gatewayaddress must be one of the network's loginHosts.
 */

const DEFAULT_AUTHDIR = 'opennds_auth';

/** The `fas` payload's name=value pairs, or the plain query of an older openNDS. */
export function fasFields(query: RedirectQuery): Record<string, string> {
  const fas = param(query, 'fas');
  if (!fas) {
    const plain: Record<string, string> = {};
    for (const [k, v] of Object.entries(query)) if (typeof v === 'string') plain[k] = v;
    if (plain.redir && !plain.originurl) plain.originurl = plain.redir;
    return plain;
  }
  if (!/^[A-Za-z0-9+/=_-]+$/.test(fas) || fas.length > 8192) throw badRequest('INVALID_REDIRECT', 'The gateway sent a malformed fas parameter');
  const fields: Record<string, string> = {};
  for (const pair of Buffer.from(fas, 'base64').toString('utf8').split(', ')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const name = pair.slice(0, eq).trim();
    let value = pair.slice(eq + 1).trim();
    if (name === 'originurl' || name === 'gatewayname') {
      try {
        value = decodeURIComponent(value);
      } catch {
        // Not percent-encoded after all: keep it as sent.
      }
    }
    fields[name] = value;
  }
  return fields;
}

/** The gateway's auth URL, if the network pins its address. */
function authUrl(network: Network, gatewayaddress: string | undefined, authdir: string | undefined): URL {
  if (!gatewayaddress || !isHostPort(gatewayaddress)) throw badRequest('INVALID_REDIRECT', 'The gateway sent no usable gatewayaddress');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(authdir ?? '')) throw badRequest('INVALID_REDIRECT', 'The gateway sent a malformed authdir');
  return new URL(requirePinned(network, `http://${gatewayaddress}/${authdir}/`, 'gatewayaddress'));
}

/** The return hash id openNDS checks: sha256 hex of hid followed by faskey. */
export const rhid = (hid: string, faskey: string) => createHash('sha256').update(hid + faskey, 'utf8').digest('hex');

/**
 * The `custom` string for a BinAuth script, in openNDS's own units and names (docs "Data Quotas and
 * Traffic Shaping": rates in kb/s, quotas in kB, 0 = no limit; the session length in minutes).
 * openNDS counts upload and download quotas apart: each is given the whole quota (both directions
 * together cannot be capped there).
 */
export function binauthCustom(secondsRemaining: number | null, limits: GrantLimits | null): string {
  const quotaKb = limits?.bytesRemaining == null ? 0 : Math.max(1, Math.ceil(limits.bytesRemaining / 1024));
  return [
    `sessionlength=${secondsRemaining === null ? 0 : Math.max(1, Math.ceil(secondsRemaining / 60))}`,
    `uploadrate=${limits?.upKbps ?? 0}`,
    `downloadrate=${limits?.downKbps ?? 0}`,
    `uploadquota=${quotaKb}`,
    `downloadquota=${quotaKb}`,
  ].join(', ');
}

export const openndsAdapter: ControllerAdapter = {
  kind: 'opennds',
  settings: {
    required: ['faskey'],
    properties: {
      faskey: { type: 'string', minLength: 1, maxLength: 256, description: "openNDS's faskey (fas_secure_enabled 1)" },
      [LOGIN_HOSTS]: loginHostsSetting('192.168.8.1:2050 (the gateway\'s gatewayaddress)'),
      binauthLimits: {
        type: 'boolean',
        description: "The gateway's BinAuth script applies the limits sent in the `custom` variable (sessionlength, uploadrate, downloadrate, uploadquota, downloadquota)",
      },
    },
  },

  // openNDS sets per-client rates and quotas only through BinAuth (or authmon at level 3): the
  // auth URL can carry them in `custom`, which only a BinAuth script on the gateway can apply.
  enforcesLimits: (network) => network.settings.binauthLimits === true,

  parseRedirect(query, network) {
    const f = fasFields(query);
    const mac = requireMac(f.clientmac);
    const hid = f.hid ?? '';
    const gatewayaddress = f.gatewayaddress ?? '';
    const authdir = f.authdir || DEFAULT_AUTHDIR;
    if (!/^[0-9A-Za-z]{1,128}$/.test(hid)) throw badRequest('INVALID_REDIRECT', 'The gateway sent no hid (is fas_secure_enabled 1 set?)');
    authUrl(network, gatewayaddress, authdir);
    const params: Record<string, string> = { hid, gatewayaddress, authdir };
    if (f.gatewayname) params.gatewayname = f.gatewayname.slice(0, 200);
    return { mac, originalUrl: httpUrl(f.originurl), clientIp: ipParam(f, 'clientip'), params };
  },

  async grant({ network, context, secondsRemaining, limits }) {
    const { hid, gatewayaddress, authdir } = context.params;
    if (!hid) throw badRequest('INVALID_REDIRECT', 'The gateway sent no usable hid');
    const url = authUrl(network, gatewayaddress, authdir);
    url.searchParams.set('tok', rhid(hid, requireSetting(network, 'faskey')));
    const redir = httpUrl(context.originalUrl);
    if (redir) url.searchParams.set('redir', redir);
    if (network.settings.binauthLimits === true) url.searchParams.set('custom', binauthCustom(secondsRemaining, limits ?? null));
    return { kind: 'redirect', url: url.href };
  },
};
