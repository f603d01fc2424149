/**
 * `ftp://[user[:password]@]host[:port]/path`: upload with basic-ftp, binary
 * mode, passive data connections. Credentials come from the URL, else from
 * `~/.netrc` (HOME honoured), else anonymous. Missing directories are
 * created; the file is streamed to a temporary name in the target directory
 * and renamed into place (RNFR/RNTO) when complete; on failure the
 * temporary file is removed. All paths sent to the server are absolute, so
 * the working directory left behind by directory creation does not matter to
 * the next upload on a reused connection.
 */
import { posix } from "node:path";
import { Client, FTPError } from "basic-ftp";
import { ConnectFailure, StepError, errorMessage } from "../errors.js";
import type { Logger } from "../log.js";
import type { ParsedUrl } from "../util/url.js";
import { PooledMover, type AcquireOptions, type PooledConnection } from "./connection-cache.js";
import { targetPath, type CleanupRequest, type MoveRequest, type MoveResult, type StreamSource } from "./mover.js";
import { netrcCredentials, type NetrcEntry } from "./netrc.js";
import {
  abortable,
  moveWithFailover,
  removeEach,
  uploadAtomically,
  type JournalPlace,
  type UploadOps,
  timedOpen,
  hostPort,
  networkParameters,
  networkSettings,
  secretDigest,
  socketFailure,
  type Endpoint,
  type NetworkSettings,
} from "./remote.js";

const ANONYMOUS = new Set(["anonymous", "ftp"]);
/** Reply codes meaning "not allowed here" (550 is also "not found", but the directory was just made). */
const DENIED = new Set([450, 530, 532, 550, 553]);
const NO_SPACE = new Set([452, 552]);

interface FtpLogin {
  user: string;
  password: string;
}

/** A logged-in control connection, as the connection cache holds it. */
class FtpConnection implements PooledConnection {
  constructor(
    readonly client: Client,
    readonly endpoint: Endpoint,
    /** The login directory, for destinations without a path. */
    readonly home: string,
  ) {}

  get alive(): boolean {
    return !this.client.closed;
  }

  async check(idleMs: number): Promise<boolean> {
    if (this.client.closed) return false;
    if (idleMs >= 1000) await this.client.send("NOOP");
    return !this.client.closed;
  }

  async close(): Promise<void> {
    this.client.close();
  }
}

function stepError(err: unknown, conn: FtpConnection, what: string, path: string, dir: string): StepError {
  if (err instanceof StepError) return err;
  if (err instanceof FTPError && DENIED.has(err.code)) return new StepError(`permission denied on ${dir}`, { cause: err });
  if (err instanceof FTPError && NO_SPACE.has(err.code)) return new StepError(`no space left on ${hostPort(conn.endpoint)} writing ${path}`, { cause: err });
  if (conn.client.closed) return new StepError(`connection lost to ${hostPort(conn.endpoint)} during ${what} of ${path}`, { cause: err });
  return new StepError(`${what} of ${path} failed: ${errorMessage(err)}`, { cause: err });
}

/** URL credentials, else the netrc entry for `host`, else anonymous (password `anonymous@`, as ftplib sends). */
async function ftpLogin(dest: ParsedUrl, host: string, log: Logger): Promise<FtpLogin> {
  if (dest.username !== undefined && dest.password !== undefined) return { user: dest.username, password: dest.password };
  let entry: NetrcEntry | undefined;
  try {
    entry = await netrcCredentials(host);
  } catch (err) {
    log.warn({ err }, "netrc file not readable");
  }
  const user = dest.username ?? entry?.login ?? "anonymous";
  const fromNetrc = entry !== undefined && (entry.login === undefined || entry.login === user) ? entry.password : undefined;
  return { user, password: fromNetrc ?? (ANONYMOUS.has(user) ? "anonymous@" : "") };
}

function connectFailure(err: unknown, ep: Endpoint, user: string): ConnectFailure {
  if (err instanceof FTPError && err.code === 530) return new ConnectFailure(`authentication failed for ${user}@${hostPort(ep)}`, false, { cause: err });
  return socketFailure(err, ep) ?? new ConnectFailure(`cannot connect to ${hostPort(ep)}: ${errorMessage(err)}`, false, { cause: err });
}

/** Connect and log in within `timeoutMs`. Throws ConnectFailure (or the signal's reason). */
async function openFtp(ep: Endpoint, login: FtpLogin, timeoutMs: number, signal: AbortSignal): Promise<FtpConnection> {
  const client = new Client(Math.max(timeoutMs, 30_000));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    client.close();
  }, timeoutMs);
  try {
    await abortable(signal, () => client.access({ host: ep.host, port: ep.port, user: login.user, password: login.password }), () => client.close());
    return new FtpConnection(client, ep, await client.pwd());
  } catch (err) {
    client.close();
    if (signal.aborted) throw signal.reason;
    if (timedOut) throw new ConnectFailure(`timeout connecting to ${hostPort(ep)}`, true, { cause: err });
    throw connectFailure(err, ep, login.user);
  } finally {
    clearTimeout(timer);
  }
}

