/**
 * Reuse of network connections (FTP control connections, SSH sessions).
 *
 * Connections are pooled per key (scheme, host, port, user and a digest of
 * the credentials) and limits: each pool owns its limits, fixed when it is
 * made. It holds at most `maxConnections` connections, busy or being opened;
 * a caller beyond that waits for one to be released instead of opening its
 * own. A released connection stays idle for `uptimeMs`, then is closed by an
 * unref'd timer, so an idle cache never keeps the process alive. Before an idle connection is handed out again it is checked; a dead
 * one is dropped and another taken or opened.
 */
import { ClosedError } from "../errors.js";
import { nullLogger, type Logger } from "../log.js";

/** What the cache needs from a connection. */
export interface PooledConnection {
  /** False once the connection is known to be closed (local state only, no I/O). */
  readonly alive: boolean;
  /** Whether it is still usable; `idleMs` is how long it sat unused (a check may skip I/O when small). */
  check(idleMs: number): Promise<boolean>;
  /** Close it; never throws. */
  close(): Promise<void>;
}

/** How to get a connection for one key. */
export interface AcquireOptions<C> {
  /** Pool key; connections are shared only between equal keys. Not logged. */
  key: string;
  /** A credential-free description for logs, e.g. `sftp://user@host:22`. */
  label: string;
  /** How long a released connection is kept for reuse, ms (0: closed at release); the pool's limit. */
  uptimeMs: number;
  /** Upper bound of connections for this key (busy, idle or opening); the pool's limit. */
  maxConnections: number;
  /** Open a new connection. */
  open(signal: AbortSignal): Promise<C>;
  signal: AbortSignal;
}

/** A connection handed out by the cache; give it back with `release`. */
export interface Lease<C> {
  readonly connection: C;
  /** True when the connection had been used before. */
  readonly reused: boolean;
  /** Give it back; `reusable: false` closes it. Idempotent. */
  release(reusable: boolean): void;
}

/** Counters since the cache was created, plus current sizes. */
export interface CacheStats {
  opened: number;
  reused: number;
  /** Idle connections found dead at reuse and dropped. */
  dropped: number;
  closed: number;
  idle: number;
  /** Idle connections already known closed (local state): dropped at their next reuse. */
  idleDead: number;
  busy: number;
  waiting: number;
}

/** How long a liveness check may take before the connection counts as dead. */
const CHECK_TIMEOUT_MS = 10_000;

function checkWithin(
  conn: PooledConnection,
  idleMs: number,
  timeoutMs: number,
): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  return Promise.race([conn.check(idleMs).catch(() => false), late]).finally(
    () => clearTimeout(timer),
  );
}

interface Entry<C> {
  conn: C;
  lastUsed: number;
  timer: NodeJS.Timeout | undefined;
}

interface Pool<C> {
  /** Its map key: the connection key and the limits. */
  id: string;
  label: string;
  /** Set when the pool is made, never changed: a caller with other limits gets a pool of its own. */
  limits: { readonly uptimeMs: number; readonly maxConnections: number };
  idle: Entry<C>[];
  busy: Set<Entry<C>>;
  opening: number;
  waiters: (() => void)[];
}

/** A cache of pools of connections; see the module comment. */
export class ConnectionCache<C extends PooledConnection> {
  private readonly pools = new Map<string, Pool<C>>();
  private readonly counters = { opened: 0, reused: 0, dropped: 0, closed: 0 };
  private closed = false;

  constructor(private readonly log: Logger = nullLogger) {}

  /** A connection for `opts.key`: an idle one that passes its check, a new one, or the next one released. */
  async acquire(opts: AcquireOptions<C>): Promise<Lease<C>> {
    for (;;) {
      if (this.closed) throw new ClosedError("connection cache closed");
      opts.signal.throwIfAborted();
      // Looked up on every round: an emptied pool may have been forgotten while we awaited.
      const pool = this.pool(opts);
      const entry = pool.idle.pop();
      if (entry !== undefined) {
        const lease = await this.reuse(pool, entry);
        if (lease !== undefined) return lease;
        continue;
      }
      if (pool.busy.size + pool.opening < pool.limits.maxConnections)
        return this.openNew(pool, opts);
      await this.waitTurn(pool, opts.signal);
    }
  }

  /** Run `fn` with a leased connection; it is kept for reuse unless it died or the signal aborted. */
  async use<T>(
    opts: AcquireOptions<C>,
    fn: (conn: C, reused: boolean) => Promise<T>,
  ): Promise<T> {
    const lease = await this.acquire(opts);
    let ok = false;
    try {
      const result = await fn(lease.connection, lease.reused);
      ok = true;
      return result;
    } finally {
      lease.release(lease.connection.alive && !(opts.signal.aborted && !ok));
    }
  }

  /** Counters and current pool sizes. */
  stats(): CacheStats {
    let idle = 0;
    let idleDead = 0;
    let busy = 0;
    let waiting = 0;
    for (const p of this.pools.values()) {
      idle += p.idle.length;
      idleDead += p.idle.filter((e) => !e.conn.alive).length;
      busy += p.busy.size;
      waiting += p.waiters.length;
    }
    return { ...this.counters, idle, idleDead, busy, waiting };
  }

