import { randomUUID } from 'node:crypto';
import type { GrantInput, PortalContext } from '../../src/controllers/types.js';
import type { ControllerKind, Network, NetworkSettings } from '../../src/domain/networks.js';
import { outboundPolicy } from '../../src/net/outbound.js';

/** A network row as an adapter sees it; adapters never touch the store. */
export function fakeNetwork(controller: ControllerKind, settings: NetworkSettings = {}, targetsApproved = false): Network {
  return {
    id: randomUUID(),
    contractId: randomUUID(),
    name: `${controller} site`,
    controller,
    settings,
    targetsApproved,
    logoVersion: null,
    createdAt: '2026-11-23T10:00:00.000Z',
  };
}

/** The error a synchronous call throws (or undefined), for asserting its code and status. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

export const NOW = new Date('2026-11-23T10:00:00.000Z');

/** The test fakes listen on loopback: what KALITKA_OUTBOUND_ALLOW opens for them. */
export const LOOPBACK_ALLOW = ['127.0.0.0/8', '::1/128'];
/** The gate as a server with the fakes' allow-list has it, for an unapproved network. */
export const LOOPBACK_OK = outboundPolicy(LOOPBACK_ALLOW, false);
/** The gate of a server with no allow-list, for an unapproved network. */
export const STRICT = outboundPolicy([], false);

/** A grant secret the tests recognise in URLs: what grantSecret() hands the adapter. */
export const SECRET = 'Grant5ecretXy7Qw';

/** What the portal hands an adapter's grant, with a fixed grant secret and a count of its issues. */
export function grantInput(network: Network, context: PortalContext, extra: Partial<GrantInput> = {}): GrantInput & { issued: () => number } {
  let issued = 0;
  return {
    network,
    context,
    secondsRemaining: 600,
    now: NOW,
    outbound: LOOPBACK_OK,
    grantSecret: async () => {
      issued++;
      return SECRET;
    },
    issued: () => issued,
    ...extra,
  };
}
