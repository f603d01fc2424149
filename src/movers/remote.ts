/**
 * What the network movers (ftp, scp, sftp) share: reading
 * `connection_parameters`, the list of hosts to try (destination, then
 * backup targets), failover between them, classifying connection failures
 * and cancelling library calls that take no AbortSignal.
 */
import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { ConnectFailure, StepError, TransferError, errorMessage } from "../errors.js";
import { readNetworkParameters, type NetworkParameters } from "../config/connection-parameters.js";
import { pythonBool } from "../config/fields.js";
import type { Logger } from "../log.js";
import { targetPath, temporaryName, type MoveRequest, type MoveResult, type RemoteTemporary, type TemporaryJournal } from "./mover.js";
import { formatUrl, parseUrl, type ParsedUrl } from "../util/url.js";

/** One host to connect to. */
export interface Endpoint {
  host: string;
  port: number;
}

/** Settings every network mover reads from the chain's connection parameters. */
export interface NetworkSettings {
  /** How long an unused connection is kept, ms (`connection_uptime`, s, default 30). */
  uptimeMs: number;
  /** Connections per host at most (`max_connections`, default 4). */
  maxConnections: number;
  /** Time allowed to connect and log in, ms. */
  connectTimeoutMs: number;
}

// stringParam, numberParam and boolParam read the S3 movers' settings at
// the push; the ftp/sftp/scp settings are read at config load
// (config/connection-parameters.ts).

/** A string parameter (ini values arrive as strings), or undefined when absent. */
export function stringParam(params: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const v = params[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return String(v);
  throw new TypeError(`connection_parameters__${name} must be a single value`);
}

/** A non-negative number parameter; TypeError naming the option when malformed. */
export function numberParam(params: Readonly<Record<string, unknown>>, name: string, fallback: number): number {
  const text = stringParam(params, name);
  if (text === undefined || text.trim() === "") return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new TypeError(`connection_parameters__${name} is not a non-negative number: '${text}'`);
  return n;
}

/** A boolean parameter, by the config's one rule (Python's getboolean words, 1 and 0). */
export function boolParam(params: Readonly<Record<string, unknown>>, name: string, fallback: boolean): boolean {
  const v = params[name];
  if (typeof v === "boolean") return v;
  const text = stringParam(params, name);
  if (text === undefined) return fallback;
  const b = pythonBool(text);
  if (b === undefined) throw new TypeError(`connection_parameters__${name} is not a boolean: '${text}'`);
  return b;
}

/** The request's ftp/sftp/scp settings: typed at config load, else (library use, tests) read now by the same reader. */
export function networkParameters(req: Pick<MoveRequest, "network" | "connectionParameters">): NetworkParameters {
  return req.network ?? readNetworkParameters(req.connectionParameters);
}

/** The pool and connect settings; `timeout` is the scheme's own connect timeout (s) when set. */
export function networkSettings(p: NetworkParameters, timeout: number | undefined): NetworkSettings {
  return {
    uptimeMs: p.connectionUptime * 1000,
    maxConnections: p.maxConnections,
    connectTimeoutMs: Math.max(1, (timeout ?? p.connectionTimeout) * 1000),
  };
}

/** `host:port`, IPv6 literals bracketed. */
export function hostPort(ep: Endpoint): string {
  return `${ep.host.includes(":") ? `[${ep.host}]` : ep.host}:${ep.port}`;
}

/**
 * The destination's host followed by the backup targets, without repeats.
 * A backup target is `host`, `host:port`, `[v6]:port` or a URL; its port
 * defaults to the destination's.
 */
export function endpoints(dest: ParsedUrl, backups: readonly string[] | undefined, defaultPort: number): Endpoint[] {
  if (dest.hostname === "") throw new StepError(`no host in destination ${formatUrl(dest)}`);
  const port = dest.port ?? defaultPort;
  const all: Endpoint[] = [{ host: dest.hostname, port }];
  for (const text of backups ?? []) {
    const ep = parseBackup(text.trim(), port);
    if (ep !== undefined && !all.some((e) => e.host === ep.host && e.port === ep.port)) all.push(ep);
  }
  return all;
}

function parseBackup(text: string, port: number): Endpoint | undefined {
  if (text === "") return undefined;
  if (text.includes("://")) {
    const u = parseUrl(text);
    return u.hostname === "" ? undefined : { host: u.hostname, port: u.port ?? port };
  }
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(text) ?? /^([^:]+)(?::(\d+))?$/.exec(text);
  if (m === null) return { host: text, port }; // a bare IPv6 address
  return { host: m[1] ?? text, port: m[2] === undefined ? port : Number(m[2]) };
}

/** A short digest of secrets, so pools are keyed by credentials without holding them in the key. */
export function secretDigest(...parts: (string | undefined)[]): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 16);
}

