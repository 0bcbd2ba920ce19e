import { PROCESS_ACTOR } from './domain/actor.js';
import { randomInt } from 'node:crypto';
import { createApiToken } from './domain/apiTokens.js';
import { groupCode } from './domain/code.js';
import { createContract } from './domain/contracts.js';
import { createNetwork } from './domain/networks.js';
import { generateTokens } from './domain/tokens.js';
import { bootstrapAdmin, createUser, findUserByLogin, updateUser } from './domain/users.js';
import { notFound } from './errors.js';
import type { Services } from './services.js';
import { sweepOnce } from './worker/schedule.js';
import { drainOutbox } from './worker/outbox.js';

/**
 * The CLI's commands that work on the store. They run in the CLI's own process, or — when a
 * server holds the embedded data directory — inside that server, asked over its control socket
 * (src/control.ts): the same functions either way, so the output is the same.
 */
export type StoreCommand =
  | { command: 'migrate' }
  | { command: 'sweep' }
  | { command: 'demo' }
  | { command: 'user create'; login: string; contractId: string | null }
  | { command: 'user password'; login: string; password: string };

/** `base`: where this store's server answers, for the URLs a command prints. */
export async function runStoreCommand(svc: Services, request: StoreCommand, base: string): Promise<string> {
  const now = svc.now();
  switch (request.command) {
    case 'migrate':
      // Opening the store applied them (under an advisory lock), here or when the server started.
      return 'migrations applied\n';
    case 'sweep': {
      const { expired, pruned } = await sweepOnce(svc);
      // Without a worker process, this run also makes the controller calls the sweep queued.
      const { delivered, failed } = await drainOutbox(svc, 100);
      return `expired ${expired} identifications, pruned ${pruned} log rows, ${delivered} controller calls made, ${failed} to retry\n`;
    }
    case 'demo': {
      const contract = await createContract(svc, PROCESS_ACTOR, { name: 'Demo café', now });
      const network = await createNetwork(svc, PROCESS_ACTOR, { contractId: contract.id, name: 'Demo café Wi-Fi', controller: 'generic', settings: {}, now });
      const day = await generateTokens(svc, PROCESS_ACTOR, { contractId: contract.id, count: 5, multiUse: false, durationDays: 1, now });
      const multi = await generateTokens(svc, PROCESS_ACTOR, { contractId: contract.id, count: 1, multiUse: true, durationDays: null, now });
      return (
        [
          `contract ${contract.id} "${contract.name}"`,
          `network  ${network.id}`,
          `portal   ${base}/portal/${network.id}?mac=AA:BB:CC:DD:EE:01&url=http://example.com/`,
          `one-day single-use tokens: ${day.map((t) => groupCode(t.code)).join(', ')}`,
          `unlimited multi-use token: ${groupCode(multi[0].code)}`,
        ].join('\n') + '\n'
      );
    }
    case 'user create': {
      const user = await createUser(svc, PROCESS_ACTOR, {
        login: request.login,
        password: null,
        contractId: request.contractId,
        tokenLoginAllowed: true,
        now,
      });
      const token = await createApiToken(svc, { userId: user.id, label: 'cli', now });
      return (
        `user ${user.login} (${user.id}) created\nAPI token (shown once): ${token.token}\n` +
        `panel password: none yet; set one with: kalitka user password ${user.login}\n`
      );
    }
    case 'user password': {
      const user = await findUserByLogin(svc, request.login);
      if (!user) throw notFound(`User "${request.login}"`);
      await updateUser(svc, PROCESS_ACTOR, user.id, { password: request.password });
      return `password of ${user.login} changed\n`;
    }
  }
}

// No 0/O, 1/l/I: read off a screen and typed on a phone.
const ALPHABET = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** Four groups of five: about 115 bits, typed without ambiguity. */
export function generatePassword(): string {
  const groups: string[] = [];
  for (let g = 0; g < 4; g++) {
    let group = '';
    for (let i = 0; i < 5; i++) group += ALPHABET[randomInt(ALPHABET.length)];
    groups.push(group);
  }
  return groups.join('-');
}

/**
 * On an empty store, creates the administrator and says how to get in, once: the API token (given
 * or generated) and the panel password (KALITKA_ADMIN_PASSWORD, else a generated one shown here
 * only). On a store that has one, KALITKA_ADMIN_PASSWORD changes nothing, and the lines say so.
 */
export async function bootstrap(svc: Services, now: Date): Promise<string[]> {
  const admin = await bootstrapAdmin(svc, now);
  const panel = svc.config.roles.has('admin') ? 'the panel' : 'the panel (served by instances with the admin role)';
  if (!admin) {
    return svc.config.adminPassword
      ? [`  KALITKA_ADMIN_PASSWORD is ignored: it only sets the password of the first administrator, and this store has one. To change a password: npx kalitka user password admin`]
      : [];
  }
  const lines = [
    admin.generated
      ? `  administrator "${admin.login}" created; API token (shown once, keep it): ${admin.token}`
      : `  administrator "${admin.login}" created with the API token from KALITKA_ADMIN_TOKEN`,
  ];
  if (svc.config.adminPassword) {
    lines.push(`  sign in to ${panel} as "${admin.login}" with the password from KALITKA_ADMIN_PASSWORD`);
  } else {
    const password = generatePassword();
    const user = await findUserByLogin(svc, admin.login);
    await updateUser(svc, PROCESS_ACTOR, user!.id, { password });
    lines.push(
      `  sign in to ${panel} as "${admin.login}" with the password ${password} (shown once; change it with: npx kalitka user password ${admin.login})`,
    );
  }
  return lines;
}
