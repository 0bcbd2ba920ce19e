// The process entry: opens the services, starts what KALITKA_ROLES asks for, and closes it all on
// a signal. It may import anything; nothing imports it but the CLI.
import closeWithGrace from 'close-with-grace';
import type { Config } from './config.js';
import { buildApp } from './http/app.js';
import { createLogger } from './log.js';
import { openServices, type Services } from './services.js';
import { bootstrapAdmin } from './domain/users.js';
import { startWorker } from './worker/schedule.js';

/** `kalitka serve`: the process entry. Everything it starts is closed again on SIGTERM/SIGINT. */
export async function serve(config: Config): Promise<void> {
  const log = createLogger(config.logLevel);
  const svc = await openServices(config, log);
  const admin = await bootstrapAdmin(svc, svc.now());
  // The app owns the services from here: closing it closes them (in its onClose).
  const app = await buildApp(svc, { ownServices: true });
  const stops: Array<() => Promise<void>> = [];
  if (config.roles.has('worker')) stops.push(await startWorker(svc));

  closeWithGrace({ delay: 10_000 }, async ({ err, signal }) => {
    if (err) log.error({ err }, 'shutting down after an error');
    else log.info({ signal }, 'shutting down');
    for (const stop of stops) await stop();
    await app.close();
  });

  const address = await app.listen({ port: config.port, host: config.host });
  printBanner(svc, address, admin);
}

function printBanner(svc: Services, address: string, admin: Awaited<ReturnType<typeof bootstrapAdmin>>): void {
  const base = address.replace('0.0.0.0', '127.0.0.1').replace('[::]', '[::1]');
  const store = svc.config.databaseUrl ? 'PostgreSQL' : `embedded PGlite in ${svc.config.dataDir}`;
  const cache = svc.config.redisUrl ? 'Redis' : 'in-process cache';
  const lines = [
    `Kalitka is serving ${[...svc.config.roles].join(', ')} at ${base} (${store}, ${cache})`,
    `  admin API:    ${base}/api/v1/contracts   (Authorization: Bearer <token>)`,
    `  guest portal: ${base}/portal/<networkId> (each network's portalUrl; try: npx kalitka demo)`,
    ...(svc.config.roles.has('admin') ? [`  admin panel:  ${base}/admin (password login; KALITKA_ADMIN_PASSWORD sets admin's)`] : []),
    `  health:       ${base}/healthz  ${base}/readyz`,
  ];
  if (admin) {
    lines.push(
      admin.generated
        ? `  administrator "${admin.login}" created; API token (shown once, keep it): ${admin.token}`
        : `  administrator "${admin.login}" created with the token from KALITKA_ADMIN_TOKEN`,
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
}
