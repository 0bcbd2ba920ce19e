import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

// prom-client's own names already start with process_ or nodejs_: kalitka_process_cpu_seconds_total.
const PROCESS_PREFIX = 'kalitka_';

/** Prometheus metrics of one process; each Services has its own registry (tests open many). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: PROCESS_PREFIX });
  // prom-client adds these gauges with a `_total` suffix, which Prometheus keeps for counters:
  // `promtool check metrics` refuses them. The same numbers remain, by type, in the gauges of the
  // same name without the suffix (sum them for the total).
  for (const kind of ['handles', 'requests', 'resources']) registry.removeSingleMetric(`${PROCESS_PREFIX}nodejs_active_${kind}_total`);
  const counter = (name: string, help: string, labelNames: string[] = []) => new Counter({ name, help, labelNames, registers: [registry] });
  const httpDuration = new Histogram({
    name: 'kalitka_http_request_duration_seconds',
    help: 'HTTP request latency by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  // One labelled child per method, route and status, so a request costs a Map lookup, not a label hash.
  const byRequest = new Map<string, ReturnType<typeof httpDuration.labels>>();
  return {
    registry,
    activations: counter('kalitka_activations_total', 'Devices let through with a token (new identifications)'),
    refusals: counter('kalitka_portal_refusals_total', 'Codes refused at the portal, by reason', ['reason']),
    rateLimited: counter('kalitka_portal_rate_limited_total', 'Portal tries refused by the brute-force limits'),
    sweepRows: counter('kalitka_sweep_rows_total', 'Identifications expired by the sweep'),
    sweepDuration: new Histogram({
      name: 'kalitka_sweep_duration_seconds',
      help: 'How long one expiry sweep took',
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60],
      registers: [registry],
    }),
    controllerCalls: counter('kalitka_controller_calls_total', 'Calls to controllers and webhooks, by kind and result', ['kind', 'result']),
    cacheLookups: cacheLookups(registry),
    phone: phoneMetrics(counter),
    observeRequest(method: string, route: string, status: number, seconds: number): void {
      const key = `${method} ${status} ${route}`;
      let child = byRequest.get(key);
      if (!child) byRequest.set(key, (child = httpDuration.labels(method, route, String(status))));
      child.observe(seconds);
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * Cache reads by result. Every session poll and portal page reads the cache, so a read adds to a
 * plain number, and the counter takes the sums when it is scraped (a labelled inc hashes its labels).
 */
function cacheLookups(registry: Registry) {
  const pending = { hit: 0, miss: 0 };
  new Counter({
    name: 'kalitka_cache_lookups_total',
    help: 'Cache reads, by result (hit or miss)',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      this.inc({ result: 'hit' }, pending.hit);
      this.inc({ result: 'miss' }, pending.miss);
      pending.hit = pending.miss = 0;
    },
  });
  return {
    counted(value: string | null): string | null {
      if (value === null) pending.miss++;
      else pending.hit++;
      return value;
    },
  };
}

type CounterOf = (name: string, help: string, labelNames?: string[]) => Counter;

/**
 * Phone identification, per provider and method: what the use cases report through `PhoneObserver`
 * (a send the provider took or failed, a verification confirmed or failed, what a send cost when
 * the provider says), and the portal's refusals by reason.
 */
function phoneMetrics(counter: CounterOf) {
  const sends = counter('kalitka_phone_sends_total', 'Phone verifications started at a provider (call-check numbers, flash calls, SMS), by result', ['provider', 'method', 'result']);
  const verifications = counter('kalitka_phone_verifications_total', 'Phone verifications ended, by result (confirmed or failed)', ['provider', 'method', 'result']);
  const cost = counter('kalitka_phone_cost_total', "What sends cost, as the provider reports it, in the provider's currency", ['provider', 'method']);
  const refusals = counter('kalitka_phone_refusals_total', 'Phone identification refused at the portal, by reason', ['reason']);
  const observer: PhoneObserver & { refused(reason: string): void } = {
    sent({ provider, method, ok, cost: spent }) {
      sends.inc({ provider, method, result: ok ? 'sent' : 'failed' });
      if (ok && spent !== undefined && Number.isFinite(spent) && spent > 0) cost.inc({ provider, method }, spent);
    },
    verified({ provider, method, confirmed }) {
      verifications.inc({ provider, method, result: confirmed ? 'confirmed' : 'failed' });
    },
    refused(reason) {
      refusals.inc({ reason });
    },
  };
  return observer;
}

/**
 * The hook phone use cases report to (svc.metrics.phone): one call per provider send and per
 * verification's end. Kept this small so the domain needs nothing else of the metrics.
 */
export interface PhoneObserver {
  /** A send the provider took (`ok`) or refused/failed; `cost` when its answer says. */
  sent(e: { provider: string; method: string; ok: boolean; cost?: number }): void;
  /** A verification confirmed, or failed for good (code exhausted, call not received, provider said failed). */
  verified(e: { provider: string; method: string; confirmed: boolean }): void;
}
