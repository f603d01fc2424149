/**
 * A posttroll subscriber: a ZeroMQ SUB socket connected to one or more
 * publishers, filtered by subject prefix, read as an async iterable of
 * decoded messages. Frames that are not messages are logged and skipped.
 */
import * as zmq from "zeromq";
import { MessageDecodeError } from "../errors.js";
import { rateLimitedLogger, type Logger } from "../log.js";
import { Message } from "../message/index.js";
import { secureConnecting } from "./security.js";
import { watchSocketEvents } from "./socket-events.js";

export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

export interface SubscriberOptions {
  /** `tcp://host:port` endpoints to connect to. */
  endpoints: readonly string[];
  /** Subjects to subscribe to (prefix match on `pytroll:/<subject>`); empty list = everything. */
  subjects: readonly string[];
  log: Logger;
  /**
   * The connection to a publisher came back after it was lost (`lostAt`,
   * ms): what the publisher sent meanwhile never arrives. Must not throw.
   */
  onReconnect?: (lostAt: number) => void;
}

export class Subscriber implements AsyncIterable<Message> {
  private readonly sock = new zmq.Subscriber({
    linger: 0,
    maxMessageSize: MAX_FRAME_BYTES,
    reconnectInterval: 200,
    reconnectMaxInterval: 5000,
  });
  private closed = false;
  private limited: ReturnType<typeof rateLimitedLogger> | undefined;

  constructor(private readonly opts: SubscriberOptions) {
    secureConnecting(this.sock, "pubsub");
    for (const ep of opts.endpoints) this.sock.connect(ep);
    if (opts.subjects.length === 0) this.sock.subscribe();
    for (const subject of opts.subjects)
      this.sock.subscribe(Message.topicPrefix(subject));
    if (opts.onReconnect !== undefined)
      void this.watchReconnects(opts.onReconnect);
  }

  /** Read the socket's events until it closes: a connect after a disconnect is a reconnection. */
  private watchReconnects(
    onReconnect: (lostAt: number) => void,
  ): Promise<void> {
    let lostAt: number | undefined;
    return watchSocketEvents(this.sock, (event) => {
      if (event.type === "disconnect") lostAt ??= Date.now();
      if (event.type === "connect" && lostAt !== undefined) {
        const since = lostAt;
        lostAt = undefined;
        onReconnect(since);
      }
    });
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Message> {
    for (;;) {
      let frames: Buffer[];
      try {
        frames = await this.sock.receive();
      } catch (err) {
        if (this.closed || (err as { code?: string }).code === "EAGAIN") return;
        throw err;
      }
      const frame = frames[0];
      if (frame === undefined) continue;
      try {
        yield Message.decode(frame);
      } catch (err) {
        if (!(err instanceof MessageDecodeError)) throw err;
        this.limited ??= rateLimitedLogger(this.opts.log);
        this.limited.warn(
          "malformed frame",
          { err, bytes: frame.length },
          "malformed frame dropped",
        );
      }
    }
  }

  /** Connect to one more publisher (`tcp://host:port`). */
  connect(endpoint: string): void {
    if (!this.closed) this.sock.connect(endpoint);
  }

  /** Stop receiving from a publisher connected before. */
  disconnect(endpoint: string): void {
    if (this.closed) return;
    try {
      this.sock.disconnect(endpoint);
    } catch {
      // Not connected (any more): nothing to undo.
    }
  }

  /** Close the socket; a running iteration ends. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.limited?.close();
    this.sock.close();
  }
}
