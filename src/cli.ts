#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './log.js';
import { openServices } from './services.js';
import { serve } from './main.js';
import { createUser } from './domain/users.js';
import { PROCESS_ACTOR } from './domain/actor.js';
import { createApiToken } from './domain/apiTokens.js';
import { createContract } from './domain/contracts.js';
import { createNetwork } from './domain/networks.js';
import { generateTokens } from './domain/tokens.js';
import { groupCode } from './domain/code.js';
import { AppError } from './errors.js';
import { sweepOnce } from './worker/schedule.js';
import { drainOutbox } from './worker/outbox.js';

const USAGE = `usage: kalitka <command>
  serve                                   start the server (roles from KALITKA_ROLES)
  migrate                                 apply database migrations and exit
  sweep                                   run one expiry sweep and exit (for system cron)
  user create --login L [--contract ID] [--system] [--password P]
                                          create a user and print a new API token
  demo                                    seed a demo contract, network and tokens
`;

async function withServices<T>(fn: (svc: Awaited<ReturnType<typeof openServices>>) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const svc = await openServices(config, createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel));
  try {
    return await fn(svc);
  } finally {
    await svc.close();
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
    case undefined:
      return serve(loadConfig());
    case 'migrate':
      return withServices(async () => {
        process.stdout.write('migrations applied\n');
      });
    case 'sweep':
      return withServices(async (svc) => {
        const { expired, pruned } = await sweepOnce(svc);
        // Without a worker process, this run also makes the controller calls the sweep queued.
        const { delivered, failed } = await drainOutbox(svc, 100);
        process.stdout.write(`expired ${expired} identifications, pruned ${pruned} log rows, ${delivered} controller calls made, ${failed} to retry\n`);
      });
    case 'user': {
      const { positionals, values } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          login: { type: 'string' },
          contract: { type: 'string' },
          system: { type: 'boolean', default: false },
          password: { type: 'string' },
        },
      });
      if (positionals[0] !== 'create' || !values.login) throw new UsageError('user create needs --login');
      if (!values.system && !values.contract) throw new UsageError('give --contract ID or --system');
      return withServices(async (svc) => {
        const now = svc.now();
        const user = await createUser(svc, PROCESS_ACTOR, {
          login: values.login!,
          password: values.password ?? null,
          contractId: values.system ? null : values.contract!,
          tokenLoginAllowed: true,
          now,
        });
        const token = await createApiToken(svc, { userId: user.id, label: 'cli', now });
        process.stdout.write(`user ${user.login} (${user.id}) created\nAPI token (shown once): ${token.token}\n`);
      });
    }
    case 'demo':
      return withServices(async (svc) => {
        const now = svc.now();
        const contract = await createContract(svc, PROCESS_ACTOR, { name: 'Demo café', now });
        const network = await createNetwork(svc, PROCESS_ACTOR, { contractId: contract.id, name: 'Demo café Wi-Fi', controller: 'generic', settings: {}, now });
        const day = await generateTokens(svc, PROCESS_ACTOR, { contractId: contract.id, count: 5, multiUse: false, durationDays: 1, now });
        const multi = await generateTokens(svc, PROCESS_ACTOR, { contractId: contract.id, count: 1, multiUse: true, durationDays: null, now });
        const base = `http://127.0.0.1:${svc.config.port}`;
        process.stdout.write(
          [
            `contract ${contract.id} "${contract.name}"`,
            `network  ${network.id}`,
            `portal   ${base}/portal/${network.id}?mac=AA:BB:CC:DD:EE:01&url=http://example.com/`,
            `one-day single-use tokens: ${day.map((t) => groupCode(t.code)).join(', ')}`,
            `unlimited multi-use token: ${groupCode(multi[0].code)}`,
          ].join('\n') + '\n',
        );
      });
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

class UsageError extends Error {}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`kalitka: configuration error: ${err.message}\n`);
  } else if (err instanceof UsageError) {
    process.stderr.write(`kalitka: ${err.message}\n${USAGE}`);
  } else if (err instanceof AppError) {
    process.stderr.write(`kalitka: ${err.message}\n`);
  } else {
    process.stderr.write(`kalitka: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  process.exit(1);
});
