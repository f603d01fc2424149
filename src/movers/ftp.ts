/**
 * `ftp://[user[:password]@]host[:port]/path`: the FTP protocol adapter of
 * the network mover (network-mover.ts runs the push: failover, pool, atomic
 * upload), with basic-ftp, binary mode, passive data connections.
 * Credentials come from the URL, else from `~/.netrc` (HOME honoured), else
 * anonymous. Missing directories are created; the file is streamed and
 * renamed into place with RNFR/RNTO. All paths sent to the server are
 * absolute, so the working directory left behind by directory creation does
 * not matter to the next upload on a reused connection.
 */
import { posix } from "node:path";
import { Client, FTPError } from "basic-ftp";
import { ConnectFailure, StepError, errorMessage } from "../errors.js";
import type { Logger } from "../log.js";
import { abortable } from "../util/abort.js";
import type { ParsedUrl } from "../util/url.js";
import { hostPort, socketFailure, type Endpoint } from "./endpoints.js";
import { netrcCredentials, type NetrcEntry } from "./netrc.js";
import {
  NetworkMover,
  type ProtocolAdapter,
  type RemoteConnection,
} from "./network-mover.js";

const ANONYMOUS = new Set(["anonymous", "ftp"]);
/** Reply codes meaning "not allowed here" (550 is also "not found", but the directory was just made). */
const DENIED = new Set([450, 530, 532, 550, 553]);
const NO_SPACE = new Set([452, 552]);

interface FtpLogin {
  readonly user: string;
  readonly password: string;
  readonly secrets: readonly string[];
  /** Time allowed to connect and log in, ms. */
  readonly timeoutMs: number;
}

