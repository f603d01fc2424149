/**
 * Requests to a server's ROUTER socket, as a REQ peer (what the Python
 * client is). REQ sockets are pooled per address so a burst of requests
 * does not open a TCP connection each; a socket whose request timed out or
 * failed is closed, since its REQ state machine is then stuck.
 */
import * as zmq from "zeromq";
import { ClosedError, RequestTimeoutError } from "../errors.js";
import { Message } from "../message/index.js";
import { secureConnecting } from "./security.js";
import { MAX_FRAME_BYTES } from "./subscriber.js";

export interface RequestOptions {
  /** Give up after this many milliseconds. */
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface ZmqRequesterOptions {
  /**
   * TCP_USER_TIMEOUT of every connection, ms: unacknowledged bytes are
   * dropped (the connection reset) after this long. Keep it at most the time
   * after which a caller gives up on a request, so a request abandoned on a
   * cut link cannot sit in a kernel send buffer and be delivered, and carried
   * out, when the link heals.
   */
  maxRetransmitMs?: number;
}

/** Sends one request and resolves with the reply. Narrow, so tests can fake it. */
export interface Requester {
  request(
    address: string,
    msg: Message,
    opts: RequestOptions,
  ): Promise<Message>;
  close(): void;
}

const MAX_IDLE_PER_ADDRESS = 16;

/** `host:port` → `tcp://host:port`. */
export function toEndpoint(address: string): string {
  return address.startsWith("tcp://") ? address : `tcp://${address}`;
}

export class ZmqRequester implements Requester {
  private readonly idle = new Map<string, zmq.Request[]>();
  private readonly busy = new Set<zmq.Request>();
  private closed = false;
  private readonly timeouts = new WeakMap<zmq.Request, number>();

  constructor(private readonly opts: ZmqRequesterOptions = {}) {}

  async request(
    address: string,
    msg: Message,
    opts: RequestOptions,
  ): Promise<Message> {
    if (this.closed) throw new ClosedError("requester closed");
    const endpoint = toEndpoint(address);
    const sock = this.take(endpoint);
    this.busy.add(sock);
    let reusable = false;
    const onAbort = (): void => sock.close();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      opts.signal?.throwIfAborted();
      if (this.timeouts.get(sock) !== opts.timeoutMs) {
        // Setting a socket option is a native call: only when it changes.
        sock.receiveTimeout = opts.timeoutMs;
        this.timeouts.set(sock, opts.timeoutMs);
      }
      await sock.send(msg.encode());
      const [frame] = await sock.receive();
      reusable = true;
      return Message.decode(frame ?? Buffer.alloc(0));
    } catch (err) {
      opts.signal?.throwIfAborted();
      if ((err as { code?: string }).code === "EAGAIN") {
        throw new RequestTimeoutError(
          `no reply from ${address} within ${opts.timeoutMs} ms`,
          { cause: err },
        );
      }
      throw err;
    } finally {
      opts.signal?.removeEventListener("abort", onAbort);
      this.busy.delete(sock);
      this.give(endpoint, sock, reusable);
    }
  }

  private take(endpoint: string): zmq.Request {
    const pool = this.idle.get(endpoint);
    const sock = pool?.pop();
    if (sock !== undefined && !sock.closed) return sock;
    return this.connect(endpoint);
  }

  private connect(endpoint: string): zmq.Request {
    // sendTimeout 0: with `immediate: false` the connection's pipe exists from connect() on, so a REQ's
    // one message never waits to be queued; zeromq.js then skips its writability check (two system
    // calls in libzmq) before each send. The request's time bound is the receive timeout.
    const sock = new zmq.Request({
      linger: 0,
      maxMessageSize: MAX_FRAME_BYTES,
      immediate: false,
      sendTimeout: 0,
    });
    if (this.opts.maxRetransmitMs !== undefined)
      sock.tcpMaxRetransmitTimeout = this.opts.maxRetransmitMs;
    secureConnecting(sock, "request");
    sock.connect(endpoint);
    return sock;
  }

  private give(endpoint: string, sock: zmq.Request, reusable: boolean): void {
    const pool = this.idle.get(endpoint) ?? [];
    if (
      !reusable ||
      this.closed ||
      sock.closed ||
      pool.length >= MAX_IDLE_PER_ADDRESS
    ) {
      if (!sock.closed) sock.close();
      return;
    }
    pool.push(sock);
    this.idle.set(endpoint, pool);
  }

  /** Close idle sockets and abort nothing in flight (their callers own those). */
  close(): void {
    this.closed = true;
    for (const pool of this.idle.values())
      for (const s of pool) if (!s.closed) s.close();
    this.idle.clear();
    for (const s of this.busy) if (!s.closed) s.close();
  }
}
