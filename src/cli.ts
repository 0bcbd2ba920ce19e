#!/usr/bin/env node
import { parseArgs } from 'node:util';
import type { StoreCommand } from './commands.js';
import { AppError } from './errors.js';
import { readNewPassword } from './prompt.js';

// The server, the store and their drivers are loaded only by the commands that use them, so
// help and usage mistakes answer at once.

const COMMANDS: Record<string, { usage: string; summary: string; details: string }> = {
  serve: {
    usage: 'serve',
    summary: 'start the server (what it serves: KALITKA_ROLES)',
    details: `Starts the HTTP server (guest portal, admin API and panel) and the expiry worker, as
KALITKA_ROLES says, on HOST:PORT (0.0.0.0:8080). Migrations are applied first. With no
DATABASE_URL the store is PGlite in KALITKA_DATA_DIR (./data), which one process at a time may
open. \`npm start\` runs this. Every setting: DESIGN.md section 3.`,
  },
  migrate: {
    usage: 'migrate',
    summary: 'apply database migrations and exit',
    details: 'Applies pending migrations and exits (a release step; every start applies them too).',
  },
  sweep: {
    usage: 'sweep',
    summary: 'run one expiry sweep and exit (for system cron)',
    details: `Ends expired identifications, prunes the identification log past its retention and
makes the controller calls that queued up, then exits. For a system timer instead of a worker.`,
  },
  demo: {
    usage: 'demo',
    summary: 'seed a demo contract, network and tokens; print the portal URL',
    details: `Creates a contract "Demo café" with a generic network and six tokens, and prints the
network's portal URL. Beside a running server on the same data directory it asks that server.`,
  },
  'user create': {
    usage: 'user create --login L (--contract ID | --system)',
    summary: 'create a user and print a new API token (shown once)',
    details: `Creates an operator of contract ID, or with --system a system administrator, and prints
an API token for them (shown once). Give them a panel password with \`kalitka user password L\`.`,
  },
  'user password': {
    usage: 'user password LOGIN',
    summary: "set LOGIN's panel password (from standard input or a prompt)",
    details: `Sets the panel password of LOGIN. The password is read from standard input when it is
piped (the first line), or asked twice without echo on a terminal; never from the command line,
which would keep it in the shell's history. Example: printf '%s\\n' "$PW" | kalitka user password admin`,
  },
};

function help(): string {
  const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.length)) + 2;
  return [
    'usage: kalitka <command> [options]',
    '',
    'commands:',
    ...Object.values(COMMANDS).map((c) => `  ${c.usage.padEnd(width)}${c.summary}`),
    `  ${'help [COMMAND]'.padEnd(width)}this help, or one command's`,
    '',
    'Settings come from the environment (PORT, HOST, DATABASE_URL, KALITKA_DATA_DIR, REDIS_URL, ...).',
    '',
  ].join('\n');
}

function commandHelp(name: string): string | null {
  const matches = Object.entries(COMMANDS).filter(([key]) => key === name || key.startsWith(`${name} `));
  if (matches.length === 0) return null;
  return matches.map(([, c]) => `usage: kalitka ${c.usage}\n\n${c.details}\n`).join('\n');
}

/** A mistake in how the CLI was called: help goes to stderr and the exit status is 2. */
class UsageError extends Error {}

/**
 * Runs a store command here, or, when a server holds the embedded data directory, in that server
 * through its control socket.
 */
async function storeCommand(request: StoreCommand): Promise<void> {
  const { loadConfig } = await import('./config.js');
  const { DataDirLocked } = await import('./store/lock.js');
  const { callControl } = await import('./control.js');
  const config = loadConfig();
  // memory:// is gone when this process exits, and a server on memory:// takes no commands: a demo
  // URL or an API token made here would answer nowhere, so say what to do instead.
  if (!config.databaseUrl && config.dataDir === 'memory://') {
    throw new Error(
      `KALITKA_DATA_DIR=memory:// keeps nothing between processes, so "${request.command}" would change a store that is gone when it exits; ` +
        'give the server a data directory (KALITKA_DATA_DIR=./data) or DATABASE_URL and run this with the same setting',
    );
  }
  let output: string;
  try {
    output = await locally(config, request);
  } catch (err) {
    if (!(err instanceof DataDirLocked)) throw err;
    const answer = await callControl(config.dataDir, request);
    if (answer === null) {
      throw new Error(`${err.message}; it is not a Kalitka server that takes commands: wait for it to finish, or stop it`);
    }
    if (!answer.ok) throw new Error(answer.message);
    output = answer.output;
  }
  process.stdout.write(output);
}

