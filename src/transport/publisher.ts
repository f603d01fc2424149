/**
 * A posttroll publisher: a ZeroMQ PUB socket that sends encoded messages,
 * with an optional heartbeat on `/heartbeat/<name>`.
 */
import * as zmq from "zeromq";
import { ClosedError } from "../errors.js";
import type { Logger } from "../log.js";
import { Message, type JsonValue } from "../message/index.js";
import { secureBinding } from "./security.js";
import { SerialQueue } from "../util/serial.js";
import { bindSocket, endpointPort, releaseSocket } from "./binding.js";
import { watchSocketEvents } from "./socket-events.js";

export const HEARTBEAT_INTERVAL_S = 30;

/**
 * How long after a subscriber's handshake its extra beat goes out, ms: its
 * subscription follows the handshake, and a beat sent before the socket has
 * it is not delivered to that subscriber.
 */
export const NEW_SUBSCRIBER_BEAT_MS = 200;

export interface PublisherOptions {
  /** ZeroMQ endpoint to bind, e.g. `tcp://*:9010` or `tcp://127.0.0.1:0`. */
  bind: string;
  log: Logger;
  /** Publisher name: heartbeats go to `/heartbeat/<name>`. Omit for none. */
  heartbeatName?: string;
  /** Seconds between heartbeats (default 30; the first goes out after ~1 s). */
  heartbeatInterval?: number;
  /** More fields for each beat, after `min_interval` (a Python peer reads only that one). */
  heartbeatData?: () => Record<string, JsonValue>;
}

export class Publisher {
  // sendTimeout 0: a PUB socket never blocks (past the high-water mark it drops), so zeromq.js may skip
  // its writability check (a getsockopt, two system calls in libzmq) before each send.
  private readonly sock = new zmq.Publisher({
    linger: 500,
    sendHighWaterMark: 100_000,
    sendTimeout: 0,
  });
  private readonly queue = new SerialQueue();
  private timer: NodeJS.Timeout | undefined;
  private extraBeat: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private boundEndpoint = "";
  /** Messages handed to the socket. */
  sent = 0;

  constructor(private readonly opts: PublisherOptions) {
    secureBinding(this.sock, "pubsub");
  }

  /** Bind and start heartbeats; returns the bound endpoint (with the real port). */
  async start(): Promise<string> {
    this.boundEndpoint = bindSocket(this.sock, this.opts.bind);
    if (this.opts.heartbeatName !== undefined)
      this.startHeartbeat(this.opts.heartbeatName);
    this.opts.log.debug({ endpoint: this.boundEndpoint }, "publisher bound");
    return this.boundEndpoint;
  }

  /** The bound endpoint, e.g. `tcp://127.0.0.1:40123`. */
  get endpoint(): string {
    return this.boundEndpoint;
  }

  /** The bound TCP port. */
  get port(): number {
    return endpointPort(this.boundEndpoint);
  }

  /** Queue a message; PUB never blocks, so this resolves quickly. Rejects with ClosedError once closing. */
  publish(msg: Message): Promise<void> {
    if (this.closing !== undefined)
      return Promise.reject(new ClosedError("publisher closed"));
    const frame = msg.encode();
    return this.queue
      .run(() => this.sock.send(frame))
      .then(
        () => {
          this.sent++;
          this.opts.log.trace({ frame }, "published");
        },
        (err: unknown) => this.opts.log.warn({ err }, "publish failed"),
      );
  }

  private startHeartbeat(name: string): void {
    const intervalS = this.opts.heartbeatInterval ?? HEARTBEAT_INTERVAL_S;
    const beat = (): void => {
      this.publish(
        new Message(`/heartbeat/${name}`, "beat", {
          min_interval: intervalS,
          ...this.opts.heartbeatData?.(),
        }),
      ).catch(() => undefined);
    };
    void this.beatForNewSubscribers(beat);
    // The reference sends its first beat about a second after start.
    this.timer = setTimeout(
      () => {
        beat();
        this.timer = setInterval(beat, intervalS * 1000);
        this.timer.unref();
      },
      Math.min(1000, intervalS * 1000),
    );
    this.timer.unref();
  }

  /**
   * One more beat shortly after each new subscriber's handshake (several
   * arriving together share it). Without it a subscriber that connects just
   * after a beat, such as a client started before its server (its refused
   * connection retried at growing intervals), hears nothing from here for a
   * whole interval, and what needs a beat waits as long: a client's
   * catch-up with a server it never heard from, its "provider heard". The
   * beat is an ordinary one; a Python subscriber only sees beats a little
   * more often.
   */
  private beatForNewSubscribers(beat: () => void): Promise<void> {
    return watchSocketEvents(this.sock, (event) => {
      if (event.type !== "handshake" || this.extraBeat !== undefined) return;
      this.extraBeat = setTimeout(() => {
        this.extraBeat = undefined;
        if (this.closing === undefined) beat();
      }, NEW_SUBSCRIBER_BEAT_MS);
      this.extraBeat.unref();
    });
  }

  /** Stop heartbeats, flush what is queued, close the socket. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearTimeout(this.timer);
      clearInterval(this.timer);
      clearTimeout(this.extraBeat);
      await this.queue.idle();
      // Close, never unbind (binding.ts says why); the port is free when close() resolves.
      await releaseSocket(this.sock, this.boundEndpoint);
    })();
    return this.closing;
  }
}
