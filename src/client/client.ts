/**
 * move_it_client as a library: one ClientChain per config section, sharing
 * one requester. `reload()` keeps unchanged chains, reconfigures changed
 * ones in place where it can (keeping unchanged listeners), and re-creates
 * the rest.
 */
import type { ClientChainConfig, LoadedConfig } from "../config/index.js";
import { ClosedError } from "../errors.js";
import type { Logger } from "../log.js";
import type { Message } from "../message/index.js";
import { ZmqRequester, type Requester } from "../transport/requester.js";
import { deferred } from "../util/abort.js";
import type { DateTime } from "../util/datetime.js";
import { localHostname } from "../util/host.js";
import { SerialQueue } from "../util/serial.js";
import { ClientChain, type ChainStats } from "./chain.js";
import { ClientLedger } from "./ledger.js";
import type { Connect } from "./listener.js";
import type { Stamp } from "./messages.js";
import type { ClientEventSink } from "./events.js";

export interface MoveItClientOptions {
  /** The client config (`loadConfig(text, "client")`). */
  config: LoadedConfig<ClientChainConfig>;
  log: Logger;
  /** Interface the chains' publishers bind on (default `*`). */
  publishHost?: string;
  /** Sends push/ack/ping; default a ZmqRequester owned (and closed) by the client. */
  requester?: Requester;
  /** Called with every file (dataset, collection) message republished after reception. */
  onReceived?: (chain: string, message: Message) => void;
  /** Host name put into destinations naming none (default this host's). */
  hostname?: string;
  /** Sender of every message built here (default `user@host` of this process). */
  sender?: string;
  /** Time of every message built here (default now). */
  clock?: () => DateTime;
  /** Subscriber factory (tests). */
  connect?: Connect;
  /** Publisher heartbeat interval, s (default 30). */
  heartbeatInterval?: number;
  /** Cap on the wait for one push reply while its server answers pings, ms (default 1 h). */
  maxWaitMs?: number;
  /** How long `close()` lets transfers in flight finish, ms (default 10 s). */
  drainMs?: number;
  /**
   * The ledger file (see `ledgerPath`); default one in memory, which forgets
   * everything when the process ends.
   * @throws LedgerError from the constructor when the file is corrupt, unreadable, foreign or newer.
   */
  ledgerFile?: string;
  /**
   * Relay mode (the mirror): report every new upstream file to `onAnnounced`
   * and fetch it only when `fetch()` asks, unless `prefetch`.
   */
  relay?: {
    onAnnounced(chain: string, message: Message): void;
    prefetch: (chain: string) => boolean;
  };
  /** Told about every chain's announcements, pushes, deliveries, heartbeats (metrics); must not throw. */
  onEvent?: ClientEventSink;
}

/** Counters of the whole client, per chain. */
export interface ClientStats {
  chains: Record<string, ChainStats>;
  /** Ledger writes queued now, commits that failed so far (disk full...), commits and the changes they held. */
  ledger: {
    pendingWrites: number;
    writeErrors: number;
    commits: number;
    changesCommitted: number;
  };
}

/** What `catchUp()` did. */
export interface CatchUpReport {
  since: string;
  /** Request addresses asked; of those without catch-up (Python) or not answering. */
  servers: number;
  unsupported: number;
  unreachable: number;
  /** Announcements received, distinct files among them. */
  announcements: number;
  files: number;
  /** Files fetched by this pass; files the ledger already had as delivered. */
  fetched: number;
  alreadyDelivered: number;
  /** Files not delivered when the pass ended (they stay in the ledger for the daemon). */
  failed: number;
  givenUp: number;
  unfinished: number;
}

/** Prune the ledger this often, ms. */
const PRUNE_EVERY_MS = 3_600_000;

/** See the module comment. */
export class MoveItClient {
  private readonly chains = new Map<string, ClientChain>();
  private readonly requester: Requester;
  private readonly ownsRequester: boolean;
  private readonly serial = new SerialQueue();
  private readonly done = deferred<Error | undefined>();
  private config: LoadedConfig<ClientChainConfig>;
  private closing: Promise<void> | undefined;
  private failure: Error | undefined;
  private readonly ledger: ClientLedger;
  private pruneTimer: NodeJS.Timeout | undefined;

  /** Resolves (never rejects) once the client is closed: with the error that closed it, if any. */
  readonly closed: Promise<Error | undefined> = this.done.promise;