async function locally(config: import('./config.js').Config, request: StoreCommand): Promise<string> {
  const { openServices } = await import('./services.js');
  const { createLogger } = await import('./log.js');
  const { runStoreCommand } = await import('./commands.js');
  const svc = await openServices(config, createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel));
  try {
    const output = await runStoreCommand(svc, request, `http://127.0.0.1:${config.port}`);
    // On a shared PostgreSQL no server was asked: the address is a guess from this shell's PORT.
    if (request.command === 'demo' && config.databaseUrl) {
      return `${output}(the portal address assumes a server on this machine at port ${config.port}; any Kalitka server on this database serves the same path)\n`;
    }
    return output;
  } finally {
    await svc.close();
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined) return void process.stdout.write(help());
  if (command === '--help' || command === '-h') return void process.stdout.write(help());
  if (command === 'help') {
    if (rest.length === 0) return void process.stdout.write(help());
    const text = commandHelp(rest.join(' '));
    if (!text) throw new UsageError(`no command "${rest.join(' ')}"`);
    return void process.stdout.write(text);
  }
  const name = command === 'user' && rest[0] && !rest[0].startsWith('-') ? `user ${rest[0]}` : command;
  if (!(name in COMMANDS) && command !== 'user') throw new UsageError(`unknown command "${command}"`);
  if (rest.includes('--help') || rest.includes('-h')) return void process.stdout.write(commandHelp(name) ?? help());
  const args = command === 'user' ? rest.slice(1) : rest;
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { login: { type: 'string' }, contract: { type: 'string' }, system: { type: 'boolean', default: false }, password: { type: 'string' } },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const given = Object.keys(values).filter((k) => !(k === 'system' && values.system === false));
  switch (name) {
    case 'serve':
    case 'migrate':
    case 'sweep':
    case 'demo':
      if (positionals.length > 0 || given.length > 0) throw new UsageError(`${name} takes no arguments`);
      if (name !== 'serve') return storeCommand({ command: name });
      return (await import('./main.js')).serve((await import('./config.js')).loadConfig());
    case 'user create': {
      if (values.password !== undefined) {
        throw new UsageError('user create takes no --password (the command line ends up in shell history); set one afterwards with: kalitka user password LOGIN');
      }
      if (positionals.length > 0) throw new UsageError(`unexpected ${positionals.join(' ')}`);
      if (typeof values.login !== 'string') throw new UsageError('user create needs --login');
      if (values.system === Boolean(values.contract)) throw new UsageError('give --contract ID or --system (one of them)');
      return storeCommand({ command: 'user create', login: values.login, contractId: values.system ? null : String(values.contract) });
    }
    case 'user password': {
      if (values.password !== undefined) throw new UsageError('the password is read from standard input or a prompt, never from the command line');
      if (positionals.length !== 1) throw new UsageError('user password needs one LOGIN');
      const password = await readNewPassword(`New panel password for ${positionals[0]}: `);
      return storeCommand({ command: 'user password', login: positionals[0], password });
    }
    default:
      throw new UsageError(command === 'user' ? 'user needs a subcommand: create or password' : `unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError) {
    process.stderr.write(`kalitka: ${err.message}\n\n${help()}`);
    process.exit(2);
  }
  if (err instanceof Error && err.name === 'ConfigError') process.stderr.write(`kalitka: configuration error: ${err.message}\n`);
  else if (err instanceof AppError) process.stderr.write(`kalitka: ${err.message}\n`);
  else process.stderr.write(`kalitka: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
