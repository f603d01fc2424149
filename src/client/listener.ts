/**
 * Listens to one provider's publisher. A ZeroMQ subscriber never notices a
 * publisher that went away, so with `heartbeat_alarm_scale` a watchdog
 * reconnects a provider that stayed silent (no message at all, heartbeats
 * included) for scale × min_interval, min_interval taken from the provider's
 * beats (30 s until one arrives). A subscriber that ends or fails is
 * re-created with backoff, forever, until `close()`.
 */
import { rateLimitedLogger, type Logger } from "../log.js";
import type { Message } from "../message/index.js";
import { Subscriber, type SubscriberOptions } from "../transport/subscriber.js";
import { backoff, sleep } from "../util/abort.js";
import type { ChainEvent } from "./events.js";

/** What a listener reads from: the transport's Subscriber, or a fake in tests. */
export interface MessageSource extends AsyncIterable<Message> {
  close(): void;
}

/** Makes a MessageSource for a provider. */
export type Connect = (opts: SubscriberOptions) => MessageSource;

/** Default heartbeat interval assumed until a beat says otherwise, s. */
export const DEFAULT_MIN_INTERVAL_S = 30;

export interface ListenerOptions {
  /** The provider's `host:port`. */
  address: string;
  /** Subjects to subscribe to (topic, heartbeats). */
  subjects: readonly string[];
  /** Reconnect after scale × min_interval of silence; undefined: never. */
  heartbeatAlarmScale?: number | undefined;
  /** Every message but heartbeats goes here. Must not throw. */
  onMessage: (msg: Message, provider: string) => void;
  /** The provider is heard after silence (or for the first time): catch up on what was missed. Must not throw. */
  onResume?: ((provider: string) => void) | undefined;
  /**
   * The subscription came back after its connection was lost at `lostAt`
   * (ms), perhaps without any silence long enough for onResume (a server
   * restarted within its heartbeat interval): what the provider published
   * meanwhile was not heard. Must not throw.
   */
  onReconnect?: ((provider: string, lostAt: number) => void) | undefined;
  /** A heartbeat arrived (after onHeard/onResume). Must not throw. */
  onBeat?: ((msg: Message, provider: string) => void) | undefined;
  /** Any message (heartbeats too) arrived. Must not throw. */
  onHeard?: ((provider: string) => void) | undefined;
  log: Logger;
  /** Subscriber factory (tests pass fakes). */
  connect?: Connect;
  /** Backoff bounds for restarts, ms (default 200 .. 30 000). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Told about heartbeats and alarms (metrics); must not throw. */
  onEvent?: (event: ChainEvent) => void;
}

/** Counters of one listener. */
export interface ListenerStats {
  /** Messages received, heartbeats included. */
  messages: number;
  heartbeats: number;
  /** Alarms raised by the watchdog. */
  missedHeartbeats: number;
  /** Subscribers re-created. */
  restarts: number;
  /** Times the provider was heard after silence (the first time included). */
  resumes: number;
}

/** A listener's counters and whether its provider is heard now. */
export interface ListenerSnapshot extends ListenerStats {
  /** See `alive()`. */
  up: boolean;
  /** When a message (heartbeats included) last arrived, ms since the epoch; 0 before any. */
  lastHeardAt: number;
}

/** See the module comment. */
export class Listener {
  private readonly ctrl = new AbortController();
  private readonly counters: ListenerStats = {
    messages: 0,
    heartbeats: 0,
    missedHeartbeats: 0,
    restarts: 0,
    resumes: 0,
  };
  private source: MessageSource | undefined;
  private loop: Promise<void> | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private lastSeen = 0;
  /** When a message (heartbeats included) last arrived; 0 before any. */
  private lastHeard = 0;
  private minIntervalS = DEFAULT_MIN_INTERVAL_S;
  private closing: Promise<void> | undefined;
  /** A dead provider would log a miss and a restart every cycle forever: 3 of each per 10 minutes, then a count. */
  private readonly limited: ReturnType<typeof rateLimitedLogger>;

  constructor(private readonly opts: ListenerOptions) {
    this.limited = rateLimitedLogger(opts.log, { burst: 3, windowMs: 600_000 });
  }

  /** The provider's `host:port`. */
  get address(): string {
    return this.opts.address;
  }

  /** A snapshot of the counters. */
  get stats(): ListenerSnapshot {
    return { ...this.counters, up: this.alive(), lastHeardAt: this.lastHeard };
  }

  /**
   * True while the provider's publisher is heard: a message within two
   * heartbeat intervals. A server busy with a long push may not answer a
   * ping (the Python server handles requests one at a time), but it still
   * publishes heartbeats.
   */
  alive(): boolean {
    return (
      this.lastHeard > 0 &&
      Date.now() - this.lastHeard < 2 * this.minIntervalS * 1000 + 1000
    );
  }

