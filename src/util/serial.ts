/**
 * Runs async tasks one after another. zeromq sockets allow one `send()` in
 * flight at a time (a second one fails with EBUSY), so every socket that is
 * written from several places goes through one of these.
 */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;

  /** Queue a task; the returned promise settles with it. */
  run<T>(task: () => Promise<T>): Promise<T> {
    this.pending++;
    const result = this.tail.then(task);
    this.tail = result.then(
      () => this.done(),
      () => this.done(),
    );
    return result;
  }

  /** Tasks queued or running. */
  get size(): number {
    return this.pending;
  }

  /** Resolves once everything queued so far has settled. */
  async idle(): Promise<void> {
    await this.tail;
  }

  private done(): void {
    this.pending--;
  }
}

/**
 * Limits how many async tasks run at once; the rest wait in FIFO order.
 * `resize()` changes the limit in place: a larger one starts waiting tasks
 * at once, a smaller one lets running tasks finish and starts no more until
 * fewer than the new limit run.
 */
export class Semaphore {
  private active = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(private limit: number) {}

  async use<T>(task: () => Promise<T>): Promise<T> {
    // A waiter woken by a release holds the slot the release freed: no check again, no overtaking.
    if (this.active >= this.limit || this.waiters.length > 0)
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    else this.active++;
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  /** Change the limit (at least 1). */
  resize(limit: number): void {
    this.limit = Math.max(1, limit);
    this.wake();
  }

  private release(): void {
    this.active--;
    this.wake();
  }

  /** Hand free slots to waiters, first first. */
  private wake(): void {
    while (this.active < this.limit && this.waiters.length > 0) {
      this.active++;
      this.waiters.shift()!();
    }
  }

  /** Tasks queued behind the limit (tests check the queue with it). */
  get waiting(): number {
    return this.waiters.length;
  }
}
