/**
 * The logger every component takes. It is bunyan's shape, narrowed to what
 * move_it uses, so tests can pass a capturing logger.
 */
import bunyan from "bunyan";
import { RateLimiter, type RateLimitOptions } from "./util/rate-limit.js";

export interface Logger {
  trace(fields: object, msg: string): void;
  debug(fields: object, msg: string): void;
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
  child(fields: object): Logger;
}

export interface LogRecord {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface CreateLoggerOptions {
  name: string;
  level?: bunyan.LogLevel;
  /** Write to this file instead of stderr. */
  file?: string;
  /** Extra raw sink (tests), receives every record. */
  sink?: (record: LogRecord) => void;
}

/** A bunyan root logger with the standard serializers. */
export function createLogger(opts: CreateLoggerOptions): Logger {
  const level = opts.level ?? "info";
  const streams: bunyan.Stream[] = [opts.file !== undefined ? { level, path: opts.file } : { level, stream: process.stderr }];
  if (opts.sink !== undefined) {
    const sink = opts.sink;
    streams.push({ level: "trace", type: "raw", stream: { write: (rec: unknown) => sink(rec as LogRecord) } as unknown as NodeJS.WritableStream });
  }
  if (opts.sink !== undefined && opts.file === undefined) streams.shift();
  return bunyan.createLogger({ name: opts.name, streams, serializers: bunyan.stdSerializers });
}

/** A logger that drops everything. */
export const nullLogger: Logger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => nullLogger,
};

/** A logger for repeated warnings and errors: each call names a key, and every key is rate-limited. */
export interface LimitedLogger {
  warn(key: string, fields: object, msg: string): void;
  error(key: string, fields: object, msg: string): void;
  /** Records suppressed so far (for metrics). */
  readonly suppressed: number;
  /** Write the pending summaries now and stop the timers (at shutdown). */
  close(): void;
}

interface Held {
  level: "warn" | "error";
  fields: object;
  msg: string;
}

/**
 * Wrap `log` so that each key writes at most `burst` records per window;
 * when a window ends with records held back, one more record is written with
 * the same message and level, the fields of the last one held back, and
 * `suppressed` (how many) and `windowMs` added.
 */
export function rateLimitedLogger(log: Logger, opts: RateLimitOptions = {}): LimitedLogger {
  const limiter = new RateLimiter<Held>((key, suppressed, last) => {
    log[last.level]({ ...last.fields, rateKey: key, suppressed, windowMs: limiter.windowMs }, last.msg);
  }, opts);
  const write = (level: Held["level"]) => (key: string, fields: object, msg: string) => {
    if (limiter.allow(key, { level, fields, msg })) log[level](fields, msg);
  };
  return {
    warn: write("warn"),
    error: write("error"),
    get suppressed() {
      return limiter.suppressed;
    },
    close: () => limiter.close(),
  };
}
