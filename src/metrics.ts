import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const PROCESS_PREFIX = 'kalitka_process_';

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
    cacheLookups: counter('kalitka_cache_lookups_total', 'Cache reads, by result (hit or miss)', ['result']),
    observeRequest(method: string, route: string, status: number, seconds: number): void {
      const key = `${method} ${status} ${route}`;
      let child = byRequest.get(key);
      if (!child) byRequest.set(key, (child = httpDuration.labels(method, route, String(status))));
      child.observe(seconds);
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
