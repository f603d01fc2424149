/**
 * The logger every component takes. It is bunyan's shape, narrowed to what
 * move_it uses, so tests can pass a capturing logger.
 */
import bunyan from "bunyan";
import { LogFile, type Rotation } from "./log-file.js";
import { batchedStderr, batchedStdout } from "./util/line-batch.js";
import { RateLimiter, type RateLimitOptions } from "./util/rate-limit.js";
import { redactText } from "./util/url.js";

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

/** Strings in `value` (nested up to a few levels) with `user:password@` taken out of URLs. */
function redacted(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redactText(value);
  if (depth > 4 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => redacted(v, depth + 1));
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, redacted(v, depth + 1)]),
  );
}

/** bunyan's error fields, with the ES2022 `cause` chain (which bunyan does not follow) under `cause`. */
function serializeError(err: unknown, depth: number): unknown {
  const out = bunyan.stdSerializers["err"](err) as unknown;
  if (
    !(err instanceof Error) ||
    err.cause === undefined ||
    depth >= 3 ||
    out === null ||
    typeof out !== "object"
  )
    return out;
  return { ...out, cause: serializeError(err.cause, depth + 1) };
}

/**
 * bunyan's standard serializers, and the one place where credentials are
 * taken out of what is logged: an error's message and stack (causes
 * included), and the fields that carry URLs. Errors themselves keep their
 * text; the wire (the request server's `err` reply) strips it there.
 */
export const serializers: bunyan.Serializers = {
  ...bunyan.stdSerializers,
  err: (err: unknown) => redacted(serializeError(err, 0)),
  destination: redacted,
  url: redacted,
  uri: redacted,
  reason: redacted,
};

/** A bunyan root logger with the standard serializers. */
export function createLogger(opts: CreateLoggerOptions): Logger {
  const level = opts.level ?? "info";
  const streams: bunyan.Stream[] = [
    opts.file !== undefined
      ? { level, path: opts.file }
      : { level, stream: batchedStderr() as unknown as NodeJS.WritableStream },
  ];
  if (opts.sink !== undefined) {
    const sink = opts.sink;
    streams.push({
      level: "trace",
      type: "raw",
      stream: { write: (rec: unknown) => sink(rec as LogRecord) },
    });
  }
  if (opts.sink !== undefined && opts.file === undefined) streams.shift();
  return bunyan.createLogger({ name: opts.name, streams, serializers });
}

/** Where a root logger writes: a standard stream or a (rotated) file, each at its own level. */
export type LogOutput =
  | { level: bunyan.LogLevel; to: "stderr" | "stdout" }
  | {
      level: bunyan.LogLevel;
      file: string;
      rotation: Rotation;
      truncate?: boolean;
    };

/** A daemon's root logger with its files: reopened on SIGHUP/SIGUSR1, flushed at exit. */
export interface RootLogger {
  log: Logger;
  /** The files written (absolute or as given). */
  files: readonly string[];
  /** Reopen every file at its path (after `mv` by logrotate or an operator). */
  reopen(): void;
  /** Flush and close the files. */
  close(): Promise<void>;
}

/**
 * A root logger writing bunyan JSON lines to `outputs`. A file that cannot
 * be written any more (disk gone, rotation refused) says so once on stderr
 * and its records go to stderr until the next reopen.
 */
export function createRootLogger(
  name: string,
  outputs: readonly LogOutput[],
): RootLogger {
  const files: LogFile[] = [];
  const streams: bunyan.Stream[] = outputs.map((o) => {
    if ("to" in o)
      return {
        level: o.level,
        stream: (o.to === "stdout"
          ? batchedStdout()
          : batchedStderr()) as unknown as NodeJS.WritableStream,
      };
    const f = new LogFile({
      path: o.file,
      rotation: o.rotation,
      truncate: o.truncate ?? false,
      onError: (err) =>
        process.stderr.write(
          `${name}: log file ${o.file}: ${err.message} (writing to stderr until reopened: SIGHUP or SIGUSR1)\n`,
        ),
    });
    files.push(f);
    return {
      level: o.level,
      type: "stream",
      stream: f as unknown as NodeJS.WritableStream,
    };
  });
  const log = bunyan.createLogger({ name, streams, serializers });
  return {
    log,
    files: files.map((f) => f.path),
    reopen: () => {
      for (const f of files) f.reopen();
    },
    close: async () => {
      await Promise.all(files.map((f) => f.close()));
    },
  };
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

/**
 * `log.child(fields)`, made when first used. A child costs microseconds to
 * make; a push or a request makes one in case something goes wrong, and it
 * rarely does. A trace or debug line `log` would drop (a bunyan logger says
 * its lowest level) makes no child either: the request path logs at debug.
 */
export function lazyChild(log: Logger, fields: object): Logger {
  let child: Logger | undefined;
  const made = (): Logger => (child ??= log.child(fields));
  const lowest = lowestLevel(log);
  return {
    trace: (f, m) => {
      if (lowest <= bunyan.TRACE) made().trace(f, m);
    },
    debug: (f, m) => {
      if (lowest <= bunyan.DEBUG) made().debug(f, m);
    },
    info: (f, m) => made().info(f, m),
    warn: (f, m) => made().warn(f, m),
    error: (f, m) => made().error(f, m),
    child: (f) => made().child(f),
  };
}

/** The lowest level `log` writes, if it can say (bunyan's `level()`); else every level. */
function lowestLevel(log: Logger): number {
  const level = (log as { level?: unknown }).level;
  if (typeof level !== "function") return bunyan.TRACE;
  const n: unknown = level.call(log);
  return typeof n === "number" ? n : bunyan.TRACE;
}

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
export function rateLimitedLogger(
  log: Logger,
  opts: RateLimitOptions = {},
): LimitedLogger {
  const limiter = new RateLimiter<Held>((key, suppressed, last) => {
    log[last.level](
      { ...last.fields, rateKey: key, suppressed, windowMs: limiter.windowMs },
      last.msg,
    );
  }, opts);
  const write =
    (level: Held["level"]) => (key: string, fields: object, msg: string) => {
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