/** A logged-in control connection, as the connection cache holds it. */
class FtpConnection implements RemoteConnection {
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

function stepError(
  err: unknown,
  conn: FtpConnection,
  what: string,
  path: string,
  dir: string,
): StepError {
  if (err instanceof StepError) return err;
  if (err instanceof FTPError && DENIED.has(err.code))
    return new StepError(`permission denied on ${dir}`, { cause: err });
  if (err instanceof FTPError && NO_SPACE.has(err.code))
    return new StepError(
      `no space left on ${hostPort(conn.endpoint)} writing ${path}`,
      { cause: err },
    );
  if (conn.client.closed)
    return new StepError(
      `connection lost to ${hostPort(conn.endpoint)} during ${what} of ${path}`,
      { cause: err },
    );
  return new StepError(`${what} of ${path} failed: ${errorMessage(err)}`, {
    cause: err,
  });
}

/** URL credentials, else the netrc entry for `host`, else anonymous (password `anonymous@`, as ftplib sends). */
async function ftpLogin(
  dest: ParsedUrl,
  host: string,
  log: Logger,
  timeoutMs: number,
): Promise<FtpLogin> {
  const login = (user: string, password: string): FtpLogin => ({
    user,
    password,
    secrets: [password],
    timeoutMs,
  });
  if (dest.username !== undefined && dest.password !== undefined)
    return login(dest.username, dest.password);
  let entry: NetrcEntry | undefined;
  try {
    entry = await netrcCredentials(host);
  } catch (err) {
    log.warn({ err }, "netrc file not readable");
  }
  const user = dest.username ?? entry?.login ?? "anonymous";
  const fromNetrc =
    entry !== undefined && (entry.login === undefined || entry.login === user)
      ? entry.password
      : undefined;
  return login(user, fromNetrc ?? (ANONYMOUS.has(user) ? "anonymous@" : ""));
}

function connectFailure(
  err: unknown,
  ep: Endpoint,
  user: string,
): ConnectFailure {
  if (err instanceof FTPError && err.code === 530)
    return new ConnectFailure(
      `authentication failed for ${user}@${hostPort(ep)}`,
      false,
      { cause: err },
    );
  return (
    socketFailure(err, ep) ??
    new ConnectFailure(
      `cannot connect to ${hostPort(ep)}: ${errorMessage(err)}`,
      false,
      { cause: err },
    )
  );
}

/** Connect and log in within the login's timeout. Throws ConnectFailure (or the signal's reason). */
async function openFtp(
  ep: Endpoint,
  login: FtpLogin,
  signal: AbortSignal,
): Promise<FtpConnection> {
  const timeoutMs = login.timeoutMs;
  const client = new Client(Math.max(timeoutMs, 30_000));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    client.close();
  }, timeoutMs);
  try {
    await abortable(
      signal,
      () =>
        client.access({
          host: ep.host,
          port: ep.port,
          user: login.user,
          password: login.password,
        }),
      () => client.close(),
    );
    return new FtpConnection(client, ep, await client.pwd());
  } catch (err) {
    client.close();
    if (signal.aborted) throw signal.reason;
    if (timedOut)
      throw new ConnectFailure(`timeout connecting to ${hostPort(ep)}`, true, {
        cause: err,
      });
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
  if (parent === dir)
    throw new StepError(
      `cannot enter directory ${dir} on ${hostPort(conn.endpoint)}`,
    );
  await ensureDir(conn, parent);
  try {
    await c.send(`MKD ${dir}`);
  } catch (err) {
    const made =
      err instanceof FTPError &&
      (await c.cd(dir).then(
        () => true,
        () => false,
      ));
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

/** A 550's text saying the file is not there (ProFTPD, Pure-FTPd, IIS say which; vsftpd does not). */
const NOT_THERE = /no such file|not found|does not exist|doesn't exist/i;
/** A 550's text saying it was refused. */
const REFUSED = /denied|not permitted|not allowed/i;

/**
 * DELE. Its 550 means "no such file" or "permission denied", and it counts as
 * removed only when something tells it is not there: the reply's text, or
 * else a SIZE refused too and a listing of its directory (entered with CWD
 * first, so a directory that cannot be entered never passes for an empty
 * one) without its name. When nothing tells, the DELE's error is thrown
 * (the temporary's row is kept).
 */
async function removeIfThere(c: Client, path: string): Promise<void> {
  try {
    await c.remove(path);
  } catch (err) {
    if (!(err instanceof FTPError) || err.code !== 550) throw err;
    if (NOT_THERE.test(err.message)) return;
    if (REFUSED.test(err.message) || !(await notThere(c, path))) throw err;
  }
}

/** True only when SIZE is refused and the directory, entered, lists no such name. */
async function notThere(c: Client, path: string): Promise<boolean> {
  try {
    await c.size(path);
    return false;
  } catch (err) {
    if (!(err instanceof FTPError)) throw err;
  }
  try {
    await c.cd(posix.dirname(path));
    const names = (await c.list()).map((f) => f.name);
    return !names.includes(posix.basename(path));
  } catch (err) {
    if (err instanceof FTPError) return false;
    throw err;
  }
}

/** FTP as the network mover's protocol. */
export const ftpProtocol: ProtocolAdapter<FtpConnection, FtpLogin> = {
  defaultPort: 21,
  connectTimeout: (p) => p.ftpConnectionTimeout,
  login: (req, ep, _p, timeoutMs) =>
    ftpLogin(req.destination, ep.host, req.log, timeoutMs),
  open: (ep, login, signal) => openFtp(ep, login, signal),
  home: (conn) => Promise.resolve(conn.home),
  mkdir: (conn, dir) => ensureDir(conn, dir),
  upload: async (conn, from, path, signal) =>
    void (await conn.client.uploadFrom(
      from.stream === undefined ? from.source : await from.stream.open(signal),
      path,
    )),
  rename: (conn, from, to) => replace(conn.client, from, to),
  remove: (conn, path) => removeIfThere(conn.client, path),
  close: (conn) => conn.client.close(),
  fail: (err, conn, step, path, dir) => stepError(err, conn, step, path, dir),
};

/** The mover for `ftp://`. */
export class FtpMover extends NetworkMover<FtpConnection, FtpLogin> {
  readonly schemes: readonly string[] = ["ftp"];

  constructor(opts: { log?: Logger } = {}) {
    super(ftpProtocol, opts);
  }
}
