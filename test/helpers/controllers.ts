import { randomUUID } from 'node:crypto';
import type { ControllerKind, Network, NetworkSettings } from '../../src/domain/networks.js';

/** A network row as an adapter sees it; adapters never touch the store. */
export function fakeNetwork(controller: ControllerKind, settings: NetworkSettings = {}): Network {
  return {
    id: randomUUID(),
    contractId: randomUUID(),
    name: `${controller} site`,
    controller,
    settings,
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