// The S3 movers still import these from here; the classes live in errors.ts.
export { ConnectFailure, StepError } from "../errors.js";

const UNREACHABLE: Record<string, (where: string) => string> = {
  ECONNREFUSED: (w) => `connection refused to ${w}`,
  ETIMEDOUT: (w) => `timeout connecting to ${w}`,
  EHOSTUNREACH: (w) => `host unreachable: ${w}`,
  ENETUNREACH: (w) => `network unreachable: ${w}`,
  EHOSTDOWN: (w) => `host down: ${w}`,
  ENOTFOUND: (w) => `unknown host: ${w}`,
  EAI_AGAIN: (w) => `unknown host: ${w}`,
};

/** The ConnectFailure for a socket-level error while connecting, or undefined if it is not one. */
export function socketFailure(err: unknown, ep: Endpoint): ConnectFailure | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const describe = code === undefined ? undefined : UNREACHABLE[code];
  if (describe !== undefined) return new ConnectFailure(describe(hostPort(ep)), true, { cause: err });
  if (code === "ECONNRESET" || code === "EPIPE") {
    return new ConnectFailure(`connection reset by ${hostPort(ep)}`, true, { cause: err });
  }
  return undefined;
}

/**
 * Run `attempt` against each endpoint in turn until one is reachable.
 * Any failure other than an unreachable ConnectFailure ends the search.
 * When every host is unreachable the error lists them all.
 */
export async function withFailover<T>(
  eps: readonly Endpoint[],
  attempt: (ep: Endpoint) => Promise<T>,
  log: Logger,
  signal: AbortSignal,
): Promise<{ value: T; endpoint: Endpoint }> {
  const failures: ConnectFailure[] = [];
  for (const [i, ep] of eps.entries()) {
    try {
      return { value: await attempt(ep), endpoint: ep };
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      if (!(err instanceof ConnectFailure && err.unreachable)) throw err;
      failures.push(err);
      const next = eps[i + 1];
      if (next !== undefined) log.warn({ host: hostPort(ep), next: hostPort(next), reason: err.message }, "host unreachable, trying backup target");
    }
  }
  if (failures.length === 1) throw failures[0]!;
  throw new ConnectFailure(failures.map((f) => f.message).join("; "), true, { cause: failures[0] });
}

/**
 * Await `op`; if `signal` aborts first, call `stop` (which must make `op`
 * settle, e.g. by closing its socket) and throw the signal's reason.
 */