  /** Close every connection, idle or busy; waiters fail with ClosedError. Later acquires fail too. */
  async close(): Promise<void> {
    this.closed = true;
    const closing: Promise<void>[] = [];
    for (const pool of this.pools.values()) {
      for (const entry of pool.idle.splice(0))
        closing.push(this.closeEntry(pool, entry, "cache closed"));
      for (const entry of pool.busy)
        closing.push(this.closeEntry(pool, entry, "cache closed"));
      for (const wake of pool.waiters.splice(0)) wake();
    }
    await Promise.all(closing);
  }

  private pool(opts: AcquireOptions<C>): Pool<C> {
    const limits = {
      uptimeMs: opts.uptimeMs,
      maxConnections: Math.max(1, opts.maxConnections),
    };
    const id = `${opts.key} ${limits.maxConnections} ${limits.uptimeMs}`;
    let pool = this.pools.get(id);
    if (pool === undefined) {
      pool = {
        id,
        label: opts.label,
        limits,
        idle: [],
        busy: new Set(),
        opening: 0,
        waiters: [],
      };
      this.pools.set(id, pool);
    }
    return pool;
  }

  private async reuse(
    pool: Pool<C>,
    entry: Entry<C>,
  ): Promise<Lease<C> | undefined> {
    clearTimeout(entry.timer);
    entry.timer = undefined;
    pool.busy.add(entry);
    const idleMs = Date.now() - entry.lastUsed;
    const usable =
      entry.conn.alive &&
      (await checkWithin(entry.conn, idleMs, CHECK_TIMEOUT_MS));
    if (usable && !this.closed) {
      this.counters.reused++;
      this.log.debug({ connection: pool.label, idleMs }, "connection reused");
      return this.lease(pool, entry, true);
    }
    pool.busy.delete(entry);
    this.counters.dropped++;
    this.log.debug(
      { connection: pool.label, idleMs },
      "dead connection dropped",
    );
    await this.closeEntry(pool, entry, "dead");
    return undefined;
  }

  private async openNew(
    pool: Pool<C>,
    opts: AcquireOptions<C>,
  ): Promise<Lease<C>> {
    pool.opening++;
    let conn: C;
    try {
      conn = await opts.open(opts.signal);
    } catch (err) {
      pool.opening--;
      this.wake(pool);
      throw err;
    }
    pool.opening--;
    this.counters.opened++;
    const entry: Entry<C> = { conn, lastUsed: Date.now(), timer: undefined };
    pool.busy.add(entry);
    if (this.closed) {
      await this.closeEntry(pool, entry, "cache closed");
      throw new ClosedError("connection cache closed");
    }
    return this.lease(pool, entry, false);
  }

  private lease(pool: Pool<C>, entry: Entry<C>, reused: boolean): Lease<C> {
    let released = false;
    return {
      connection: entry.conn,
      reused,
      release: (reusable: boolean) => {
        if (released) return;
        released = true;
        this.giveBack(pool, entry, reusable);
      },
    };
  }

  private giveBack(pool: Pool<C>, entry: Entry<C>, reusable: boolean): void {
    if (!pool.busy.delete(entry)) return; // closed by close() meanwhile
    entry.lastUsed = Date.now();
    if (!reusable || this.closed || pool.limits.uptimeMs <= 0) {
      void this.closeEntry(pool, entry, reusable ? "not kept" : "unusable");
    } else {
      entry.timer = setTimeout(
        () => this.expire(pool, entry),
        pool.limits.uptimeMs,
      );
      entry.timer.unref();
      pool.idle.push(entry);
    }
    this.wake(pool);
  }

  private expire(pool: Pool<C>, entry: Entry<C>): void {
    const at = pool.idle.indexOf(entry);
    if (at < 0) return;
    pool.idle.splice(at, 1);
    void this.closeEntry(pool, entry, "idle");
    this.forgetIfEmpty(pool);
  }

  private async closeEntry(
    pool: Pool<C>,
    entry: Entry<C>,
    reason: string,
  ): Promise<void> {
    clearTimeout(entry.timer);
    pool.busy.delete(entry);
    this.counters.closed++;
    this.log.debug({ connection: pool.label, reason }, "connection closed");
    await entry.conn.close().catch(() => undefined);
  }

  /** Let the first waiter retry; drop the pool when nothing refers to it any more. */
  private wake(pool: Pool<C>): void {
    const next = pool.waiters.shift();
    if (next !== undefined) next();
    else this.forgetIfEmpty(pool);
  }

  private forgetIfEmpty(pool: Pool<C>): void {
    const empty =
      pool.idle.length === 0 &&
      pool.busy.size === 0 &&
      pool.opening === 0 &&
      pool.waiters.length === 0;
    if (empty && this.pools.get(pool.id) === pool) this.pools.delete(pool.id);
  }

  private waitTurn(pool: Pool<C>, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        const at = pool.waiters.indexOf(wake);
        if (at >= 0) pool.waiters.splice(at, 1);
        reject(signal.reason as Error);
      };
      const wake = (): void => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      pool.waiters.push(wake);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}
