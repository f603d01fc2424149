/**
 * Deletes served files `remove_delay` seconds after a push or ack. The
 * schedule is written to a state file on every change, so a restart neither
 * forgets a deletion nor runs one early: on start, pending ones are re-armed
 * for their original due time (overdue ones run at once).
 */
import { mkdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Logger } from "../log.js";

export interface DeleterOptions {
  /** JSON file holding the schedule; omit to keep it in memory only. */
  stateFile?: string;
  log: Logger;
  /** Injected clock and timers for tests (defaults: Date.now, setTimeout). */
  now?: () => number;
  onDeleted?: (path: string) => void;
}

interface Entry {
  path: string;
  due: number;
  timer?: NodeJS.Timeout;
}

export class Deleter {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private saving: Promise<void> = Promise.resolve();
  private dirty = false;
  private closed = false;

  constructor(private readonly opts: DeleterOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Load a persisted schedule and arm it. */
  async start(): Promise<void> {
    if (this.opts.stateFile === undefined) return;
    let saved: { path: string; due: number }[] = [];
    try {
      saved = JSON.parse(await readFile(this.opts.stateFile, "utf8")) as typeof saved;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") this.opts.log.warn({ err, file: this.opts.stateFile }, "deletion schedule unreadable");
    }
    for (const e of Array.isArray(saved) ? saved : []) {
      if (typeof e?.path === "string" && typeof e.due === "number") this.arm({ path: e.path, due: e.due });
    }
    if (this.entries.size > 0) this.opts.log.info({ pending: this.entries.size }, "deletion schedule restored");
  }

  /** Delete `path` after `delaySeconds` (a later call for the same path moves it). */
  schedule(path: string, delaySeconds: number): void {
    if (this.closed) return;
    const old = this.entries.get(path);
    if (old !== undefined) clearTimeout(old.timer);
    this.arm({ path, due: this.now() + delaySeconds * 1000 });
    this.persist();
  }

  /** Paths waiting for deletion. */
  get pending(): number {
    return this.entries.size;
  }

  has(path: string): boolean {
    return this.entries.has(path);
  }

  private arm(entry: Entry): void {
    const wait = Math.max(0, entry.due - this.now());
    entry.timer = setTimeout(() => void this.fire(entry), wait);
    entry.timer.unref?.();
    this.entries.set(entry.path, entry);
  }

  private async fire(entry: Entry): Promise<void> {
    if (this.entries.get(entry.path) !== entry) return;
    this.entries.delete(entry.path);
    try {
      await unlink(entry.path);
      this.opts.log.info({ path: entry.path }, "file deleted");
      this.opts.onDeleted?.(entry.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") this.opts.log.warn({ err, path: entry.path }, "delete failed");
    }
    this.persist();
  }

  /** Write the schedule (coalesced: at most one write in flight, one queued). */
  private persist(): void {
    const file = this.opts.stateFile;
    if (file === undefined) return;
    if (this.dirty) return;
    this.dirty = true;
    this.saving = this.saving.then(async () => {
      this.dirty = false;
      const body = JSON.stringify([...this.entries.values()].map((e) => ({ path: e.path, due: e.due })));
      const tmp = `${file}.tmp`;
      try {
        await mkdir(dirname(file), { recursive: true });
        await writeFile(tmp, body);
        await rename(tmp, file);
      } catch (err) {
        this.opts.log.error({ err, file }, "deletion schedule not saved");
        await unlink(tmp).catch(() => undefined);
      }
    });
  }

  /** Stop timers and flush the schedule to disk; nothing is forgotten. */
  async close(): Promise<void> {
    if (this.closed) return this.saving;
    this.closed = true;
    for (const e of this.entries.values()) clearTimeout(e.timer);
    this.dirty = false;
    this.persist();
    await this.saving;
  }
}