  constructor(private readonly opts: MoveItClientOptions) {
    this.config = opts.config;
    this.ownsRequester = opts.requester === undefined;
    // A push is given up no sooner than transfer_req_timeout after it was sent.
    const giveUpMs = Math.min(
      ...opts.config.chains.map((c) => c.transferReqTimeout * 1000),
      10_000,
    );
    this.requester =
      opts.requester ??
      new ZmqRequester({ maxRetransmitMs: Math.max(1000, giveUpMs) });
    let reported = 0;
    this.ledger = ClientLedger.open(opts.ledgerFile ?? ":memory:", {
      onWriteError: (err, pending) => {
        // Transfers go on; the batch stays queued and is retried. Log the first of a run and then every 100th.
        if (reported++ % 100 === 0)
          opts.log.error(
            { err, pending, file: opts.ledgerFile },
            "ledger write failed",
          );
      },
      onRejected: (err) => {
        if (!(err instanceof ClosedError))
          opts.log.error(
            { err, file: opts.ledgerFile },
            "ledger change refused",
          );
      },
    });
  }

  /** Start every chain. On a failure, the chains started so far are closed and the error thrown. */
  start(): Promise<void> {
    return this.serial.run(async () => {
      this.assertOpen();
      try {
        for (const cfg of this.config.chains) await this.addChain(cfg);
      } catch (err) {
        await this.stopAll();
        throw err;
      }
      this.prune();
    });
  }

  /** Forget delivered and given-up files past each chain's ledger_retention; again every hour. */
  private prune(): void {
    clearTimeout(this.pruneTimer);
    for (const cfg of this.config.chains) {
      void this.ledger.prune(cfg.name, cfg.ledgerRetention * 1000).then((n) => {
        if (n > 0)
          this.opts.log.info({ chain: cfg.name, rows: n }, "ledger pruned");
      });
    }
    this.pruneTimer = setTimeout(() => this.prune(), PRUNE_EVERY_MS);
    this.pruneTimer.unref();
  }

  /**
   * One catch-up pass: ask every server the ledger knows for what it
   * announced since `since`, fetch what is missing, and resolve once each
   * of those files is delivered, failed or given up (or `timeoutMs` passed).
   */
  async catchUp(since: Date, timeoutMs = 3_600_000): Promise<CatchUpReport> {
    const chains = [...this.chains.values()];
    const before = chains.reduce((n, c) => n + c.stats.coordinator.received, 0);
    const passes = await Promise.all(
      chains.map(async (c) => ({ chain: c, summary: await c.catchUp(since) })),
    );
    const deadline = Date.now() + timeoutMs;
    const tally = (): Record<string, number> => {
      const t: Record<string, number> = {};
      for (const { chain, summary } of passes)
        for (const state of chain.states(summary.keys).values())
          t[state ?? "pending"] = (t[state ?? "pending"] ?? 0) + 1;
      return t;
    };
    let counts = tally();
    while (
      (counts["pending"] ?? 0) + (counts["in_flight"] ?? 0) > 0 &&
      Date.now() < deadline &&
      this.closing === undefined
    ) {
      await new Promise((r) => setTimeout(r, 200));
      try {
        this.ledger.ledger.flush();
      } catch {
        // A full state disk: the batch stays queued and is retried; the states read are the committed ones.
      }
      counts = tally();
    }
    const fetched =
      chains.reduce((n, c) => n + c.stats.coordinator.received, 0) - before;
    const sum = (
      f: (s: (typeof passes)[number]["summary"]) => number,
    ): number => passes.reduce((n, p) => n + f(p.summary), 0);
    return {
      since: since.toISOString(),
      servers: sum((s) => s.servers),
      unsupported: sum((s) => s.unsupported),
      unreachable: sum((s) => s.unreachable),
      announcements: sum((s) => s.announcements),
      files: sum((s) => s.keys.length),
      fetched,
      alreadyDelivered: Math.max(0, (counts["delivered"] ?? 0) - fetched),
      failed: counts["failed"] ?? 0,
      givenUp: counts["given_up"] ?? 0,
      unfinished: (counts["pending"] ?? 0) + (counts["in_flight"] ?? 0),
    };
  }

