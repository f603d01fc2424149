/**
 * What a `pong` tells a move_it client beyond the reference's `station`:
 * which process answers (an id drawn once per process start, so a client
 * sees a restart) and whether a push of a given uid is running here now.
 */
import { randomBytes } from "node:crypto";

/** Random hex drawn once when the process starts. */
export const SERVER_INSTANCE = randomBytes(8).toString("hex");

/** The uids of the pushes a chain is serving now (counted: two pushes of one uid may overlap). */
export class RunningPushes {
  private readonly counts = new Map<string, number>();

  /** Mark `uids` running while `task` runs. */
  async around<T>(uids: readonly string[], task: () => Promise<T>): Promise<T> {
    for (const u of uids) this.counts.set(u, (this.counts.get(u) ?? 0) + 1);
    try {
      return await task();
    } finally {
      for (const u of uids) {
        const n = (this.counts.get(u) ?? 1) - 1;
        if (n <= 0) this.counts.delete(u);
        else this.counts.set(u, n);
      }
    }
  }

  has(uid: string): boolean {
    return this.counts.has(uid);
  }

  get size(): number {
    return this.counts.size;
  }
}
