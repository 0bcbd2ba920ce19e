// The process entry: opens the services, starts what KALITKA_ROLES asks for, and closes it all on
// a signal. It may import anything; nothing imports it but the CLI.
import closeWithGrace from 'close-with-grace';
import { ConfigError, type Config } from './config.js';
import { buildApp } from './http/app.js';
import { createLogger } from './log.js';
import { openServices, type Services } from './services.js';
import { bootstrap } from './commands.js';
import { startControl } from './control.js';
import { startWorker } from './worker/schedule.js';

/** `kalitka serve`: the process entry. Everything it starts is closed again on SIGTERM/SIGINT. */
export async function serve(config: Config): Promise<void> {
  const log = createLogger(config.logLevel);
  const svc = await openServices(config, log);
  const adminLines = await bootstrap(svc, svc.now());
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

  const address = await app.listen({ port: config.port, host: config.host }).catch((err: unknown) => {
    throw listenError(err, config);
  });
  const base = address.replace('0.0.0.0', '127.0.0.1').replace('[::]', '[::1]');
  // `kalitka demo` and `user …` beside this server go through it: the data directory is ours alone.
  if (!config.databaseUrl && config.dataDir !== 'memory://') stops.unshift(await startControl(svc, base));
  printBanner(svc, base, adminLines);
}

/** A listener that cannot open is bad configuration: one line naming HOST or PORT, as config.ts does. */
function listenError(err: unknown, config: Config): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new ConfigError('HOST', `"${config.host}" is no address this machine can resolve`);
  if (code === 'EADDRNOTAVAIL') return new ConfigError('HOST', `"${config.host}" is not an address of this machine`);
  if (code === 'EADDRINUSE') return new ConfigError('PORT', `${config.port} is already in use on ${config.host}`);
  if (code === 'EACCES') return new ConfigError('PORT', `${config.port} on ${config.host} needs privileges this process does not have`);
  return err;
}

function printBanner(svc: Services, base: string, adminLines: string[]): void {
  const store = svc.config.databaseUrl ? 'PostgreSQL' : `embedded PGlite in ${svc.config.dataDir}`;
  const cache = svc.config.redisUrl ? 'Redis' : 'in-process cache';
  const lines = [
    `Kalitka is serving ${[...svc.config.roles].join(', ')} at ${base} (${store}, ${cache})`,
    `  admin API:    ${base}/api/v1/contracts   (Authorization: Bearer <token>)`,
    `  guest portal: ${base}/portal/<networkId> (each network's portalUrl; try: npx kalitka demo)`,
    ...(svc.config.roles.has('admin') ? [`  admin panel:  ${base}/admin (sign in with a login and password; set one with: npx kalitka user password LOGIN)`] : []),
    `  health:       ${base}/healthz  ${base}/readyz`,
    ...adminLines,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}