  /** Connect and start reading (returns at once). */
  start(): void {
    if (this.loop !== undefined || this.closing !== undefined) return;
    this.lastSeen = Date.now();
    this.loop = this.run();
    this.arm();
  }

  /** Disconnect and stop. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.ctrl.abort();
      clearTimeout(this.watchdog);
      this.source?.close();
      await this.loop;
      this.limited.close();
    })();
    return this.closing;
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.ctrl.signal.aborted) {
      const got = await this.readOnce();
      if (this.ctrl.signal.aborted) return;
      attempt = got ? 0 : attempt + 1;
      const delayMs = backoff(
        attempt,
        this.opts.backoffBaseMs ?? 200,
        this.opts.backoffMaxMs ?? 30_000,
      );
      if (
        !(await sleep(delayMs, this.ctrl.signal).then(
          () => true,
          () => false,
        ))
      )
        return;
      this.counters.restarts++;
      this.lastSeen = Date.now();
      this.limited.warn(
        "listener restarted",
        { provider: this.opts.address, attempt, delayMs },
        "listener restarted",
      );
    }
  }

  /** One subscriber's life; true if it delivered anything. */
  private async readOnce(): Promise<boolean> {
    let got = false;
    try {
      this.source = (this.opts.connect ?? defaultConnect)({
        endpoints: [`tcp://${this.opts.address}`],
        subjects: this.opts.subjects,
        log: this.opts.log,
        onReconnect: (lostAt) =>
          this.opts.onReconnect?.(this.opts.address, lostAt),
      });
      for await (const msg of this.source) {
        got = true;
        this.receive(msg);
      }
    } catch (err) {
      if (!this.ctrl.signal.aborted)
        this.opts.log.error(
          { err, provider: this.opts.address },
          "listener failed",
        );
    } finally {
      this.source?.close();
      this.source = undefined;
    }
    return got;
  }

  private receive(msg: Message): void {
    if (this.counters.messages === 0)
      this.opts.log.info({ provider: this.opts.address }, "provider heard");
    this.counters.messages++;
    const resumed = !this.alive();
    this.lastSeen = Date.now();
    this.lastHeard = this.lastSeen;
    this.opts.onHeard?.(this.opts.address);
    if (resumed) {
      this.counters.resumes++;
      this.opts.onResume?.(this.opts.address);
    }
    if (msg.type === "beat") {
      this.counters.heartbeats++;
      this.opts.onEvent?.({ type: "heartbeat", provider: this.opts.address });
      const interval = Number(msg.dataObject["min_interval"]);
      if (Number.isFinite(interval) && interval > 0)
        this.minIntervalS = interval;
      this.opts.onBeat?.(msg, this.opts.address);
      return;
    }
    if (msg.subject.startsWith("/heartbeat/")) return;
    this.opts.onMessage(msg, this.opts.address);
  }

  /** Check for silence every second (or tenth of the alarm, if shorter). */
  private arm(): void {
    const scale = this.opts.heartbeatAlarmScale;
    if (scale === undefined || this.ctrl.signal.aborted) return;
    const alarmMs = (): number => scale * this.minIntervalS * 1000;
    this.watchdog = setTimeout(
      () => {
        const silentMs = Date.now() - this.lastSeen;
        if (this.source !== undefined && silentMs >= alarmMs()) {
          this.counters.missedHeartbeats++;
          this.opts.onEvent?.({
            type: "heartbeat_missed",
            provider: this.opts.address,
          });
          this.limited.warn(
            "heartbeat missed",
            { provider: this.opts.address, silentMs, alarmMs: alarmMs() },
            "heartbeat missed",
          );
          this.lastSeen = Date.now();
          // Closing the subscriber ends its iteration; run() then reconnects.
          this.source.close();
        }
        this.arm();
      },
      Math.max(10, Math.min(1000, alarmMs() / 10)),
    );
    this.watchdog.unref();
  }
}

function defaultConnect(opts: SubscriberOptions): MessageSource {
  return new Subscriber(opts);
}

/**
 * The subjects a chain's listener subscribes to: the provider's topic (or
 * the chain's), and with `heartbeat` the server, mirror and this section's
 * heartbeats (the last being a primary client's, for a hot spare).
 */
export function listenerSubjects(
  topic: string,
  section: string,
  heartbeat: boolean,
): string[] {
  if (!heartbeat) return [topic];
  return [
    topic,
    "/heartbeat/move_it_server",
    "/heartbeat/move_it_mirror",
    `/heartbeat/move_it_${section}`,
  ];
}
