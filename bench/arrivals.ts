/**
 * When files appear at the destination. Every mover renames a finished file
 * into place, so the first inotify event naming a file (not a dot-named
 * temporary) is the moment it became complete there; that event's time in
 * this process is the arrival time. A directory scan, once events have
 * stalled for a second, backs them up: a file found by the scan but never
 * reported counts as arrived when found, and is counted as `missedEvents`.
 */
import { existsSync, watch, type FSWatcher } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { sleep } from "./procs.js";

export class Arrivals {
  private readonly seen = new Map<string, number>();
  private readonly fsw: FSWatcher;
  /** Files found by the backup scan rather than by an event. */
  missedEvents = 0;

  constructor(readonly dir: string) {
    this.fsw = watch(dir, { persistent: false }, (_event, name) => {
      if (name === null || name.startsWith(".")) return;
      if (!this.seen.has(name)) this.seen.set(name, performance.now());
    });
    this.fsw.on("error", () => undefined);
  }

  /** Arrival time of `name` (performance.now() clock), if it arrived. */
  at(name: string): number | undefined {
    return this.seen.get(name);
  }

  /** Forget what was seen (between runs, keeps memory flat in long runs). */
  clear(): void {
    this.seen.clear();
  }

  /**
   * Wait until every name in `names` has arrived, or until `timeoutMs` passes
   * without any new arrival (or `isAlive` says a peer died). Returns the
   * names still missing.
   */
  async waitFor(
    names: readonly string[],
    timeoutMs: number,
    isAlive: () => boolean = () => true,
  ): Promise<string[]> {
    let missing = names.filter((n) => !this.seen.has(n));
    let lastProgress = performance.now();
    let lastScan = lastProgress;
    while (missing.length > 0) {
      await sleep(missing.length > 50 ? 20 : 2);
      const now = performance.now();
      if (now - lastProgress > 1000 && now - lastScan > 1000) {
        this.scan(missing); // events stalled for a second: look for files whose event got lost
        lastScan = now;
      }
      const still = missing.filter((n) => !this.seen.has(n));
      if (still.length < missing.length) lastProgress = now;
      missing = still;
      if (now - lastProgress > timeoutMs || !isAlive()) break;
    }
    return missing;
  }

  private scan(names: readonly string[]): void {
    for (const n of names) {
      if (this.seen.has(n) || !existsSync(join(this.dir, n))) continue;
      this.seen.set(n, performance.now());
      this.missedEvents++;
    }
  }

  close(): void {
    this.fsw.close();
  }
}
