/**
 * move_it_server: one publisher shared by every chain (ini section), with a
 * heartbeat on /heartbeat/move_it_server. `reload()` keeps chains whose
 * section did not change.
 */
import type { LoadedConfig, ServerChainConfig } from "../config/index.js";
import { BindError, ClosedError } from "../errors.js";
import type { Logger } from "../log.js";
import { defaultMovers, type MoverRegistry } from "../movers/registry.js";
import { Publisher } from "../transport/publisher.js";
import { deferred } from "../util/abort.js";
import { ServerChain } from "./chain.js";
import { ServerLedger } from "./ledger.js";
import { RemoteTemporaries } from "./temporaries.js";
import type { SourceHook, StagedPath } from "./context.js";
import type { JsonValue, Message } from "../message/index.js";
import type { ServerStats } from "./stats.js";
import type { ServerEventSink } from "./events.js";

export type { ServerEvent, ServerEventSink } from "./events.js";
export type { ServerStats } from "./stats.js";

export interface MoveItServerOptions {
  config: LoadedConfig<ServerChainConfig>;
  log: Logger;
  /** Publisher endpoint (default `tcp://*:9010`). */
  publishBind?: string;
  /** Host request sockets bind to (default `*`). */
  requestHost?: string;
  disableBacklog?: boolean;
  /** Wait this long after start before announcing the backlog, ms (default 3000, as the reference). */
  backlogDelayMs?: number;
  /** Poll the file system instead of OS events. */
  polling?: boolean;
  /** Directory of the ledger (`server.ledger.sqlite`); omit for an in-memory one. */
  stateDir?: string;
  movers?: MoverRegistry;
  /** Quiet time for files written in place, ms (default 200). */
  settleMs?: number;
  /** Heartbeat publisher name (default move_it_server; the mirror uses move_it_mirror). */
  heartbeatName?: string;
  /** Seconds between heartbeats (default 30). */
  heartbeatInterval?: number;
  /** Watch `origin` (default true). The mirror relays instead. */
  watch?: boolean;
  /** Local file for a requested uri, per chain (the mirror fetches from upstream). */
  sourceHook?: (chain: string) => SourceHook | undefined;
  /** Where a relayed file's staged copy is, per chain (the mirror; see ChainContext.stagedPath). */
  stagedPath?: (chain: string) => StagedPath | undefined;
  /** Told about every chain's announcements, requests and pushes (metrics). */
  onEvent?: ServerEventSink;
}

function sameSection(a: ServerChainConfig, b: ServerChainConfig): boolean {
  return JSON.stringify(a.raw) === JSON.stringify(b.raw);
}

export class MoveItServer {
  private readonly publisher: Publisher;
  private readonly movers: MoverRegistry;
  private readonly chains = new Map<string, ServerChain>();
  private config: LoadedConfig<ServerChainConfig>;
  private closing: Promise<void> | undefined;
  private ledgerDb: ServerLedger | undefined;
  private temporaries: RemoteTemporaries | undefined;
  private readonly done = deferred<Error | undefined>();
  private failure: Error | undefined;

  /** Resolves (never rejects) once the server is closed: with the error that closed it, if any. */
  readonly closed: Promise<Error | undefined> = this.done.promise;

  constructor(private readonly opts: MoveItServerOptions) {
    this.config = opts.config;
    this.movers = opts.movers ?? defaultMovers();
    this.publisher = new Publisher({
      bind: opts.publishBind ?? "tcp://*:9010",
      log: opts.log,
      heartbeatName: opts.heartbeatName ?? "move_it_server",
      heartbeatInterval: opts.heartbeatInterval,
      heartbeatData: () => this.catchupOffer(),
    });
  }

