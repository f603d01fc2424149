/**
 * One client ini section: a publisher on `publish_port` (heartbeat
 * `move_it_<section>`), a listener per provider, and a coordinator whose
 * hooks build destinations, verify, unpack and republish.
 */
import type { ClientChainConfig, Provider } from "../config/index.js";
import type { Logger } from "../log.js";
import type { Message } from "../message/index.js";
import { Publisher } from "../transport/publisher.js";
import type { Requester } from "../transport/requester.js";
import { Coordinator, type CoordinatorSettings, type CoordinatorStats } from "./coordinator.js";
import { Delivery, type DeliveryStats } from "./delivery.js";
import { Listener, listenerSubjects, type Connect, type ListenerStats } from "./listener.js";
import { deliveredUri } from "./destination.js";
import { stringField, type Stamp } from "./messages.js";

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
  /** Relay mode for the mirror (see RelayOptions): `onAnnounced` gets the chain's announcements. */
  relay?: { onAnnounced(msg: Message): void; prefetch: boolean } | undefined;
  /** Coordinator tuning (see CoordinatorOptions). */
  maxWaitMs?: number | undefined;
  drainMs?: number | undefined;
}

/** Counters of one chain. */
export interface ChainStats {
  publishPort: number;
  /** Messages handed to the publisher (heartbeats included). */
  published: number;
  coordinator: CoordinatorStats;
  delivery: DeliveryStats;
  /** Per provider `host:port`. */
  listeners: Record<string, ListenerStats>;
}

/** See the module comment. */
export class ClientChain {
  private cfg: ClientChainConfig;
  private readonly log: Logger;
  private readonly publisher: Publisher;
  private readonly delivery: Delivery;
  private readonly coordinator: Coordinator;
  private readonly listeners = new Map<string, Listener>();
  private readonly retiring = new Set<Promise<void>>();
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
      onReceived: opts.onReceived === undefined ? undefined : (msg) => opts.onReceived?.(this.cfg.name, msg),
    });
    this.coordinator = new Coordinator({
      ...settingsOf(opts.config),
      requester: opts.requester,
      hooks: this.delivery,
      log: this.log,
      stamp: opts.stamp,
      maxWaitMs: opts.maxWaitMs,
      drainMs: opts.drainMs,
      providerAlive: (provider) => [...this.listeners.values()].some((l) => l.address === provider && l.alive()),
      relay: opts.relay === undefined ? undefined : { prefetch: opts.relay.prefetch, onAnnounced: (ann) => opts.relay?.onAnnounced(ann.msg) },
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
    const listeners: Record<string, ListenerStats> = {};
    for (const l of this.listeners.values()) listeners[l.address] = l.stats;
    return {
      publishPort: this.publisher.port,
      published: this.publisher.sent,
      coordinator: this.coordinator.stats,
      delivery: { ...this.delivery.stats },
      listeners,
    };
  }

  /** Bind the publisher, then start listening. */
  async start(): Promise<void> {
    await this.publisher.start();
    this.syncListeners();
    this.log.info({ publishPort: this.publisher.port, providers: this.cfg.providers.map((p) => p.address) }, "chain started");
  }

  /**
   * Apply a changed section in place when the publisher can stay (same
   * publish_port): listeners whose provider and subjects did not change keep
   * running. Returns false when the chain must be re-created instead.
   */
  reconfigure(config: ClientChainConfig): boolean {
    if (this.closing !== undefined || config.name !== this.cfg.name || config.publishPort !== this.cfg.publishPort) return false;
    this.cfg = config;
    this.coordinator.update(settingsOf(config));
    this.syncListeners();
    this.log.info({ providers: config.providers.map((p) => p.address) }, "chain reconfigured");
    return true;
  }

  /** Stop listening, drain transfers, close the publisher. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.listeners.values(), ...this.retiring].map((l) => (l instanceof Listener ? l.close() : l)));
      this.listeners.clear();
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

  /** Start the listeners the config wants and close the others. */
  private syncListeners(): void {
    const wanted = new Map(this.cfg.providers.map((p) => [this.listenerKey(p), p]));
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
        log: this.log.child({ provider: provider.address }),
        connect: this.opts.connect,
      });
      this.listeners.set(key, listener);
      listener.start();
    }
  }

  private subjectsFor(provider: Provider): string[] {
    return listenerSubjects(provider.topic ?? this.cfg.topic, this.cfg.name, this.cfg.heartbeat);
  }

  private listenerKey(provider: Provider): string {
    return JSON.stringify([provider.address, this.subjectsFor(provider), this.cfg.heartbeatAlarmScale ?? null]);
  }
}

function settingsOf(cfg: ClientChainConfig): CoordinatorSettings {
  return {
    reqTimeoutMs: cfg.reqTimeout * 1000,
    transferReqTimeoutMs: cfg.transferReqTimeout * 1000,
    maxConcurrent: cfg.maxConcurrentTransfers,
    processingDelayMs: cfg.processingDelay === undefined ? undefined : cfg.processingDelay * 1000,
  };
}
