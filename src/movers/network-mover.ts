/**
 * A push to an ftp, sftp or scp destination, in the order it happens. The
 * chain's request socket (server/request-server.ts) hands a `push` to
 * server/handlers/push.ts, which takes the mover for the scheme from the
 * registry and calls its `move()`, here:
 *
 *  1. Failover (endpoints.ts): the destination's host, then the backup
 *     targets, each tried while the ones before it are unreachable.
 *  2. Pooling (connection-cache.ts): on the host tried, a connection from
 *     the pool for that login — an idle one that still works, or one the
 *     protocol opens — given back for reuse when the push is done.
 *  3. The atomic upload (atomic-upload.ts): on that connection, the target
 *     directory made, the file written under a temporary name and renamed
 *     into place.
 *
 * What differs between the protocols is only how each step talks to the
 * remote: a ProtocolAdapter (ftp.ts, sftp.ts; scp travels over SFTP).
 */
import { basename, posix } from "node:path";
import type { NetworkParameters } from "../config/connection-parameters.js";
import { TransferError, errorMessage } from "../errors.js";
import { nullLogger, type Logger } from "../log.js";
import { formatUrl } from "../util/url.js";
import { removeEach, uploadAtomically } from "./atomic-upload.js";
import {
  ConnectionCache,
  type AcquireOptions,
  type CacheStats,
  type PooledConnection,
} from "./connection-cache.js";
import {
  endpoints,
  hostPort,
  resultUri,
  withFailover,
  type Endpoint,
} from "./endpoints.js";
import {
  localSize,
  targetPath,
  type CleanupRequest,
  type MoveRequest,
  type MoveResult,
  type Mover,
} from "./mover.js";
import {
  networkParameters,
  networkSettings,
  secretDigest,
  type NetworkSettings,
} from "./parameters.js";

/** An open, logged-in connection to one host, as the pool holds it. */
export interface RemoteConnection extends PooledConnection {
  /** The host it is connected to. */
  readonly endpoint: Endpoint;
}

/** Who a push logs in as on one host. */
export interface Login {
  /** The user name (logged, part of the pool key). */
  readonly user: string;
  /** What else logs in (password, key file…): digested into the pool key, never logged. */
  readonly secrets: readonly (string | undefined)[];
}

/** The source of an upload: a local file, or the bytes of `stream` when given. */
export type UploadSource = Pick<MoveRequest, "source" | "stream">;

/**
 * How one protocol carries out the steps of a push. Paths are absolute on
 * the remote. Errors are the library's; the mover words them with `fail`.
 */
export interface ProtocolAdapter<C extends RemoteConnection, L extends Login> {
  /** The port when the destination names none (21, 22). */
  readonly defaultPort: number;
  /** The scheme's own connect timeout, s, when set (`ftp_connection_timeout`, `ssh_connection_timeout`). */
  connectTimeout(p: NetworkParameters): number | undefined;
  /** Who to log in as on `ep` for this request (URL, netrc, ssh settings), within `timeoutMs`. */
  login(
    req: Pick<MoveRequest, "destination" | "log">,
    ep: Endpoint,
    p: NetworkParameters,
    timeoutMs: number,
  ): L | Promise<L>;
  /** Connect and log in. Throws ConnectFailure (unreachable ones make failover go on). */
  open(ep: Endpoint, login: L, signal: AbortSignal, log: Logger): Promise<C>;
  /** The login directory, for a destination without a path. */
  home(conn: C): Promise<string>;
  /** Make `dir` and its missing parents exist (one made meanwhile by someone else is fine). */
  mkdir(conn: C, dir: string): Promise<void>;
  /** Write the source to `path`, streamed. */
  upload(
    conn: C,
    from: UploadSource,
    path: string,
    signal: AbortSignal,
  ): Promise<void>;
  /** Move `from` onto `to`, replacing an existing `to`. */
  rename(conn: C, from: string, to: string): Promise<void>;
  /** Remove the file `path`; resolves when it is gone (or was never there), rejects while it is still there. */
  remove(conn: C, path: string): Promise<void>;
  /** Drop the connection now, to stop an operation in flight (the pool then discards it). */
  close(conn: C): void;
  /** The error for a failed `step` on `path`; `dir` is the directory to name when permission is denied. */
  fail(err: unknown, conn: C, step: string, path: string, dir: string): Error;
}

/** A mover for one protocol: the push sequence above, with connection counters and close(). */
export abstract class NetworkMover<
  C extends RemoteConnection,
  L extends Login,
