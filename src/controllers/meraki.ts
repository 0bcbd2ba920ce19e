import { normalizeMac, requireMac } from '../domain/mac.js';
import type { Network } from '../domain/networks.js';
import { httpUrl, ipParam, LOGIN_HOSTS, loginHostsSetting, param, requireHttpUrl, requirePinned } from './common.js';
import type { ControllerAdapter } from './types.js';

/*
 * Cisco Meraki click-through splash (External Captive Portal API). Meraki appends
 *   ?base_grant_url=https://n143.network-auth.com/splash/grant&user_continue_url=..&node_id=..
 *    &node_mac=..&gateway_id=..&client_ip=..&client_mac=..
 * and the portal grants by sending the browser to base_grant_url?continue_url=..&duration=<seconds>
 * (developer.cisco.com/meraki/captive-portal-api/click-through-api).
 * base_grant_url must be one of the network's loginHosts: Meraki's own *.network-auth.com unless
 * the operator names others.
 */

export const MERAKI_LOGIN_HOSTS = '*.network-auth.com';
const pinnedGrantUrl = (network: Network, url: string | null | undefined) =>
  requirePinned(network, requireHttpUrl(url, 'base_grant_url'), 'base_grant_url', MERAKI_LOGIN_HOSTS);

/**
 * What an unlimited token asks of Meraki: a year. The splash API has no "forever"; the identification
 * still ends when an operator annuls the token or the device identifies elsewhere.
 */
export const UNLIMITED_DURATION_S = 365 * 24 * 3600;

export const merakiAdapter: ControllerAdapter = {
  kind: 'meraki',
  settings: {
    required: [],
    properties: { [LOGIN_HOSTS]: loginHostsSetting('*.network-auth.com', MERAKI_LOGIN_HOSTS) },
  },

  parseRedirect(query, network) {
    const mac = requireMac(param(query, 'client_mac') ?? undefined);
    const params: Record<string, string> = { baseGrantUrl: pinnedGrantUrl(network, param(query, 'base_grant_url')) };
    const nodeMac = normalizeMac(param(query, 'node_mac') ?? '');
    if (nodeMac) params.nodeMac = nodeMac;
    return { mac, originalUrl: httpUrl(param(query, 'user_continue_url')), clientIp: ipParam(query, 'client_ip'), params };
  },

  // The click-through grant carries only a duration: speed and quota are the dashboard's group policy.
  enforcesLimits: () => false,

  async grant({ network, context, secondsRemaining }) {
    const url = new URL(pinnedGrantUrl(network, context.params.baseGrantUrl));
    const continueUrl = httpUrl(context.originalUrl);
    if (continueUrl) url.searchParams.set('continue_url', continueUrl);
    const duration = secondsRemaining === null ? UNLIMITED_DURATION_S : Math.max(1, Math.ceil(secondsRemaining));
    url.searchParams.set('duration', String(duration));
    return { kind: 'redirect', url: url.href };
  },
};
