/**
 * The request socket of a server: a ZeroMQ ROUTER read by one loop. Each
 * request is handled concurrently; replies go out through one serialising
 * queue (a second concurrent send would fail with EBUSY).
 */
import * as zmq from "zeromq";
import type { Logger } from "../log.js";
import { SerialQueue } from "../util/serial.js";
import { secureBinding } from "./security.js";
import { bindSocket, endpointPort, releaseSocket } from "./binding.js";
import { MAX_FRAME_BYTES } from "./subscriber.js";

/** One incoming request: its payload and a short id of the peer connection. */
export interface IncomingRequest {
  payload: Buffer;
  peer: string;
}

/** Turns a request into the reply text. Must not throw: errors become replies. */
export type RequestHandler = (req: IncomingRequest) => Promise<string>;

export interface RouterOptions {
  bind: string;
  /** false: plaintext whatever the security settings (the nameserver's sockets). */
  secure?: boolean;
  log: Logger;
  handler: RequestHandler;
}

export class RouterSocket {
  // sendTimeout 0: a ROUTER (not mandatory) never blocks a reply, it drops one to a vanished peer; so
  // zeromq.js may skip its writability check (two system calls in libzmq) before each send.
  private readonly sock = new zmq.Router({
    linger: 1000,
    maxMessageSize: MAX_FRAME_BYTES,
    sendTimeout: 0,
  });
  private readonly replies = new SerialQueue();
  private readonly inflight = new Set<Promise<void>>();
  private loop: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private boundEndpoint = "";

  constructor(private readonly opts: RouterOptions) {
    if (opts.secure !== false) secureBinding(this.sock, "request");
  }

  /** Bind (on this thread: see binding.ts) and start reading; returns the bound endpoint. */
  async start(): Promise<string> {
    this.boundEndpoint = bindSocket(this.sock, this.opts.bind);
    this.loop = this.read();
    return this.boundEndpoint;
  }

  get endpoint(): string {
    return this.boundEndpoint;
  }

  get port(): number {
    return endpointPort(this.boundEndpoint);
  }

  /** Requests being handled now. */
  get pending(): number {
    return this.inflight.size;
  }

  private async read(): Promise<void> {
    for (;;) {
      let frames: Buffer[];
      try {
        frames = await this.sock.receive();
      } catch (err) {
        if (
          this.closing !== undefined ||
          (err as { code?: string }).code === "EAGAIN"
        )
          return;
        this.opts.log.error({ err }, "request socket failed");
        return;
      }
      this.dispatch(frames);
    }
  }

  private dispatch(frames: Buffer[]): void {
    const identity = frames[0];
    if (identity === undefined) return;
    // A REQ peer sends [identity, "", payload]; a DEALER may send [identity, payload].
    const delimited = frames.length >= 3 && frames[1]?.length === 0;
    const payload = (delimited ? frames[2] : frames[1]) ?? Buffer.alloc(0);
    const envelope = delimited ? [identity, Buffer.alloc(0)] : [identity];
    const peer = identity.toString("hex");
    const work = this.opts
      .handler({ payload, peer })
      .then((reply) =>
        this.replies.run(() => this.sock.send([...envelope, reply])),
      )
      .catch((err: unknown) =>
        this.opts.log.error({ err, peer }, "reply failed"),
      );
    this.inflight.add(work);
    void work.finally(() => this.inflight.delete(work));
  }

  /**
   * Stop reading, wait up to `drainMs` for requests in flight to be answered,
   * then close. Idempotent.
   */
  close(drainMs = 5000): Promise<void> {
    this.closing ??= (async () => {
      const all = Promise.allSettled([...this.inflight]);
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>(
        (resolve) => (timer = setTimeout(resolve, drainMs)),
      );
      await Promise.race([all, deadline]);
      clearTimeout(timer);
      await Promise.race([this.replies.idle(), deadline]);
      // Close, never unbind (binding.ts says why); the port is free when close() resolves, so a reload may rebind it.
      await releaseSocket(this.sock, this.boundEndpoint);
      await this.loop;
    })();
    return this.closing;
  }
}
