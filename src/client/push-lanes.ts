/**
 * How many pushes may be in flight toward one server (request address) at
 * once. A move_it server says so in every `pong`
 * (`"move_it": {"max_concurrent_pushes": N}`); a server that says nothing,
 * the Python one, gets one push at a time: its request threads share one
 * cached connection per destination host, and concurrent pushes to an FTP
 * host fail there (`err 200 Type set to: Binary.`).
 *
 * An address starts at one push. Every pong heard from it (the reachability
 * ping, the pings that check on a running push) sets its limit. A push that
 * has to wait while the limit was never learnt, or was learnt more than
 * `ttlMs` ago, makes one shared `ask` (a ping); so does a push that starts
 * on a stale limit, so a server replaced by another kind is noticed. An
 * unanswered ask leaves the limit where it was and may be retried after
 * `retryMs`.
 */

export interface PushLanesOptions {
  /** Ping `address`; resolve with what its pong advertises (undefined: nothing, i.e. one), reject when unanswered. */
  ask: (address: string, subject: string) => Promise<number | undefined>;
  /** A learnt limit is asked again after this long, ms (default 60 s). */
  ttlMs?: number;
  /** After an unanswered ask, ask again no sooner than this, ms (default 5 s). */
  retryMs?: number;
  /** Ends every wait (with its reason) when aborted. */
  signal: AbortSignal;
  /** Told once per address and limit change (for the log). */
  onLimit?: (address: string, limit: number) => void;
  now?: () => number;
}

interface Lane {
  limit: number;
  /** When the limit was last set by a pong (0: never). */
  learntAt: number;
  /** When an ask last went out (0: never). */
  askedAt: number;
  asking: boolean;
  active: number;
  /** Waiting pushes, first come first served. */
  waiters: (() => void)[];
  /** Waiters woken for a free slot that have not run yet (they count against the limit). */
  woken: number;
  /** The limit last reported through onLimit. */
  reported: number | undefined;
}

/** See the module comment. */
export class PushLanes {
  private readonly lanes = new Map<string, Lane>();
  private readonly now: () => number;
  private readonly ttlMs: number;
  private readonly retryMs: number;

  constructor(private readonly opts: PushLanesOptions) {
    this.now = opts.now ?? Date.now;
    this.ttlMs = opts.ttlMs ?? 60_000;
    this.retryMs = opts.retryMs ?? 5_000;
    // One listener for every waiter, not one each.
    opts.signal.addEventListener(
      "abort",
      () => {
        for (const lane of this.lanes.values())
          for (const w of lane.waiters.splice(0)) w();
      },
      { once: true },
    );
  }

  /** The limit applied to `address` now. */
  limit(address: string): number {
    return this.lanes.get(address)?.limit ?? 1;
  }

  /** A pong from `address` advertised `advertised` (undefined: nothing, so one at a time). */
  told(address: string, advertised: number | undefined): void {
    const lane = this.lane(address);
    const limit =
      advertised !== undefined &&
      Number.isInteger(advertised) &&
      advertised >= 1
        ? advertised
        : 1;
    lane.limit = limit;
    lane.learntAt = this.now();
    if (lane.reported !== limit) {
      lane.reported = limit;
      this.opts.onLimit?.(address, limit);
    }
    this.wake(lane);
  }

  /** Run `task` once `address` has a free push slot (`subject`: of the ping, if one asks); waiters leave with the signal's reason when it aborts. */
  async use<T>(
    address: string,
    subject: string,
    task: () => Promise<T>,
  ): Promise<T> {
    const { signal } = this.opts;
    const lane = this.lane(address);
    // A newcomer queues behind those already waiting; a waiter woken too late (the slot taken) goes back to the front.
    for (
      let first = true;
      lane.active + lane.woken >= lane.limit ||
      (first && lane.waiters.length > 0);
      first = false
    ) {
      signal.throwIfAborted();
      this.maybeAsk(address, subject, lane);
      await new Promise<void>((resolve) =>
        first ? lane.waiters.push(resolve) : lane.waiters.unshift(resolve),
      );
      // Woken for a slot (or by the abort, which wakes everyone): no longer on the way.
      if (lane.woken > 0) lane.woken--;
    }
    signal.throwIfAborted();
    this.maybeAsk(address, subject, lane);
    lane.active++;
    try {
      return await task();
    } finally {
      lane.active--;
      this.wake(lane);
    }
  }

  private lane(address: string): Lane {
    let lane = this.lanes.get(address);
    if (lane === undefined) {
      lane = {
        limit: 1,
        learntAt: 0,
        askedAt: 0,
        asking: false,
        active: 0,
        waiters: [],
        woken: 0,
        reported: undefined,
      };
      this.lanes.set(address, lane);
    }
    return lane;
  }

  /** Ask the server its limit when it is unknown or stale, one ask at a time, not too often. */
  private maybeAsk(address: string, subject: string, lane: Lane): void {
    const now = this.now();
    const stale =
      lane.learntAt === 0 ? lane.active > 0 : now - lane.learntAt > this.ttlMs;
    if (!stale || lane.asking || now - lane.askedAt < this.retryMs) return;
    lane.asking = true;
    lane.askedAt = now;
    this.opts.ask(address, subject).then(
      (advertised) => {
        lane.asking = false;
        this.told(address, advertised);
      },
      () => {
        lane.asking = false;
        // Unanswered: the limit stays; a waiter asks again after retryMs (woken by the next push ending).
        this.wake(lane);
      },
    );
  }

  /**
   * Wake as many waiters as there are free slots, oldest first. (Waking them
   * all made a burst quadratic: with 1000 files queued behind one server,
   * every push that ended woke 1000 waiters to find one slot.)
   */
  private wake(lane: Lane): void {
    while (lane.waiters.length > 0 && lane.active + lane.woken < lane.limit) {
      lane.woken++;
      lane.waiters.shift()!();
    }
  }
}
