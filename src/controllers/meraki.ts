import { normalizeMac, requireMac } from '../domain/mac.js';
import { httpUrl, ipParam, param, requireHttpUrl } from './common.js';
import type { ControllerAdapter } from './types.js';

/*
 * Cisco Meraki click-through splash (External Captive Portal API). Meraki appends
 *   ?base_grant_url=https://n143.network-auth.com/splash/grant&user_continue_url=..&node_id=..
 *    &node_mac=..&gateway_id=..&client_ip=..&client_mac=..
 * and the portal grants by sending the browser to base_grant_url?continue_url=..&duration=<seconds>
 * (developer.cisco.com/meraki/captive-portal-api/click-through-api).
 */

/**
 * What an unlimited token asks of Meraki: a year. The splash API has no "forever"; the identification
 * still ends when an operator annuls the token or the device identifies elsewhere.
 */
export const UNLIMITED_DURATION_S = 365 * 24 * 3600;

export const merakiAdapter: ControllerAdapter = {
  kind: 'meraki',
  settings: { required: [], properties: {} },

  parseRedirect(query) {
    const mac = requireMac(param(query, 'client_mac') ?? undefined);
    const params: Record<string, string> = { baseGrantUrl: requireHttpUrl(param(query, 'base_grant_url'), 'base_grant_url') };
    const nodeMac = normalizeMac(param(query, 'node_mac') ?? '');
    if (nodeMac) params.nodeMac = nodeMac;
    return { mac, originalUrl: httpUrl(param(query, 'user_continue_url')), clientIp: ipParam(query, 'client_ip'), params };
  },

  async grant({ context, secondsRemaining }) {
    const url = new URL(requireHttpUrl(context.params.baseGrantUrl, 'base_grant_url'));
    const continueUrl = httpUrl(context.originalUrl);
    if (continueUrl) url.searchParams.set('continue_url', continueUrl);
    const duration = secondsRemaining === null ? UNLIMITED_DURATION_S : Math.max(1, Math.ceil(secondsRemaining));
    url.searchParams.set('duration', String(duration));
    return { kind: 'redirect', url: url.href };
  },
};
