/**
 * Deletes served files `remove_delay` seconds after a push or ack. The
 * schedule lives in the server ledger (table `deletions`), so a restart
 * neither forgets a deletion nor runs one early, and a schedule of any size
 * costs one timer: the one for the earliest due time.
 *
 * A file a client still wants is kept: a push in flight, or a catch-up reply
 * naming it, postpones its deletion to now + remove_delay. On start, a
 * schedule left by an older move_it as `<chain>.deletions.json` is moved
 * into the ledger and the JSON file removed.
 */
import { readFile, unlink } from "node:fs/promises";
import { ClosedError } from "../errors.js";
import type { Logger } from "../log.js";
import type { ServerLedger } from "./ledger.js";

export interface DeleterOptions {
  chain: string;
  ledger: ServerLedger;
  log: Logger;
  /** The pre-ledger JSON schedule to migrate, if any. */
  legacyStateFile?: string;
  /** Injected clock for tests (default Date.now). */
  now?: () => number;
  /** A path is being served now: its deletion waits. */
  busy?: (path: string) => boolean;
  onDeleted?: (path: string) => void;
}

/** Longest single timer: re-check at least this often (also covers commits that were retried). */
const MAX_WAIT_MS = 60_000;

export class Deleter {
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Infinity;
  private running: Promise<void> | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: DeleterOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Migrate a legacy JSON schedule, then arm for the earliest due deletion. */
  async start(): Promise<void> {
    await this.migrate();
    const pending = this.pending;
    if (pending > 0)
      this.opts.log.info({ pending }, "deletion schedule restored");
    this.arm(this.opts.ledger.nextDue(this.opts.chain));
  }

  private async migrate(): Promise<void> {
    const file = this.opts.legacyStateFile;
    if (file === undefined) return;
    let saved: unknown;
    try {
      saved = JSON.parse(await readFile(file, "utf8"));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      this.opts.log.warn(
        { err, file },
        "old deletion schedule unreadable, left in place",
      );
      return;
    }
    let moved = 0;
    for (const e of Array.isArray(saved) ? (saved as unknown[]) : []) {
      const entry = e as { path?: unknown; due?: unknown } | null;
      if (typeof entry?.path !== "string" || typeof entry.due !== "number")
        continue;
      void this.opts.ledger.schedule(this.opts.chain, entry.path, entry.due);
      moved++;
    }
    this.opts.ledger.flush();
    await unlink(file);
    this.opts.log.info(
      { file, moved },
      "deletion schedule moved into the ledger",
    );
  }

  /**
   * Delete `path` after `delaySeconds` (a later call for the same path moves it).
   * Resolves once the schedule is committed (never rejects: a failed commit is retried by the ledger).
   */
  schedule(path: string, delaySeconds: number): Promise<void> {
    if (this.closed) throw new ClosedError("deleter closed");
    const due = this.now() + delaySeconds * 1000;
    const committed = this.opts.ledger
      .schedule(this.opts.chain, path, due)
      .catch(() => undefined);
    this.arm(due);
    return committed;
  }

  /** A client still wants `path`: keep it at least `delaySeconds` more if its deletion is scheduled. */
  postpone(path: string, delaySeconds: number): void {
    if (this.closed) return;
    void this.opts.ledger
      .postpone(this.opts.chain, path, this.now() + delaySeconds * 1000)
      .catch(() => undefined);
  }

  /** Deletions scheduled (committed). */
  get pending(): number {
    return this.opts.ledger.scheduledCount(this.opts.chain);
  }

  private arm(due: number | undefined): void {
    if (this.closed || due === undefined || due >= this.armedFor) return;
    clearTimeout(this.timer);
    this.armedFor = due;
    const wait = Math.min(MAX_WAIT_MS, Math.max(0, due - this.now()));
    this.timer = setTimeout(() => this.fire(), wait);
    this.timer.unref?.();
  }

  private fire(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    if (this.closed || this.running !== undefined) return;
    this.running = this.sweep()
      .catch((err: unknown) =>
        this.opts.log.error({ err }, "deletion sweep failed"),
      )
      .finally(() => {
        this.running = undefined;
        if (!this.closed)
          this.arm(
            this.opts.ledger.nextDue(this.opts.chain) ??
              this.now() + MAX_WAIT_MS,
          );
      });
  }

  private async sweep(): Promise<void> {
    const { chain, ledger, log } = this.opts;
    try {
      ledger.flush();
    } catch {
      // The base retries the commit; sweep what is committed.
    }
    for (;;) {
      const due = ledger.dueDeletions(chain, this.now());
      if (due.length === 0 || this.closed) return;
      const writes: Promise<void>[] = [];
      for (const { path } of due) {
        if (this.opts.busy?.(path) === true) {
          writes.push(ledger.postpone(chain, path, this.now() + 1000));
          continue;
        }
        try {
          await unlink(path);
          log.info({ path }, "file deleted");
          this.opts.onDeleted?.(path);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
            log.warn({ err, path }, "delete failed");
            writes.push(ledger.unschedule(chain, path));
            continue;
          }
        }
        writes.push(ledger.deleted(chain, path, this.now()));
      }
      await Promise.all(writes);
    }
  }

  /** Stop the timer; the schedule stays in the ledger. Every call returns the same promise. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      clearTimeout(this.timer);
      await this.running;
    })();
    return this.closing;
  }
}
