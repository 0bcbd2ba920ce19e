import { requireMac } from '../domain/mac.js';
import { httpUrl, ipParam, param } from './common.js';
import type { ControllerAdapter } from './types.js';

/**
 * Any controller that can send the guest to `/portal/:id?mac=..&url=..` and asks us (by polling the
 * session-state API or RADIUS) whether the MAC may pass. Nothing to call at grant time.
 */
export const genericAdapter: ControllerAdapter = {
  kind: 'generic',
  // Only the common settings (webhook, NAS name, SSID, branding, phone): an unknown name is a typo
  // or a secret that would be stored and never shown back, so it is refused as on every controller.
  settings: { required: [], properties: {} },

  parseRedirect(query) {
    return {
      mac: requireMac(param(query, 'mac') ?? undefined),
      originalUrl: httpUrl(param(query, 'url')),
      clientIp: ipParam(query, 'ip'),
      params: {},
    };
  },

  // It is handed the limits in every answer it asks for (session state, RADIUS WISPr attributes).
  enforcesLimits: () => true,

  async grant({ context }) {
    return { kind: 'done', continueUrl: httpUrl(context.originalUrl) };
  },
};
