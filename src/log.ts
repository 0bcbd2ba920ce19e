import pino, { type Logger } from 'pino';

/** Paths pino blanks out wherever they appear: credentials never reach a log line. */
export const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'token',
  'password',
  'secret',
  '*.token',
  '*.password',
  '*.secret',
  '*.adminToken',
  '*.adminPassword',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' } }, destination);
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Fastify makes a child logger for every request, and pino's child() runs its bindings through the
 * redaction: a cost on every poll, for a logger that is mostly never used. This one is made on the
 * first line a request actually logs; until then a level this logger would drop costs nothing.
 */
export function lazyChild(parent: Logger, bindings: pino.Bindings): Logger {
  let child: Logger | undefined;
  const made = () => (child ??= parent.child(bindings));
  const lazy: Record<string, unknown> = {
    child: (more: pino.Bindings, options?: pino.ChildLoggerOptions) => made().child(more, options),
    get level() {
      return child?.level ?? parent.level;
    },
    set level(level: string) {
      made().level = level;
    },
  };
  for (const name of LEVELS) {
    lazy[name] = (...args: unknown[]) => {
      if (!child && !parent.isLevelEnabled(name)) return;
      (made()[name] as (...a: unknown[]) => void)(...args);
    };
  }
  return lazy as unknown as Logger;
}
