/**
 * The journal of remote temporaries: every ftp/sftp/scp upload's temporary
 * is noted in the ledger (`remote_temporaries`) before the upload starts and
 * struck off once it was renamed into place or removed. A row left over is
 * a temporary a killed process (or a lost connection) left on its remote:
 * at start, and before a push of this process to the same remote, those
 * rows are removed from the remote (ftp DELE, sftp unlink) and then
 * dropped. A remote that cannot be reached or logged in to keeps its rows
 * for the next try. No credentials are kept: a clean-up logs in as a push
 * would, with the chain's connection parameters, netrc and ssh keys, and the
 * pushed URL's password when a push to that remote and user is what runs it.
 * A row older than its chain's `ledger_retention` is given up (logged at
 * warn) rather than tried again at every start and push.
 */
import type { ServerChainConfig } from "../config/index.js";
import { DEFAULT_LEDGER_RETENTION } from "../config/server-config.js";
import type { Logger } from "../log.js";
import type { RemoteTemporary, TemporaryJournal } from "../movers/mover.js";
import type { MoverRegistry } from "../movers/registry.js";
import { childController, settlesWithin } from "../util/abort.js";
import { formatUrl, type ParsedUrl } from "../util/url.js";
import type { NotedTemporary, ServerLedger } from "./ledger.js";

/** The schemes whose uploads go through a remote temporary, with their default ports. */
const DEFAULT_PORT: Readonly<Record<string, number>> = {
  ftp: 21,
  sftp: 22,
  scp: 22,
};
/** How long an upload waits for its note to be committed (a full state disk must not stop pushes), ms. */
const NOTE_WAIT_MS = 1000;
/** A clean-up of one remote gives up after this long, ms (its rows stay). */
const SWEEP_TIMEOUT_MS = 60_000;
/** After a push's clean-up that left rows, pushes to that remote try again no sooner than this, ms. */
const RETRY_MS = 30_000;

export interface RemoteTemporariesOptions {
  ledger: ServerLedger;
  movers: MoverRegistry;
  /** The current config of a chain (its connection parameters), if it still exists. */
  chain: (name: string) => ServerChainConfig | undefined;
  log: Logger;
  /** Injected clock for tests (default Date.now). */
  now?: () => number;
}

/** A push's journal: `settled()` once its move ended, so what it could not strike off becomes a leftover. */
export interface PushJournal extends TemporaryJournal {
  settled(): void;
}

type Remote = Pick<RemoteTemporary, "scheme" | "host" | "port">;

function remoteKey(r: Remote): string {
  return `${r.scheme}://${r.host}:${r.port}`;
}

function temporaryKey(t: Remote & { path: string }): string {
  return `${remoteKey(t)}${t.path}`;
}

export class RemoteTemporaries {
  /** Temporaries whose upload runs in this process: never removed by a clean-up. */
  readonly #live = new Set<string>();
  /** Remotes with rows left over, and when a push may next try to clean them (ms). */
  readonly #leftovers = new Map<string, number>();
  readonly #sweeps = new Map<string, Promise<void>>();
  readonly #abort = new AbortController();

  readonly #now: () => number;

  constructor(private readonly opts: RemoteTemporariesOptions) {
    this.#now = opts.now ?? Date.now;
  }

  /** Clean up what the previous process left, in the background (every row noted is a leftover now). */
  start(): void {
    this.#giveUpOld(this.#allRows());
    const remotes = this.opts.ledger.temporaryRemotes();
    for (const r of remotes) this.#leftovers.set(remoteKey(r), 0);
    for (const r of remotes) void this.#sweep(r, undefined);
  }

  /** A journal for one push of `chain` to `dest`, or undefined when its scheme has no remote temporaries. */
  forPush(chain: string, dest: ParsedUrl): PushJournal | undefined {
    if (DEFAULT_PORT[dest.scheme] === undefined) return undefined;
    const mine = new Map<string, RemoteTemporary>();
    return {
      note: async (tmp) => {
        const key = temporaryKey(tmp);
        this.#live.add(key);
        mine.set(key, tmp);
        const destination = formatUrl({
          scheme: tmp.scheme,
          username: tmp.user,
          password: undefined,
          hostname: tmp.host,
          port: tmp.port,
          path: tmp.final,
        });
        const noted = this.opts.ledger.noteTemporary({
          ...tmp,
          chain,
          destination,
          notedAt: this.#now(),
        });
        noted.catch((err: unknown) =>
          this.opts.log.warn(
            { err, path: tmp.path },
            "remote temporary not noted",
          ),
        );
        await settlesWithin(noted, NOTE_WAIT_MS);
      },
      gone: (tmp) => {
        const key = temporaryKey(tmp);
        this.#live.delete(key);
        mine.delete(key);
        this.opts.ledger.dropTemporary(tmp);
      },
      settled: () => {
        for (const [key, tmp] of mine) {
          this.#live.delete(key);
          if (!this.#leftovers.has(remoteKey(tmp)))
            this.#leftovers.set(remoteKey(tmp), 0);
        }
      },
    };
  }

  /** Before a push to `dest`: remove what an earlier push or process left on that remote (a running clean-up is awaited). */
  async beforePush(dest: ParsedUrl): Promise<void> {
    const port = DEFAULT_PORT[dest.scheme];
    if (port === undefined) return;
    const remote = {
      scheme: dest.scheme,
      host: dest.hostname,
      port: dest.port ?? port,
    };
    const key = remoteKey(remote);
    const running = this.#sweeps.get(key);
    if (running !== undefined) return running;
    const due = this.#leftovers.get(key);
    if (due !== undefined && this.#now() >= due)
      await this.#sweep(remote, dest);
  }

  /** Stop clean-ups under way (their rows stay) and wait for them. */
  async close(): Promise<void> {
    this.#abort.abort(new Error("server closing"));
    await Promise.allSettled([...this.#sweeps.values()]);
  }

  #sweep(remote: Remote, pushed: ParsedUrl | undefined): Promise<void> {
    const key = remoteKey(remote);
    const running = this.#sweeps.get(key);
    if (running !== undefined) return running;
    const sweep = this.#clean(remote, pushed).finally(() =>
      this.#sweeps.delete(key),
    );
    this.#sweeps.set(key, sweep);
    return sweep;
  }

  /** Remove the leftovers on one remote, one login (user and chain) at a time. */
  async #clean(remote: Remote, pushed: ParsedUrl | undefined): Promise<void> {
    const key = remoteKey(remote);
    const rows = this.#giveUpOld(
      this.opts.ledger
        .temporariesOn(remote.scheme, remote.host, remote.port)
        .filter((r) => !this.#live.has(temporaryKey(r))),
    );
    const logins = new Map<string, NotedTemporary[]>();
    for (const r of rows)
      logins.set(`${r.user}\n${r.chain}`, [
        ...(logins.get(`${r.user}\n${r.chain}`) ?? []),
        r,
      ]);
    let left = 0;
    for (const group of logins.values())
      left += await this.#cleanLogin(remote, group, pushed);
    if (left === 0) this.#leftovers.delete(key);
    // What the start could not remove (no password without a pushed URL, say) the next push tries at once.
    else
      this.#leftovers.set(
        key,
        pushed === undefined ? 0 : this.#now() + RETRY_MS,
      );
  }

