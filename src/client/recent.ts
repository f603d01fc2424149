/**
 * A bounded set of recently seen keys: adding beyond the capacity forgets
 * the least recently added one, so memory stays flat however long the
 * client runs (the reference keeps a deque of 11000 uids).
 */
export class RecentSet {
  private readonly keys = new Set<string>();

  constructor(private readonly capacity: number) {
    if (!(capacity >= 1))
      throw new RangeError(`capacity must be at least 1, got ${capacity}`);
  }

  /** Add (or refresh) a key. */
  add(key: string): void {
    this.keys.delete(key);
    this.keys.add(key);
    while (this.keys.size > this.capacity) {
      const oldest = this.keys.values().next();
      if (oldest.done === true) break;
      this.keys.delete(oldest.value);
    }
  }

  /** True if the key is remembered. */
  has(key: string): boolean {
    return this.keys.has(key);
  }

  /** Forget a key; true if it was there. */
  delete(key: string): boolean {
    return this.keys.delete(key);
  }

  /** Keys remembered now. */
  get size(): number {
    return this.keys.size;
  }
}