export async function abortable<T>(signal: AbortSignal, op: () => Promise<T>, stop: () => void): Promise<T> {
  signal.throwIfAborted();
  const onAbort = (): void => stop();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    return await op();
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    throw err;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/** The credential-free URL of the delivered file, on the host that took it. */
export function resultUri(dest: ParsedUrl, ep: Endpoint, defaultPort: number, path: string): string {
  const port = ep.port === defaultPort && dest.port === undefined ? undefined : ep.port;
  return formatUrl({ ...dest, hostname: ep.host, port, path });
}

/** Size of the local file, with the file mover's wording when it is missing. */
export async function localSize(source: string): Promise<{ size: number }> {
  try {
    return await stat(source);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new StepError(`no such file or directory: ${source}`, { cause: err });
    if (code === "EACCES") throw new StepError(`permission denied on ${source}`, { cause: err });
    throw err;
  }
}

/** Tries one endpoint: uploads the file named `name`, resolves with its remote path. */
export type Attempt = (ep: Endpoint) => Promise<string>;

/**
 * The shape every network move shares: read the local size, let `setup`
 * read the settings and build the per-endpoint attempt, try the destination
 * host then the backups, and translate any failure once into a
 * TransferError with a credential-free destination.
 */
export async function moveWithFailover(req: MoveRequest, defaultPort: number, setup: (name: string) => Attempt): Promise<MoveResult> {
  const dest = req.destination;
  const name = basename(req.source);
  const where = { scheme: dest.scheme, destination: formatUrl({ ...dest, path: targetPath(dest.path, name) }) };
  try {
    const { size } = req.stream ?? (await localSize(req.source));
    const attempt = setup(name);
    const { value: final, endpoint } = await withFailover(endpoints(dest, req.backupTargets, defaultPort), attempt, req.log, req.signal);
    return { uri: resultUri(dest, endpoint, defaultPort, final), bytes: size, method: "upload" };
  } catch (err) {
    if (req.signal.aborted) throw req.signal.reason;
    throw new TransferError(errorMessage(err), where, { cause: err });
  }
}

/** Open a connection, logging "connection opened" with how long it took. */
export async function timedOpen<C>(label: string, log: Logger, open: () => Promise<C>): Promise<C> {
  const started = Date.now();
  const conn = await open();
  log.info({ connection: label, durationMs: Date.now() - started }, "connection opened");
  return conn;
}

/** The protocol operations an atomic upload needs. */
export interface UploadOps {
  /** Write the local file to `tmp`. */
  put(tmp: string): Promise<void>;
  /** Move `tmp` onto `final`, replacing it. */
  rename(tmp: string, final: string): Promise<void>;
  /** Remove a leftover `tmp`; resolves when it is gone (or was never there), rejects while it is still there. */
  remove(tmp: string): Promise<void>;
  /** False once the connection is gone (no clean-up possible). */
  usable(): boolean;
  /** Drop the connection, to stop an operation when the signal aborts. */
  stop(): void;
  /** The error for a failed step on `path`. */
  fail(err: unknown, step: string, path: string): Error;
}

/** Where an upload notes its temporary: the request's journal, and the remote and login it goes to. */
export interface JournalPlace {
  journal: TemporaryJournal | undefined;
  remote: Omit<RemoteTemporary, "path" | "final">;
}

/**
 * Upload under a temporary name in the target directory, then rename into
 * place: nobody ever sees a partial file under the final name. A failed or
 * aborted upload removes the temporary file when the connection allows.
 * The temporary is noted in the journal before the upload starts and
 * struck off once it is renamed or removed, so one that a crash (or a lost
 * connection) leaves behind can be removed later.
 */
export async function uploadAtomically(ops: UploadOps, final: string, signal: AbortSignal, place?: JournalPlace): Promise<void> {
  const tmp = temporaryName(final);
  const journal = place?.journal;
  const noted = place === undefined ? undefined : { ...place.remote, path: tmp, final };
  if (journal !== undefined && noted !== undefined) await journal.note(noted);
  const gone = (): void => {
    if (noted !== undefined) journal?.gone(noted);
  };
  let step = "upload";
  try {
    await abortable(signal, () => ops.put(tmp), () => ops.stop());
    step = "rename";
    await abortable(signal, () => ops.rename(tmp, final), () => ops.stop());
    gone();
  } catch (err) {
    if (ops.usable()) await ops.remove(tmp).then(gone, () => undefined);
    if (signal.aborted) throw signal.reason;
    throw ops.fail(err, step, step === "upload" ? tmp : final);
  }
}

/**
 * Remove each of `paths` in turn; resolves with those now gone. A path that
 * cannot be removed is logged and skipped; a connection that died ends it.
 */
export async function removeEach(paths: readonly string[], remove: (path: string) => Promise<void>, alive: () => boolean, log: Logger): Promise<string[]> {
  const gone: string[] = [];
  for (const path of paths) {
    try {
      await remove(path);
      gone.push(path);
    } catch (err) {
      if (!alive()) throw err;
      log.warn({ err, path }, "remote temporary not removed");
    }
  }
  return gone;
}