  /**
   * Bind the publisher and start every chain. On a failure everything
   * started so far is closed again (the server is then closed) and the error
   * names the section and port that failed.
   */
  async start(): Promise<void> {
    if (this.closing !== undefined) throw new ClosedError("server closed");
    this.ledgerDb = ServerLedger.open(this.opts.stateDir, this.opts.log);
    this.opts.log.info({ file: this.ledgerDb.path }, "ledger opened");
    this.temporaries = new RemoteTemporaries({
      ledger: this.ledgerDb,
      movers: this.movers,
      chain: (name) => this.config.chains.find((c) => c.name === name),
      log: this.opts.log,
    });
    // What a killed predecessor left on remotes is removed in the background; a push to such a remote waits for it.
    this.temporaries.start();
    const bind = this.opts.publishBind ?? "tcp://*:9010";
    try {
      try {
        await this.publisher.start();
      } catch (err) {
        throw new BindError(
          `publish port ${bind.replace(/^.*:/, "")} (-p)`,
          bind,
          err,
        );
      }
      for (const c of this.config.chains)
        await this.startChain(c, !(this.opts.disableBacklog ?? false));
    } catch (err) {
      await this.destroy(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
    this.opts.log.info(
      { publishPort: this.publisher.port, chains: [...this.chains.keys()] },
      "server started",
    );
  }

  /**
   * What a beat tells clients that never heard an announcement from here
   * (docs/ledger.md): `catchup`, the topic and request address of each chain
   * whose announcements `catchup` answers. No such chain: no field, and the
   * beat is byte for byte the reference's.
   */
  private catchupOffer(): Record<string, JsonValue> {
    const offer: JsonValue[] = [];
    for (const c of this.chains.values()) {
      const address = c.catchupAddress;
      if (address !== undefined)
        offer.push({ topic: c.config.topic, request_address: address });
    }
    return offer.length === 0 ? {} : { catchup: offer };
  }

  /** The bound publish port. */
  get publishPort(): number {
    return this.publisher.port;
  }

  /** The bound request port of a chain. */
  requestPort(name: string): number {
    return this.chains.get(name)?.requestPort ?? 0;
  }

  /** A chain's `request_address` (`host:port`). */
  requestAddress(name: string): string | undefined {
    return this.chains.get(name)?.address;
  }

  /** Publish a relayed announcement through a chain (the mirror), recorded as `staged` (see ServerChain.relay). */
  async relay(name: string, msg: Message, staged?: string): Promise<void> {
    await this.chains.get(name)?.relay(msg, staged);
  }

  /** The ledger's counters. */
  ledgerStats(): {
    writeErrors: number;
    pendingWrites: number;
    commits: number;
    changesCommitted: number;
  } {
    return (
      this.ledgerDb?.ledger.counters() ?? {
        writeErrors: 0,
        pendingWrites: 0,
        commits: 0,
        changesCommitted: 0,
      }
    );
  }

  /** The daemon's ledger, once started. */
  get ledger(): ServerLedger | undefined {
    return this.ledgerDb;
  }

  /** Per-chain counters. */
  stats(): Record<string, ServerStats> {
    return Object.fromEntries([...this.chains].map(([n, c]) => [n, c.stats]));
  }

  private async startChain(
    config: ServerChainConfig,
    backlog: boolean,
  ): Promise<void> {
    const log = this.opts.log.child({ chain: config.name });
    const chain = new ServerChain({
      config,
      publisher: this.publisher,
      movers: this.movers,
      log,
      requestHost: this.opts.requestHost ?? "*",
      backlog,
      backlogDelayMs: this.opts.backlogDelayMs ?? 3000,
      polling: this.opts.polling ?? false,
      stateDir: this.opts.stateDir,
      ledger: this.ledgerDb!,
      temporaries: this.temporaries!,
      keep: (chain, path) => this.chains.get(chain)?.keep(path),
      settleMs: this.opts.settleMs ?? 200,
      watch: this.opts.watch,
      sourceHook: this.opts.sourceHook?.(config.name),
      stagedPath: this.opts.stagedPath?.(config.name),
      onEvent: this.opts.onEvent,
    });
    this.chains.set(config.name, chain);
    try {
      await chain.start(); // undoes itself on failure
    } catch (err) {
      this.chains.delete(config.name);
      throw err;
    }
  }

  /** Apply a new config: keep unchanged chains, re-create changed ones, stop removed ones. */
  async reload(next: LoadedConfig<ServerChainConfig>): Promise<void> {
    if (this.closing !== undefined) throw new ClosedError("server closed");
    const wanted = new Map(next.chains.map((c) => [c.name, c]));
    for (const [name, chain] of [...this.chains]) {
      const want = wanted.get(name);
      if (want !== undefined && sameSection(want, chain.config)) continue;
      this.chains.delete(name);
      await chain.close();
    }
    for (const c of next.chains)
      if (!this.chains.has(c.name))
        await this.startChain(c, !(this.opts.disableBacklog ?? false));
    this.config = next;
    this.opts.log.info({ chains: [...this.chains.keys()] }, "config reloaded");
  }

  /**
   * Stop every chain (draining requests within `drainMs`), then the movers'
   * connections and the publisher. Every call returns the same promise; it
   * never rejects. reload() and start() after it throw ClosedError.
   */
  close(drainMs = 5000): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled(
        [...this.chains.values()].map((c) => c.close(drainMs)),
      );
      this.chains.clear();
      await this.temporaries?.close();
      await this.movers
        .close()
        .catch((err: unknown) =>
          this.opts.log.error({ err }, "closing connections failed"),
        );
      await this.publisher.close();
      this.ledgerDb?.close();
      this.opts.log.info({}, "server stopped");
      this.done.resolve(this.failure);
    })();
    return this.closing;
  }

  /** Abort every transfer and unpack in flight now, then close. */
  destroy(err?: Error): Promise<void> {
    this.failure ??= err;
    for (const chain of this.chains.values()) void chain.destroy(err);
    return this.close(0);
  }
}
