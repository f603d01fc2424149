/**
 * One client ini section: a publisher on `publish_port` (heartbeat
 * `move_it_<section>`), a listener per provider, and a coordinator whose
 * hooks build destinations, verify, unpack and republish.
 */
import { BindError } from "../errors.js";
import type { ClientChainConfig, Provider } from "../config/index.js";
import type { Logger } from "../log.js";
import type { JsonValue, Message } from "../message/index.js";
import { Publisher } from "../transport/publisher.js";
import { Registrar, advertisedHost } from "../transport/registrar.js";
import { securityBackend } from "../transport/security.js";
import type { Requester } from "../transport/requester.js";
import { catchUp } from "./catchup.js";
import {
  Coordinator,
  type CoordinatorSettings,
  type CoordinatorStats,
} from "./coordinator.js";
import type { RelayOptions } from "./relay.js";
import type { FileBook, FileCounts } from "./ledger.js";
import { Delivery, type DeliveryStats } from "./delivery.js";
import {
  Listener,
  listenerSubjects,
  type Connect,
  type ListenerSnapshot,
} from "./listener.js";
import type { ChainEvent, ClientEventSink } from "./events.js";
import { deliveredUri } from "./destination.js";
import { stringField, uidKey, type Stamp } from "./messages.js";

export interface ClientChainOptions {
  config: ClientChainConfig;
  log: Logger;
  requester: Requester;
  /** Interface to bind the publisher on (`*` for all). */
  publishHost: string;
  /** This host's name, for destinations naming no host. */
  hostname: string;
  stamp: Stamp;
  onReceived?: ((chain: string, msg: Message) => void) | undefined;
  /** Subscriber factory (tests). */
  connect?: Connect | undefined;
  /** Publisher heartbeat interval, s (default 30). */
  heartbeatInterval?: number | undefined;
  /** Relay mode for the mirror (see Relay): `onAnnounced` gets the chain's new upstream files. */
  relay?: RelayOptions | undefined;
  /** Coordinator tuning (see CoordinatorOptions). */
  maxWaitMs?: number | undefined;
  drainMs?: number | undefined;
  /** This chain's view of the client ledger. */
  book: FileBook;
  /** Catch up from this long before a provider was last heard, ms (default 60 s). */
  catchUpMarginMs?: number | undefined;
  /** Told about announcements, pushes, deliveries, heartbeats (metrics). */
  onEvent?: ClientEventSink | undefined;
}

/** What a catch-up pass of a chain did. */
export interface CatchUpSummary {
  /** Request addresses asked. */
  servers: number;
  /** Of those, the ones without catch-up (Python) or not answering. */
  unsupported: number;
  unreachable: number;
  /** Announcements received. */
  announcements: number;
  /** Distinct files among them. */
  keys: string[];
}

/** Heartbeat subjects of servers (ours may name catch-up addresses; a client's, a hot spare's peer, never). */
const SERVER_BEATS = new Set([
  "/heartbeat/move_it_server",
  "/heartbeat/move_it_mirror",
]);

/** A provider heard again this soon after a catch-up from as far back is not asked again, ms. */
const RECENT_CATCH_UP_MS = 60_000;

/** Counters of one chain. */
export interface ChainStats {
  publishPort: number;
  /** Messages handed to the publisher (heartbeats included). */
  published: number;
  coordinator: CoordinatorStats;
  delivery: DeliveryStats;
  /** Per provider `host:port`. */
  listeners: Record<string, ListenerSnapshot>;
  /** The chain's files in the ledger by state (delivered ones not counted). */
  files: FileCounts;
}

