#!/usr/bin/env node
// The bare baselines the benchmark compares Kalitka against: fastify routes doing the least work
// of the same kind (one Redis GET, one single-row upsert transaction, a constant), with the same
// fastify, ioredis and pg as Kalitka and no request logging.
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import pg from 'pg';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
await pool.query('create table if not exists bench_kv (k integer primary key, v integer not null)');
await redis.set('bench:key', JSON.stringify({ hello: 'world', n: 1 }));

const app = Fastify({ logger: false });
app.get('/bare-redis-get', async () => ({ value: JSON.parse((await redis.get('bench:key')) ?? 'null') }));
app.post('/bare-pg-transaction', async () => {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const k = Math.floor(Math.random() * 1_000_000);
    await client.query('insert into bench_kv (k, v) values ($1, 1) on conflict (k) do update set v = bench_kv.v + 1', [k]);
    await client.query('commit');
    return { ok: true };
  } finally {
    client.release();
  }
});
app.get('/bare-hello', async () => 'hello');
const address = await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
process.stdout.write(`baseline listening at ${address}\n`);
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, async () => {
    await app.close();
    await pool.end();
    redis.disconnect();
    process.exit(0);
  });
}
