/**
 * Per-key rate limiting for repeated events (a flood of bad frames from one
 * peer, a provider that stays dead). Each key gets `burst` events per window;
 * the rest are counted, and when the window ends one summary reports how many
 * were suppressed and the last of them. Timers are unref'd: a limiter never
 * keeps a process alive.
 */

export interface RateLimitOptions {
  /** Events let through per key in one window (default 5). */
  burst?: number;
  /** Window length in ms, from the key's first event (default 60 000). */
  windowMs?: number;
  /** Keys tracked at once (default 1000); a new key beyond that ends the oldest key's window early. */
  maxKeys?: number;
}

/** Called when a window ends with events suppressed in it. */
export type SummaryHandler<T> = (
  key: string,
  suppressed: number,
  last: T,
) => void;

interface Window<T> {
  passed: number;
  suppressed: number;
  last: T | undefined;
  timer: NodeJS.Timeout;
}

export class RateLimiter<T = unknown> {
  readonly burst: number;
  readonly windowMs: number;
  readonly maxKeys: number;
  private readonly windows = new Map<string, Window<T>>();
  private total = 0;

  constructor(
    private readonly onSummary: SummaryHandler<T>,
    opts: RateLimitOptions = {},
  ) {
    this.burst = positive("burst", opts.burst ?? 5);
    this.windowMs = positive("windowMs", opts.windowMs ?? 60_000);
    this.maxKeys = positive("maxKeys", opts.maxKeys ?? 1000);
  }

  /** True: let this event through. False: it was counted as suppressed (`item` kept for the summary). */
  allow(key: string, item: T): boolean {
    let w = this.windows.get(key);
    if (w === undefined) {
      if (this.windows.size >= this.maxKeys)
        this.end(this.windows.keys().next().value!);
      w = {
        passed: 0,
        suppressed: 0,
        last: undefined,
        timer: setTimeout(() => this.end(key), this.windowMs),
      };
      w.timer.unref();
      this.windows.set(key, w);
    }
    if (w.passed < this.burst) {
      w.passed++;
      return true;
    }
    w.suppressed++;
    w.last = item;
    this.total++;
    return false;
  }

  /** Events suppressed since the limiter was made. */
  get suppressed(): number {
    return this.total;
  }

  /** Keys with an open window. */
  get keys(): number {
    return this.windows.size;
  }

  /** End every window now (summaries included) and stop the timers. */
  close(): void {
    for (const key of [...this.windows.keys()]) this.end(key);
  }

  private end(key: string): void {
    const w = this.windows.get(key);
    if (w === undefined) return;
    clearTimeout(w.timer);
    this.windows.delete(key);
    if (w.suppressed > 0) this.onSummary(key, w.suppressed, w.last as T);
  }
}

function positive(name: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0)
    throw new RangeError(
      `rate limit ${name} must be a positive number, got ${v}`,
    );
  return v;
}