/** See the module comment. */
export class ClientChain {
  private cfg: ClientChainConfig;
  private readonly log: Logger;
  private readonly publisher: Publisher;
  private registrar: Registrar | undefined;
  private readonly delivery: Delivery;
  private readonly coordinator: Coordinator;
  private readonly listeners = new Map<string, Listener>();
  private readonly retiring = new Set<Promise<void>>();
  private readonly catchingUp = new Map<
    string,
    { since: number; task: Promise<CatchUpSummary> }
  >();
  /** Per server, the catch-up asked for while one ran: not sent yet, it starts once that one ended. */
  private readonly catchUpNext = new Map<
    string,
    { since: number; task: Promise<CatchUpSummary> }
  >();
  /** Providers already logged as without catch-up (once each). */
  private readonly noCatchUp = new Set<string>();
  /** Servers named by a heartbeat already taken up (`provider address`). */
  private readonly offered = new Set<string>();
  /** The last catch-up that succeeded, per server: how far back, and when it ended. */
  private readonly caughtUp = new Map<string, { since: number; at: number }>();
  private readonly ctrl = new AbortController();
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: ClientChainOptions) {
    this.cfg = opts.config;
    this.log = opts.log.child({ chain: opts.config.name });
    this.publisher = new Publisher({
      bind: `tcp://${opts.publishHost}:${opts.config.publishPort}`,
      log: this.log,
      heartbeatName: `move_it_${opts.config.name}`,
      heartbeatInterval: opts.heartbeatInterval,
    });
    this.delivery = new Delivery({
      config: () => this.cfg,
      hostname: opts.hostname,
      publish: (msg) => this.publisher.publish(msg),
      stamp: opts.stamp,
      log: this.log,
      onReceived:
        opts.onReceived === undefined
          ? undefined
          : (msg) => opts.onReceived?.(this.cfg.name, msg),
    });
    this.coordinator = new Coordinator({
      ...settingsOf(opts.config),
      requester: opts.requester,
      hooks: this.delivery,
      log: this.log,
      stamp: opts.stamp,
      maxWaitMs: opts.maxWaitMs,
      drainMs: opts.drainMs,
      book: opts.book,
      onEvent: (event) => this.emit(event),
      providerAlive: (provider) =>
        [...this.listeners.values()].some(
          (l) => l.address === provider && l.alive(),
        ),
      onServerRestart: (address, provider, since) =>
        this.serverRestarted(address, provider, since),
      relay: opts.relay,
    });
  }

  /**
   * Relay mode: fetch the file announced upstream under `key` (its uid) and
   * resolve with where it now is (a local path for local destinations).
   */
  async fetch(key: string): Promise<string> {
    const { ann, dest } = await this.coordinator.fetch(key);
    return deliveredUri(dest, stringField(ann.msg, "uri") ?? key);
  }

  /** The section name. */
  get name(): string {
    return this.cfg.name;
  }

  /** The config this chain runs with now. */
  get config(): ClientChainConfig {
    return this.cfg;
  }

  /** The publisher's bound port (after `start()`). */
  get publishPort(): number {
    return this.publisher.port;
  }

  /** A snapshot of the counters. */
  get stats(): ChainStats {
    const listeners: Record<string, ListenerSnapshot> = {};
    for (const l of this.listeners.values()) listeners[l.address] = l.stats;
    return {
      publishPort: this.publisher.port,
      published: this.publisher.sent,
      coordinator: this.coordinator.stats,
      delivery: { ...this.delivery.stats },
      listeners,
      files: this.opts.book.counts(),
    };
  }

  /** Bind the publisher, then start listening. */
  async start(): Promise<void> {
    await this.publisher.start().catch((err: unknown) => {
      throw new BindError(
        `section [${this.cfg.name}], publish_port ${this.cfg.publishPort}`,
        `tcp://${this.opts.publishHost}:${this.cfg.publishPort}`,
        err,
      );
    });
    this.register();
    this.coordinator.resume();
    this.syncListeners();
    // At start, without waiting for a heartbeat (up to 30 s): what did the known servers announce while we were down?
    for (const s of this.opts.book.servers()) {
      if (s.lastHeardAt !== undefined)
        void this.catchUpFrom(
          s.provider,
          s.address,
          new Date(s.lastHeardAt - this.margin),
        );
    }
    this.log.info(
      {
        publishPort: this.publisher.port,
        providers: this.cfg.providers.map((p) => p.address),
      },
      "chain started",
    );
  }

  /**
   * Apply a changed section in place when the publisher can stay (same
   * publish_port): listeners whose provider and subjects did not change keep
   * running. Returns false when the chain must be re-created instead.
   */
  reconfigure(config: ClientChainConfig): boolean {
    if (
      this.closing !== undefined ||
      config.name !== this.cfg.name ||
      config.publishPort !== this.cfg.publishPort
    )
      return false;
    if (
      JSON.stringify(config.nameservers) !==
      JSON.stringify(this.cfg.nameservers)
    )
      return false;
    this.cfg = config;
    this.coordinator.update(settingsOf(config));
    this.syncListeners();
    this.log.info(
      { providers: config.providers.map((p) => p.address) },
      "chain reconfigured",
    );
    return true;
  }

  /** Stop listening, drain transfers, close the publisher. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.ctrl.abort();
      await Promise.all(
        [...this.listeners.values(), ...this.retiring].map((l) =>
          l instanceof Listener ? l.close() : l,
        ),
      );
      await Promise.allSettled(
        [...this.catchingUp.values(), ...this.catchUpNext.values()].map(
          (c) => c.task,
        ),
      );
      this.listeners.clear();
      this.registrar?.close();
      await this.coordinator.close();
      await this.publisher.close();
      this.log.info({}, "chain stopped");
    })();
    return this.closing;
  }

  /** Abort transfers in flight now, then close. */
  destroy(err?: Error): Promise<void> {
    void this.coordinator.destroy(err);
    return this.close();
  }

  /**
   * With `nameservers = host ...`, register the publisher with each of them
   * as posttroll's NoisyPublisher does (name and service
   * `move_it_<section>`), so subscribers that look publishers up in a
   * nameserver find this one, whatever port it got.
   */
  private register(): void {
    const ns = this.cfg.nameservers;
    if (ns === undefined || ns === false || ns.length === 0) return;
    const name = `move_it_${this.cfg.name}`;
    this.registrar = new Registrar({
      name,
      services: [name],
      uri: `tcp://${advertisedHost(this.opts.publishHost)}:${this.publisher.port}`,
      nameservers: ns,
      backend: securityBackend(),
      log: this.log,
    });
    this.registrar.start();
  }

  /** Start the listeners the config wants and close the others. */
  private syncListeners(): void {
    const wanted = new Map(
      this.cfg.providers.map((p) => [this.listenerKey(p), p]),
    );
    for (const [key, listener] of this.listeners) {
      if (wanted.has(key)) continue;
      this.listeners.delete(key);
      const closing = listener.close();
      this.retiring.add(closing);
      void closing.finally(() => this.retiring.delete(closing));
    }
    for (const [key, provider] of wanted) {
      if (this.listeners.has(key)) continue;
      const listener = new Listener({
        address: provider.address,
        subjects: this.subjectsFor(provider),
        heartbeatAlarmScale: this.cfg.heartbeatAlarmScale,
        onMessage: (msg, from) => this.coordinator.handle(msg, from),
        onHeard: (from) => this.coordinator.heard(from),
        onResume: (from) => this.resumed(from),
        onReconnect: (from, lostAt) => this.reconnected(from, lostAt),
        onBeat: (msg, from) => this.beat(msg, from),
        log: this.log.child({ provider: provider.address }),
        connect: this.opts.connect,
        onEvent: (event) => this.emit(event),
      });
      this.listeners.set(key, listener);
      listener.start();
    }
  }

  /** A provider is heard after silence: retry its failed files now and catch up on what it announced meanwhile. */
  private resumed(provider: string): void {
    if (this.closing !== undefined) return;
    this.coordinator.providerBack(provider);
    const now = Date.now();
    for (const s of this.opts.book.servers()) {
      if (s.provider !== provider || s.lastHeardAt === undefined) continue;
      const since = s.lastHeardAt - this.margin;
      // Just caught up from as far back (at start, say): once is enough.
      const last = this.caughtUp.get(`${s.provider} ${s.address}`);
      if (
        last !== undefined &&
        last.since <= since &&
        now - last.at < RECENT_CATCH_UP_MS
      )
        continue;
      void this.catchUpFrom(s.provider, s.address, new Date(since));
    }
  }

  /**
   * The subscription to a provider came back after its connection was lost:
   * a server killed and restarted within its heartbeat interval is never
   * silent long enough to count as resumed, and what it announced before
   * this subscription was back (a restarted mirror relays at once) was not
   * heard. Catch up on what its servers announced since the loss.
   */
  private reconnected(provider: string, lostAt: number): void {
    if (this.closing !== undefined) return;
    this.log.info(
      { provider, lostAt: new Date(lostAt).toISOString() },
      "provider reconnected, catching up",
    );
    for (const s of this.opts.book.servers()) {
      if (s.provider === provider)
        void this.catchUpFrom(
          s.provider,
          s.address,
          new Date(lostAt - this.margin),
        );
    }
  }

  /**
   * A heartbeat. Ours names, in `catchup`, the request address of each
   * chain catch-up can answer for: a server this chain never heard from
   * (no announcement, nothing in the ledger) is asked for what it announced
   * on our topic within `catch_up_window`. A server beat without it (the
   * Python server) is logged once per provider as without catch-up, and
   * nothing is asked.
   */
  private beat(msg: Message, provider: string): void {
    if (this.closing !== undefined || !SERVER_BEATS.has(msg.subject)) return;
    const offer = msg.dataObject["catchup"];
    if (!Array.isArray(offer)) {
      if (!this.noCatchUp.has(provider)) {
        this.noCatchUp.add(provider);
        this.log.info(
          {
            provider,
            reason:
              "its heartbeat names no catch-up address (a Python server, or a move_it without catch-up)",
          },
          "catch-up unavailable",
        );
      }
      return;
    }
    const topic =
      this.cfg.providers.find((p) => p.address === provider)?.topic ??
      this.cfg.topic;
    const known = new Set(
      this.opts.book.servers().map((s) => `${s.provider} ${s.address}`),
    );
    for (const entry of offer) {
      if (
        entry === null ||
        typeof entry !== "object" ||
        Object.getPrototypeOf(entry) !== Object.prototype
      )
        continue;
      const fields = entry as Record<string, JsonValue>;
      const [served, address] = [fields["topic"], fields["request_address"]];
      // The server answers announcements whose topic starts with ours: those we subscribe to.
      if (
        typeof served !== "string" ||
        typeof address !== "string" ||
        !served.startsWith(topic)
      )
        continue;
      const id = `${provider} ${address}`;
      if (this.offered.has(id) || known.has(id)) continue;
      this.offered.add(id);
      if (this.cfg.catchUpWindow <= 0) continue;
      void this.opts.book.learned(provider, address);
      const since = new Date(Date.now() - this.cfg.catchUpWindow * 1000);
      this.log.info(
        { provider, address, since: since.toISOString() },
        "new server, catching up",
      );
      void this.catchUpFrom(provider, address, since);
    }
  }

  /**
   * A server answered as a new instance: it restarted, perhaps while this
   * chain's subscription was still reconnecting (a restarted mirror relays at
   * once). Catch up on what it announced since its earlier instance last
   * answered.
   */
  private serverRestarted(
    address: string,
    provider: string | undefined,
    since: number,
  ): void {
    if (this.closing !== undefined) return;
    const known =
      provider ??
      this.opts.book.servers().find((s) => s.address === address)?.provider;
    if (known === undefined) return;
    this.log.info(
      { provider: address, since: new Date(since - this.margin).toISOString() },
      "server restarted, catching up",
    );
    void this.catchUpFrom(known, address, new Date(since - this.margin));
  }

  private get margin(): number {
    return this.opts.catchUpMarginMs ?? 60_000;
  }

  /**
   * Ask every server known from the ledger (or those of one provider) for
   * what it announced since `since`, and fetch what the ledger lacks.
   */
  async catchUp(since: Date): Promise<CatchUpSummary> {
    const all = await Promise.all(
      this.opts.book
        .servers()
        .map((s) => this.catchUpFrom(s.provider, s.address, since)),
    );
    const keys = new Set(all.flatMap((r) => r.keys));
    const sum = (f: (r: CatchUpSummary) => number): number =>
      all.reduce((n, r) => n + f(r), 0);
    return {
      servers: sum((r) => r.servers),
      unsupported: sum((r) => r.unsupported),
      unreachable: sum((r) => r.unreachable),
      announcements: sum((r) => r.announcements),
      keys: [...keys],
    };
  }

  /**
   * One server, one catch-up at a time. A call while one runs never joins it
   * (that one may have been answered before what this call is about was
   * announced): it follows it, joining the one already waiting to follow,
   * which reaches back as far as the earliest of the calls it serves.
   */
  private catchUpFrom(
    provider: string,
    address: string,
    since: Date,
  ): Promise<CatchUpSummary> {
    const id = `${provider} ${address}`;
    const running = this.catchingUp.get(id);
    if (running !== undefined) {
      const waiting = this.catchUpNext.get(id);
      if (waiting !== undefined) {
        waiting.since = Math.min(waiting.since, since.getTime());
        return waiting.task;
      }
      const next: { since: number; task: Promise<CatchUpSummary> } = {
        since: since.getTime(),
        task: running.task.then((): Promise<CatchUpSummary> => {
          this.catchUpNext.delete(id);
          return this.catchUpFrom(provider, address, new Date(next.since));
        }),
      };
      this.catchUpNext.set(id, next);
      return next.task;
    }
    const cfgProvider = this.cfg.providers.find((p) => p.address === provider);
    const topic = cfgProvider?.topic ?? this.cfg.topic;
    const log = this.log.child({ provider: address });
    const keys = new Set<string>();
    const task = catchUp(
      address,
      topic,
      since,
      {
        requester: this.opts.requester,
        timeoutMs:
          Math.max(this.cfg.reqTimeout, this.cfg.transferReqTimeout) * 1000,
        stamp: this.opts.stamp,
        signal: this.ctrl.signal,
      },
      (msg) => {
        const key = uidKey(msg);
        if (key !== undefined) keys.add(key);
        this.coordinator.handle(msg, provider);
      },
    )
      .then(
        (r): CatchUpSummary => {
          void this.opts.book.catchup(provider, address, r.supported);
          this.emit({
            type: "catchup",
            provider,
            address,
            outcome: r.supported ? "answered" : "unsupported",
            announcements: r.messages,
          });
          if (r.supported)
            this.caughtUp.set(id, { since: since.getTime(), at: Date.now() });
          if (!r.supported) {
            if (!this.noCatchUp.has(provider))
              log.info({ since: since.toISOString() }, "catch-up unavailable");
            this.noCatchUp.add(provider);
          } else {
            log.info(
              {
                since: since.toISOString(),
                announcements: r.messages,
                pages: r.pages,
                bad: r.bad,
              },
              "caught up",
            );
          }
          return {
            servers: 1,
            unsupported: r.supported ? 0 : 1,
            unreachable: 0,
            announcements: r.messages,
            keys: [...keys],
          };
        },
        (err: unknown): CatchUpSummary => {
          if (!this.ctrl.signal.aborted) {
            log.warn({ err }, "catch-up failed");
            this.emit({
              type: "catchup",
              provider,
              address,
              outcome: "unreachable",
              announcements: keys.size,
            });
          }
          return {
            servers: 1,
            unsupported: 0,
            unreachable: 1,
            announcements: keys.size,
            keys: [...keys],
          };
        },
      )
      .finally(() => {
        if (this.catchingUp.get(id)?.task === task) this.catchingUp.delete(id);
      });
    this.catchingUp.set(id, { since: since.getTime(), task });
    return task;
  }

  /** The ledger state of each key (for the one-off catch-up pass). */
  states(keys: readonly string[]): Map<string, string | undefined> {
    return new Map(keys.map((k) => [k, this.opts.book.get(k)?.state]));
  }

  /** Files of this chain held in memory now (waiting or moving). */
  get busy(): number {
    return this.coordinator.stats.pending;
  }

  private emit(event: ChainEvent): void {
    this.opts.onEvent?.({ ...event, chain: this.cfg.name });
  }

  private subjectsFor(provider: Provider): string[] {
    return listenerSubjects(
      provider.topic ?? this.cfg.topic,
      this.cfg.name,
      this.cfg.heartbeat,
    );
  }

  private listenerKey(provider: Provider): string {
    return JSON.stringify([
      provider.address,
      this.subjectsFor(provider),
      this.cfg.heartbeatAlarmScale ?? null,
    ]);
  }
}

function settingsOf(cfg: ClientChainConfig): CoordinatorSettings {
  return {
    reqTimeoutMs: cfg.reqTimeout * 1000,
    transferReqTimeoutMs: cfg.transferReqTimeout * 1000,
    maxConcurrent: cfg.maxConcurrentTransfers,
    processingDelayMs:
      cfg.processingDelay === undefined
        ? undefined
        : cfg.processingDelay * 1000,
    maxRetryAgeMs: cfg.maxRetryAge * 1000,
  };
}