  #allRows(): NotedTemporary[] {
    try {
      return this.opts.ledger.allTemporaries();
    } catch (err) {
      this.opts.log.warn({ err }, "remote temporaries not read");
      return [];
    }
  }

  /**
   * Strike off the rows (of uploads not running here) noted longer ago than
   * their chain's `ledger_retention` (the default one for a chain no longer
   * configured), logging each at warn: a remote that never comes back is not
   * tried again forever. Returns the rows kept (all of them if the ledger
   * cannot be written now).
   */
  #giveUpOld(rows: NotedTemporary[]): NotedTemporary[] {
    const now = this.#now();
    const old = (r: NotedTemporary): boolean =>
      !this.#live.has(temporaryKey(r)) &&
      r.notedAt <
        now -
          (this.opts.chain(r.chain)?.ledgerRetention ??
            DEFAULT_LEDGER_RETENTION) *
            1000;
    const expired = rows.filter(old);
    if (expired.length === 0) return rows;
    try {
      this.opts.ledger.forgetTemporaries(expired);
    } catch (err) {
      this.opts.log.warn({ err }, "remote temporaries not given up");
      return rows;
    }
    for (const r of expired)
      this.opts.log.warn(
        {
          chain: r.chain,
          remote: formatUrl({
            scheme: r.scheme,
            username: undefined,
            password: undefined,
            hostname: r.host,
            port: r.port,
            path: "/",
          }),
          user: r.user,
          path: r.path,
          notedAt: new Date(r.notedAt).toISOString(),
        },
        "remote temporary given up (older than ledger_retention), it may still be on its remote",
      );
    return rows.filter((r) => !old(r));
  }

  /** Remove one login's leftovers; returns how many are still there. */
  async #cleanLogin(
    remote: Remote,
    rows: NotedTemporary[],
    pushed: ParsedUrl | undefined,
  ): Promise<number> {
    const { user, chain } = rows[0]!;
    const mover = this.opts.movers.has(remote.scheme)
      ? this.opts.movers.get(remote.scheme)
      : undefined;
    if (mover?.removeTemporaries === undefined) return rows.length;
    // The pushed URL's password serves a clean-up for the very login it names.
    const password =
      pushed !== undefined &&
      pushed.username === user &&
      pushed.hostname === remote.host
        ? pushed.password
        : undefined;
    const destination: ParsedUrl = {
      scheme: remote.scheme,
      username: user,
      password,
      hostname: remote.host,
      port: remote.port,
      path: "/",
    };
    const label = formatUrl({ ...destination, password: undefined });
    const config = this.opts.chain(chain);
    const log = this.opts.log.child({ chain });
    const op = childController(this.#abort.signal);
    const timer = setTimeout(
      () =>
        op.done(
          new Error(
            `clean-up of ${label} took more than ${SWEEP_TIMEOUT_MS / 1000} s`,
          ),
        ),
      SWEEP_TIMEOUT_MS,
    );
    try {
      const paths = rows.map((r) => r.path);
      const gone = await mover.removeTemporaries({
        destination,
        paths,
        connectionParameters: config?.connectionParameters ?? {},
        network: config?.network,
        signal: op.signal,
        log,
      });
      for (const path of gone)
        this.opts.ledger.dropTemporary({ ...remote, path });
      log.info(
        {
          remote: label,
          removed: gone.length,
          left: paths.length - gone.length,
        },
        "remote temporaries removed",
      );
      return paths.length - gone.length;
    } catch (err) {
      if (!this.#abort.signal.aborted)
        log.warn(
          { err, remote: label, temporaries: rows.length },
          "remote temporaries not removed, kept for the next try",
        );
      return rows.length;
    } finally {
      clearTimeout(timer);
      op.release();
    }
  }
}
