/**
 * One transfer per (file, destination) at a time: a second identical push
 * while the first is in flight waits for the same result instead of
 * starting another copy (docs/guarantees.md).
 */
export class TransferJoiner {
  private readonly inflight = new Map<string, Promise<unknown>>();

  /** Run `task` unless the same key is running; `joined` tells which. `onJoin` runs the moment a call joins. */
  async run<T>(
    key: string,
    task: () => Promise<T>,
    onJoin?: () => void,
  ): Promise<{ result: T; joined: boolean }> {
    const running = this.inflight.get(key) as Promise<T> | undefined;
    if (running !== undefined) {
      onJoin?.();
      return { result: await running, joined: true };
    }
    const p = task();
    this.inflight.set(key, p);
    try {
      return { result: await p, joined: false };
    } finally {
      this.inflight.delete(key);
    }
  }

  get size(): number {
    return this.inflight.size;
  }
}
