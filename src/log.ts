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

/**
 * Query parameters blanked in a logged URL: SMSC's callback URL carries our secret as `?token=`
 * (SMSC signs nothing) and may name the caller's number, which is kept only encrypted; a token
 * list filtered by `?code=` names a voucher anyone reading the log could use.
 */
const SECRET_QUERY = /([?&](?:token|phone|code)=)[^&#]*/gi;

interface LoggedRequest {
  method: string;
  url: string;
  headers?: Record<string, unknown>;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

/** Fastify's request line, its URL's secret parameters blanked (fastify takes a logger's own `req` serializer over its). */
function requestLine(req: LoggedRequest) {
  return {
    method: req.method,
    url: typeof req.url === 'string' ? req.url.replace(SECRET_QUERY, '$1[redacted]') : req.url,
    version: req.headers?.['accept-version'],
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' }, serializers: { req: requestLine } }, destination);
}

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/**
 * Fastify makes a child logger for every request, and pino's child() runs its bindings through the
 * redaction: a cost on every poll, for a logger that is mostly never used. This one is made on the
 * first line a request actually logs; until then a level this logger would drop costs nothing.
 * `ownLevel` is a route's own level (machineRouteLevel), as pino's child({ level }) would have it.
 */
class LazyChild {
  #child: Logger | undefined;
  constructor(
    readonly parent: Logger,
    readonly bindings: pino.Bindings,
    readonly ownLevel?: string,
  ) {}
  #made(): Logger {
    return (this.#child ??= this.parent.child(this.bindings, this.ownLevel ? { level: this.ownLevel } : undefined));
  }
  #enabled(level: Level): boolean {
    if (this.ownLevel === undefined) return this.parent.isLevelEnabled(level);
    const values = this.parent.levels.values;
    return values[level] >= values[this.ownLevel];
  }
  #log(level: Level, args: unknown[]): void {
    if (!this.#child && !this.#enabled(level)) return;
    (this.#made()[level] as (...a: unknown[]) => void)(...args);
  }
  get level(): string {
    return this.#child?.level ?? this.ownLevel ?? this.parent.level;
  }
  set level(level: string) {
    this.#made().level = level;
  }
  child(bindings: pino.Bindings, options?: pino.ChildLoggerOptions): Logger {
    return this.#made().child(bindings, options);
  }
  fatal(...args: unknown[]) { this.#log('fatal', args); }
  error(...args: unknown[]) { this.#log('error', args); }
  warn(...args: unknown[]) { this.#log('warn', args); }
  info(...args: unknown[]) { this.#log('info', args); }
  debug(...args: unknown[]) { this.#log('debug', args); }
  trace(...args: unknown[]) { this.#log('trace', args); }
  silent() {}
}

export const lazyChild = (parent: Logger, bindings: pino.Bindings, ownLevel?: string): Logger =>
  new LazyChild(parent, bindings, ownLevel) as unknown as Logger;

/**
 * The log level of machine-to-machine routes (RADIUS, session polls): fastify's two info lines per
 * request would be megabytes a day there (16 MB per 40k RADIUS requests), so below `debug` they
 * keep only warnings and errors; at `debug` or `trace` they log like every other route.
 */
export const machineRouteLevel = (configured: string): 'warn' | undefined =>
  configured === 'debug' || configured === 'trace' ? undefined : 'warn';
