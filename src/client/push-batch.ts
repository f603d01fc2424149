/**
 * Pushes to one move_it server that become ready in the same turn of the
 * event loop go out as one `pushes` request (docs/protocol.md), when the
 * server's last pong said it takes them (`move_it.pushes`). In a burst that
 * is most of them: the "push sent" rows of several files commit together,
 * and the pushes of a batch end together, so the files waiting behind them
 * start together. One request then costs the client and the server one
 * round trip for several files instead of one each. A push alone in its
 * turn, and every push to a server that says nothing (the Python one), goes
 * as a plain `push`, at once.
 *
 * A batch is sent and waited for as one push (`pushAndWait`): its pings ask
 * about its first uid (the server counts every uid of a batch as running
 * until it answers), it keeps waiting while any of its files would (the
 * last hope of one), and when it is abandoned its REQ socket is closed, so no
 * part of it is carried out later. Each caller gets its own push's reply; a
 * failure of the batch is every caller's failure. An item the server did
 * not serve in the batch (`deferred`: a long or relayed file), and every item
 * of a batch a server refused as a whole (it no longer speaks `pushes`), is
 * sent again on its own: none of those was carried out.
 */
import { RemoteError } from "../errors.js";
import { Message } from "../message/index.js";
import { pushAndWait, type PushOptions } from "./push.js";

/** The reply type of an item the server did not serve in the batch. */
const DEFERRED = "deferred";
/** Replies that refuse a whole `pushes` request without carrying any of it out. */
const REFUSED = new Set(["err", "error", "unknown"]);

interface Queued {
  address: string;
  request: Message;
  opts: PushOptions;
  resolve: (reply: Message) => void;
  reject: (err: unknown) => void;
}

/** Counters for tests and metrics. */
export interface BatchStats {
  /** `pushes` requests sent. */
  batches: number;
  /** Pushes that went in them. */
  batched: number;
  /** Items sent again on their own after a `deferred`. */
  deferred: number;
}

export class PushBatcher {
  readonly stats: BatchStats = { batches: 0, batched: 0, deferred: 0 };
  /** Request address → items one `pushes` may carry, from its last pong (absent: plain pushes only). */
  private readonly limits = new Map<string, number>();
  /** Waiting for the end of the turn, by address, subject and group. */
  private readonly queues = new Map<string, Queued[]>();
  private scheduled = false;

  /** A pong from `address` said it takes `max` pushes a request (undefined: it does not speak `pushes`). */
  told(address: string, max: number | undefined): void {
    if (max !== undefined && max >= 2) this.limits.set(address, max);
    else this.limits.delete(address);
  }

  /**
   * Push `request` to `address` and wait for its reply, in a batch with the
   * other pushes of this turn to the same address, subject and `group` (the
   * caller's notion of "goes to the same place") when the server takes them.
   */
  push(
    address: string,
    request: Message,
    opts: PushOptions,
    group: string,
  ): Promise<Message> {
    if (!this.limits.has(address)) return pushAndWait(address, request, opts);
    return new Promise<Message>((resolve, reject) => {
      const key = `${address}\n${request.subject}\n${group}`;
      let queue = this.queues.get(key);
      if (queue === undefined) this.queues.set(key, (queue = []));
      queue.push({ address, request, opts, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      // After every promise job of this turn: the pushes released by one commit all get here first.
      setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    this.scheduled = false;
    const queues = [...this.queues.values()];
    this.queues.clear();
    for (const queue of queues) {
      const max = this.limits.get(queue[0]!.address) ?? 1;
      for (let i = 0; i < queue.length; i += max)
        this.send(queue.slice(i, i + max));
    }
  }

  private send(items: Queued[]): void {
    if (items.length === 1) {
      this.alone(items[0]!);
      return;
    }
    const first = items[0]!;
    const request = new Message(
      first.request.subject,
      "pushes",
      { pushes: items.map((item) => item.request.data ?? null) },
      { sender: first.request.sender, time: first.request.time },
    );
    this.stats.batches++;
    this.stats.batched += items.length;
    const opts: PushOptions = {
      ...first.opts,
      isAlive: () => items.some((item) => item.opts.isAlive?.() === true),
    };
    pushAndWait(first.address, request, opts).then(
      (reply) => this.answered(items, reply),
      (err: unknown) => {
        for (const item of items) item.reject(err);
      },
    );
  }

  private alone(item: Queued): void {
    pushAndWait(item.address, item.request, item.opts).then(
      item.resolve,
      item.reject,
    );
  }

  private answered(items: Queued[], reply: Message): void {
    if (REFUSED.has(reply.type)) {
      // Refused as a whole, so nothing in it ran: this server no longer takes batches.
      this.limits.delete(items[0]!.address);
      for (const item of items) this.alone(item);
      return;
    }
    const replies = reply.dataObject["replies"];
    if (
      reply.type !== "pushes" ||
      !Array.isArray(replies) ||
      replies.length !== items.length
    ) {
      const err = new RemoteError(
        `unexpected reply '${reply.type}' to ${items.length} pushes`,
        reply.type,
      );
      for (const item of items) item.reject(err);
      return;
    }
    items.forEach((item, i) => {
      const r = replies[i] as { type?: unknown; data?: unknown } | null;
      const type = typeof r?.type === "string" ? r.type : "";
      if (type === DEFERRED) {
        this.stats.deferred++;
        this.alone(item);
        return;
      }
      item.resolve(
        new Message(item.request.subject, type, r?.data as Message["data"], {
          sender: reply.sender,
          time: reply.time,
        }),
      );
    });
  }
}