/** Make `dir` exist: enter it if it does, else make the parent, then MKD (a concurrent MKD by someone else is fine). */
async function ensureDir(conn: FtpConnection, dir: string): Promise<void> {
  const c = conn.client;
  try {
    await c.cd(dir);
    return;
  } catch (err) {
    if (!(err instanceof FTPError)) throw err;
  }
  const parent = posix.dirname(dir);
  if (parent === dir) throw new StepError(`cannot enter directory ${dir} on ${hostPort(conn.endpoint)}`);
  await ensureDir(conn, parent);
  try {
    await c.send(`MKD ${dir}`);
  } catch (err) {
    const made = err instanceof FTPError && (await c.cd(dir).then(() => true, () => false));
    if (!made) throw stepError(err, conn, "mkdir", dir, parent);
  }
}

/** RNFR/RNTO; servers that will not rename onto an existing file get it removed first. */
async function replace(c: Client, tmp: string, final: string): Promise<void> {
  try {
    await c.rename(tmp, final);
  } catch (err) {
    if (!(err instanceof FTPError)) throw err;
    await c.remove(final, true);
    await c.rename(tmp, final);
  }
}

/** DELE; a 550 for a file that is not there (SIZE refused too) counts as removed. */
async function removeIfThere(c: Client, path: string): Promise<void> {
  try {
    await c.remove(path);
  } catch (err) {
    const missing = err instanceof FTPError && err.code === 550 && (await c.size(path).then(() => false, (e: unknown) => e instanceof FTPError));
    if (!missing) throw err;
  }
}

async function upload(conn: FtpConnection, source: string, stream: StreamSource | undefined, final: string, signal: AbortSignal, place: JournalPlace): Promise<void> {
  const c = conn.client;
  const dir = posix.dirname(final);
  await abortable(signal, () => ensureDir(conn, dir), () => c.close()).catch((err: unknown) => {
    throw signal.aborted ? signal.reason : stepError(err, conn, "mkdir", dir, posix.dirname(dir));
  });
  const ops: UploadOps = {
    put: async (tmp) => void (await c.uploadFrom(stream === undefined ? source : await stream.open(signal), tmp)),
    rename: (tmp, to) => replace(c, tmp, to),
    remove: (tmp) => removeIfThere(c, tmp),
    usable: () => !c.closed,
    stop: () => c.close(),
    fail: (err, step, path) => stepError(err, conn, step, path, dir),
  };
  await uploadAtomically(ops, final, signal, place);
}

/** The mover for `ftp://`. */
export class FtpMover extends PooledMover<FtpConnection> {
  readonly schemes: readonly string[] = ["ftp"];

  move(req: MoveRequest): Promise<MoveResult> {
    const settings = (): NetworkSettings => {
      const p = networkParameters(req);
      return networkSettings(p, p.ftpConnectionTimeout);
    };
    return moveWithFailover(req, 21, (name) => {
      const s = settings();
      return async (ep) => {
        const login = await ftpLogin(req.destination, ep.host, req.log);
        const place = { journal: req.temporaries, remote: { scheme: "ftp", host: ep.host, port: ep.port, user: login.user } };
        return this.cache.use(this.acquireOptions(req, ep, s, login), (conn, reused) => this.push(req, conn, reused, name, place));
      };
    });
  }

  /** Remove temporaries a crashed push left, logged in as a push would be (URL, else netrc, else anonymous). */
  async removeTemporaries(req: CleanupRequest): Promise<string[]> {
    const p = networkParameters(req);
    const ep = { host: req.destination.hostname, port: req.destination.port ?? 21 };
    const login = await ftpLogin(req.destination, ep.host, req.log);
    const opts = this.acquireOptions(req, ep, networkSettings(p, p.ftpConnectionTimeout), login);
    return this.cache.use(opts, (conn) => removeEach(req.paths, (path) => removeIfThere(conn.client, path), () => !conn.client.closed, req.log));
  }

  private acquireOptions(req: Pick<MoveRequest, "signal" | "log">, ep: Endpoint, settings: NetworkSettings, login: FtpLogin): AcquireOptions<FtpConnection> {
    const label = `ftp://${login.user}@${hostPort(ep)}`;
    return {
      key: `${label}#${secretDigest(login.password)}`,
      label,
      uptimeMs: settings.uptimeMs,
      maxConnections: settings.maxConnections,
      signal: req.signal,
      open: (signal) => timedOpen(label, req.log, () => openFtp(ep, login, settings.connectTimeoutMs, signal)),
    };
  }

  private async push(req: MoveRequest, conn: FtpConnection, reused: boolean, name: string, place: JournalPlace): Promise<string> {
    const started = Date.now();
    const final = req.destination.path === "" ? posix.join(conn.home, name) : targetPath(req.destination.path, name);
    await upload(conn, req.source, req.stream, final, req.signal, place);
    req.log.debug({ path: final, host: hostPort(conn.endpoint), reused, durationMs: Date.now() - started }, "file uploaded");
    return final;
  }
}
