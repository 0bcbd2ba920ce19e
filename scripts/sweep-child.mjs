#!/usr/bin/env node
// One expiry sweep in a process of its own, so its peak memory can be read: prints JSON.
import path from 'node:path';
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { loadConfig } = await import(path.join(root, 'dist/config.js'));
const { createLogger } = await import(path.join(root, 'dist/log.js'));
const { openServices } = await import(path.join(root, 'dist/services.js'));
const { sweepExpired } = await import(path.join(root, 'dist/domain/sweep.js'));

const config = loadConfig();
const svc = await openServices(config, createLogger('warn'));
const baseRss = process.resourceUsage().maxRSS;
const started = performance.now();
const result = await sweepExpired(svc, { now: new Date(process.env.SWEEP_AT ?? Date.now()), batchSize: Number(process.env.SWEEP_BATCH ?? 500) });
const ms = performance.now() - started;
await svc.close();
process.stdout.write(JSON.stringify({ ...result, ms, startRssMb: baseRss / 1024, peakRssMb: process.resourceUsage().maxRSS / 1024 }) + '\n');