  /** Apply a new config; see the module comment. */
  reload(config: LoadedConfig<ClientChainConfig>): Promise<void> {
    return this.serial.run(async () => {
      this.assertOpen();
      this.config = config;
      const names = new Set(config.chains.map((c) => c.name));
      for (const [name, chain] of this.chains) {
        if (names.has(name)) continue;
        this.chains.delete(name);
        await chain.close();
        this.opts.log.info({ chain: name }, "chain removed");
      }
      for (const cfg of config.chains) await this.reloadChain(cfg);
    });
  }

  /** Names of the running chains. */
  get chainNames(): string[] {
    return [...this.chains.keys()];
  }

  /** The publish port of a chain, or undefined if there is no such chain. */
  publishPort(chain: string): number | undefined {
    return this.chains.get(chain)?.publishPort;
  }

  /** A snapshot of every chain's counters. */
  stats(): ClientStats {
    const chains: Record<string, ChainStats> = {};
    for (const [name, chain] of this.chains) chains[name] = chain.stats;
    return { chains, ledger: this.ledger.ledger.counters() };
  }

  /** Stop listening, drain transfers in flight, close sockets. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.serial.idle().catch(() => undefined);
      await this.stopAll();
      clearTimeout(this.pruneTimer);
      if (this.ownsRequester) this.requester.close();
      this.ledger.close();
      this.done.resolve(this.failure);
    })();
    return this.closing;
  }

  /** Abort transfers in flight now, then close. */
  destroy(err?: Error): Promise<void> {
    this.failure ??= err;
    for (const chain of this.chains.values()) void chain.destroy(err);
    return this.close();
  }

  private async reloadChain(cfg: ClientChainConfig): Promise<void> {
    const chain = this.chains.get(cfg.name);
    if (chain === undefined) {
      await this.addChain(cfg);
      this.opts.log.info({ chain: cfg.name }, "chain added");
    } else if (sameRaw(chain.config.raw, cfg.raw)) {
      return;
    } else if (!chain.reconfigure(cfg)) {
      this.chains.delete(cfg.name);
      await chain.close();
      await this.addChain(cfg);
      this.opts.log.info({ chain: cfg.name }, "chain restarted");
    }
  }

  private async addChain(cfg: ClientChainConfig): Promise<void> {
    const chain = new ClientChain({
      config: cfg,
      log: this.opts.log,
      requester: this.requester,
      publishHost: this.opts.publishHost ?? "*",
      hostname: this.opts.hostname ?? localHostname(),
      stamp: this.stamp(),
      onReceived: this.opts.onReceived,
      connect: this.opts.connect,
      heartbeatInterval: this.opts.heartbeatInterval,
      maxWaitMs: this.opts.maxWaitMs,
      drainMs: this.opts.drainMs,
      book: this.ledger.book(cfg.name),
      relay: this.relayFor(cfg.name),
      onEvent: this.opts.onEvent,
    });
    try {
      await chain.start();
    } catch (err) {
      await chain.close();
      throw err;
    }
    this.chains.set(cfg.name, chain);
  }

  /**
   * Relay mode: fetch the file announced upstream as `uid` on a chain,
   * joining a transfer in flight; resolves with its local path.
   */
  async fetch(chain: string, uid: string): Promise<string> {
    const c = this.chains.get(chain);
    if (c === undefined) throw new ClosedError(`no chain ${chain}`);
    return c.fetch(uid);
  }

  private relayFor(
    name: string,
  ): { onAnnounced(msg: Message): void; prefetch: boolean } | undefined {
    const relay = this.opts.relay;
    return relay === undefined
      ? undefined
      : {
          prefetch: relay.prefetch(name),
          onAnnounced: (msg) => relay.onAnnounced(name, msg),
        };
  }

  private stamp(): Stamp {
    const { sender, clock } = this.opts;
    return () => ({ sender, time: clock?.() });
  }

  private async stopAll(): Promise<void> {
    const chains = [...this.chains.values()];
    this.chains.clear();
    await Promise.all(chains.map((c) => c.close()));
  }

  private assertOpen(): void {
    if (this.closing !== undefined) throw new ClosedError("client closed");
  }
}

function sameRaw(
  a: Readonly<Record<string, string>>,
  b: Readonly<Record<string, string>>,
): boolean {
  const ka = Object.keys(a);
  return (
    ka.length === Object.keys(b).length &&
    ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && a[k] === b[k])
  );
}