> implements Mover {
  abstract readonly schemes: readonly string[];
  private readonly pool: ConnectionCache<C>;

  constructor(
    private readonly protocol: ProtocolAdapter<C, L>,
    opts: { log?: Logger } = {},
  ) {
    this.pool = new ConnectionCache<C>(opts.log ?? nullLogger);
  }

  /** Deliver one file; any failure becomes one TransferError with a credential-free destination. */
  async move(req: MoveRequest): Promise<MoveResult> {
    const dest = req.destination;
    const name = basename(req.source);
    const port = this.protocol.defaultPort;
    try {
      const { size } = req.stream ?? (await localSize(req.source));
      const p = networkParameters(req);
      const settings = networkSettings(p, this.protocol.connectTimeout(p));
      const hosts = endpoints(dest, req.backupTargets, port);
      const { value: final, endpoint } = await withFailover(
        hosts,
        (ep) => this.pushTo(ep, req, p, settings, name),
        req.log,
        req.signal,
      );
      return {
        uri: resultUri(dest, endpoint, port, final),
        bytes: size,
        method: "upload",
      };
    } catch (err) {
      if (req.signal.aborted) throw req.signal.reason;
      throw new TransferError(
        errorMessage(err),
        {
          scheme: dest.scheme,
          destination: formatUrl({
            ...dest,
            path: targetPath(dest.path, name),
          }),
        },
        { cause: err },
      );
    }
  }

  /**
   * Remove temporaries a crashed push left, logged in as a push would be.
   * Resolves with the paths now gone; throws when the host cannot be
   * reached or logged in to.
   */
  async removeTemporaries(req: CleanupRequest): Promise<string[]> {
    const p = networkParameters(req);
    const settings = networkSettings(p, this.protocol.connectTimeout(p));
    const ep = {
      host: req.destination.hostname,
      port: req.destination.port ?? this.protocol.defaultPort,
    };
    const login = await this.protocol.login(
      req,
      ep,
      p,
      settings.connectTimeoutMs,
    );
    return this.pool.use(
      this.acquireOptions(ep, login, req, settings),
      (conn) =>
        removeEach(
          req.paths,
          (path) => this.protocol.remove(conn, path),
          () => conn.alive,
          req.log,
        ),
    );
  }

  /** Connection counters (opened, reused, ...). */
  stats(): CacheStats {
    return this.pool.stats();
  }

  /** Close every pooled connection. */
  async close(): Promise<void> {
    await this.pool.close();
  }

  /** The push on one host: a pooled connection, the atomic upload on it; resolves with the final path. */
  private async pushTo(
    ep: Endpoint,
    req: MoveRequest,
    p: NetworkParameters,
    settings: NetworkSettings,
    name: string,
  ): Promise<string> {
    const login = await this.protocol.login(
      req,
      ep,
      p,
      settings.connectTimeoutMs,
    );
    return this.pool.use(
      this.acquireOptions(ep, login, req, settings),
      async (conn, reused) => {
        const started = Date.now();
        const final =
          req.destination.path === ""
            ? posix.join(await this.protocol.home(conn), name)
            : targetPath(req.destination.path, name);
        const place = {
          journal: req.temporaries,
          remote: {
            scheme: req.destination.scheme,
            host: ep.host,
            port: ep.port,
            user: login.user,
          },
        };
        await uploadAtomically(
          this.protocol,
          conn,
          req,
          final,
          req.signal,
          place,
        );
        req.log.debug(
          {
            path: final,
            host: hostPort(ep),
            reused,
            durationMs: Date.now() - started,
          },
          "file uploaded",
        );
        return final;
      },
    );
  }

  /** Which pool serves this login on `ep`, with its limits, and how it opens a connection. */
  private acquireOptions(
    ep: Endpoint,
    login: L,
    req: Pick<MoveRequest, "destination" | "signal" | "log">,
    settings: NetworkSettings,
  ): AcquireOptions<C> {
    const label = `${req.destination.scheme}://${login.user}@${hostPort(ep)}`;
    return {
      key: `${label}#${secretDigest(...login.secrets)}`,
      label,
      uptimeMs: settings.uptimeMs,
      maxConnections: settings.maxConnections,
      signal: req.signal,
      open: async (signal) => {
        const started = Date.now();
        const conn = await this.protocol.open(ep, login, signal, req.log);
        req.log.info(
          { connection: label, durationMs: Date.now() - started },
          "connection opened",
        );
        return conn;
      },
    };
  }
}
