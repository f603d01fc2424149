/**
 * Watches the directory tree of an `origin` pattern and yields each matching
 * file once it is complete.
 *
 * On Linux with inotify-tools installed, events come from inotify's
 * IN_CLOSE_WRITE and IN_MOVED_TO (see inotify.ts), exactly what the
 * reference watches: a file counts the moment it is closed or moved in.
 *
 * Otherwise (and with polling, for NFS) chokidar is used. It reports
 * creation and modification but not "closed after write", so a file moved
 * into place is recognised at once when
 * the rename changed its ctime after its last write (ctime > mtime). A file
 * written in place is yielded once it has been quiet (no change, same size
 * and mtime) for `settleMs` (a file found already that quiet, e.g. the
 * backlog, counts at once). Empty files are never yielded.
 *
 * Watch health: the watched root directory (the fixed part of `origin`) is
 * checked every second. Missing at start, it is waited for (with a warning)
 * and watched as soon as it appears; deleted, recreated or remounted (another
 * device or inode) while running, the watch is set up again without a
 * restart, and the files then in it are yielded as `rescan` events. Every
 * `rescanInterval` seconds the whole tree is walked and its files yielded as
 * `rescan` events too (events missed, NFS): the consumer skips those it has
 * announced already.
 */
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { watch, type FSWatcher } from "chokidar";
import type { Logger } from "../log.js";
import { validate } from "../pattern/index.js";
import { AsyncQueue } from "../util/async-queue.js";
import { statBig } from "../util/local-fs.js";
import { InotifySource, inotifyAvailable } from "./inotify.js";

/** Why a file is yielded: a live event, the backlog at start, or a scan (reconcile, or a re-established watch). */
export type FileEventReason = "live" | "backlog" | "rescan";

export interface FileEvent {
  path: string;
  size: number;
  mtimeNs: bigint;
  ino: bigint;
  reason: FileEventReason;
}

export interface WatcherOptions {
  /** The origin pattern (directory and file name). */
  origin: string;
  /** Poll instead of OS events (NFS); interval in seconds. */
  polling: boolean;
  pollInterval: number;
  /** Yield files already there at start. */
  backlog: boolean;
  /** Quiet time before a file written in place counts as complete (ms). */
  settleMs: number;
  log: Logger;
  /** Use inotify when available (default true); false forces chokidar. */
  inotify?: boolean;
  /** Seconds between reconcile scans (0 or undefined: none). */
  rescanInterval?: number;
  /** How often the root directory's presence and identity are checked, ms (default 1000). */
  healthIntervalMs?: number;
}

/** The directory part of a pattern before its first field or wildcard. */
export function watchRoot(origin: string): string {
  const firstSpecial = origin.search(/[{*?[]/);
  const fixed = firstSpecial < 0 ? origin : origin.slice(0, firstSpecial);
  const slash = fixed.lastIndexOf("/");
  return slash <= 0 ? "/" : fixed.slice(0, slash);
}

/** Signatures remembered to skip repeats cheaply; the ledger is what really knows. */
const EMITTED_LIMIT = 10_000;

interface Pending {
  timer: NodeJS.Timeout;
  size: bigint;
  mtime: bigint;
  reason: FileEventReason;
}

/** A directory's identity: another one means it was recreated or remounted. */
async function identity(path: string): Promise<string | undefined> {
  return stat(path, { bigint: true }).then(
    (s) => (s.isDirectory() ? `${s.dev}:${s.ino}` : undefined),
    () => undefined,
  );
}

export class Watcher implements AsyncIterable<FileEvent> {
  private readonly queue = new AsyncQueue<FileEvent>();
  private readonly pending = new Map<string, Pending>();
  /** What each path looked like when yielded: an event for the same file unchanged is not yielded again. */
  private readonly emitted = new Map<string, string>();
  private fsw: FSWatcher | undefined;
  private inotify: InotifySource | undefined;
  private closed = false;
  /** Identity of the root directory being watched; undefined while it is missing. */
  private rootId: string | undefined;
  private health: NodeJS.Timeout | undefined;
  private rescanTimer: NodeJS.Timeout | undefined;
  private healing = false;
  private scanning = false;
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: WatcherOptions) {}

  /** Start watching; resolves when the initial scan is done (backlog queued), or at once with a warning if the root is missing. */
  async start(): Promise<void> {
    const root = watchRoot(this.opts.origin);
    const id = await identity(root);
    if (id === undefined)
      this.opts.log.warn(
        { root, origin: this.opts.origin },
        "origin directory missing, waiting for it",
      );
    else await this.attach(id, this.opts.backlog ? "backlog" : undefined);
    this.health = setInterval(
      () => void this.checkHealth(),
      this.opts.healthIntervalMs ?? 1000,
    );
    this.health.unref();
    const every = this.opts.rescanInterval ?? 0;
    if (every > 0) {
      this.rescanTimer = setInterval(() => void this.rescan(), every * 1000);
      this.rescanTimer.unref();
    }
  }

  /** Watch the root (identity `id`); yield what is there already as `initial` events, if given. */
  private async attach(
    id: string,
    initial: FileEventReason | undefined,
  ): Promise<void> {
    const root = watchRoot(this.opts.origin);
    const depth = this.depth();
    this.rootId = id;
    if (
      !this.opts.polling &&
      this.opts.inotify !== false &&
      inotifyAvailable()
    ) {
      const source = new InotifySource({
        root,
        log: this.opts.log,
        onFile: (p) => this.complete(p),
      });
      this.inotify = source;
      await source.start();
      if (this.closed) return this.detach();
      if (initial !== undefined)
        for (const p of await walk(root, depth))
          this.consider(p, true, initial);
      this.opts.log.debug({ root, depth, using: "inotify" }, "watching");
      return;
    }
    let scanning = true;
    const fsw = watch(root, {
      ignoreInitial: initial === undefined,
      usePolling: this.opts.polling,
      interval: Math.max(10, this.opts.pollInterval * 1000),
      binaryInterval: Math.max(10, this.opts.pollInterval * 1000),
      depth: /\*\*/.test(this.opts.origin) ? undefined : depth,
      persistent: true,
    });
    this.fsw = fsw;
    fsw.on("add", (p: string) =>
      this.consider(
        p,
        true,
        scanning && initial !== undefined ? initial : "live",
      ),
    );
    fsw.on("change", (p: string) => this.consider(p, false, "live"));
    fsw.on("unlink", (p: string) => this.forget(p));
    fsw.on("error", (err: unknown) =>
      this.opts.log.warn({ err, root }, "watch error"),
    );
    await new Promise<void>((resolve) => fsw.once("ready", () => resolve()));
    scanning = false;
    if (this.closed) return this.detach();
    this.opts.log.debug(
      { root, depth, using: this.opts.polling ? "polling" : "chokidar" },
      "watching",
    );
  }

  private async detach(): Promise<void> {
    this.rootId = undefined;
    this.inotify?.close();
    this.inotify = undefined;
    const fsw = this.fsw;
    this.fsw = undefined;
    await fsw?.close();
  }

  private depth(): number {
    const root = watchRoot(this.opts.origin);
    return this.opts.origin.slice(root.length + 1).split("/").length - 1;
  }

  /** Notice a root that appeared, vanished, or was replaced by another directory (recreated, remounted). */
  private async checkHealth(): Promise<void> {
    if (this.closed || this.healing) return;
    this.healing = true;
    try {
      const root = watchRoot(this.opts.origin);
      const id = await identity(root);
      if (id === this.rootId || this.closed) return;
      const was = this.rootId;
      if (was !== undefined) await this.detach();
      if (id === undefined) {
        this.opts.log.warn({ root }, "origin directory gone, waiting for it");
        return;
      }
      this.opts.log.info(
        { root, replaced: was !== undefined },
        was === undefined
          ? "origin directory appeared, watching"
          : "origin directory replaced, watching again",
      );
      await this.attach(id, "rescan");
    } catch (err) {
      this.rootId = undefined;
      this.opts.log.warn({ err }, "watch not re-established, retrying");
    } finally {
      this.healing = false;
    }
  }

  /** Yield every matching file of the tree as a `rescan` event (the consumer skips what it announced). */
  private async rescan(): Promise<void> {
    if (this.closed || this.rootId === undefined || this.scanning) return;
    this.scanning = true;
    try {
      const files = await walk(watchRoot(this.opts.origin), this.depth());
      for (const p of files) this.consider(p, false, "rescan");
      this.opts.log.debug({ files: files.length }, "rescan done");
    } finally {
      this.scanning = false;
    }
  }

  /** inotify said the file is complete (closed after write, or moved in). */
  private complete(path: string): void {
    if (this.closed || !validate(this.opts.origin, path)) return;
    this.forgetPending(path);
    void statBig(path)
      .then((st) => st.isFile() && st.size > 0n && this.emit(path, st, "live"))
      .catch((err: unknown) =>
        this.opts.log.debug({ err, path }, "file vanished"),
      );
  }

  [Symbol.asyncIterator](): AsyncIterator<FileEvent> {
    return this.queue[Symbol.asyncIterator]();
  }

  private consider(
    path: string,
    added: boolean,
    reason: FileEventReason,
  ): void {
    if (this.closed || !validate(this.opts.origin, path)) return;
    void this.check(path, added, reason).catch((err: unknown) =>
      this.opts.log.debug({ err, path }, "file vanished"),
    );
  }

  private async check(
    path: string,
    added: boolean,
    reason: FileEventReason,
  ): Promise<void> {
    const st = await statBig(path);
    const old = this.pending.get(path);
    // A scan never overrides a live event already waiting for the file to settle.
    if (old !== undefined && reason === "rescan") return;
    if (old !== undefined) clearTimeout(old.timer);
    this.pending.delete(path);
    if (!st.isFile() || st.size === 0n || this.closed) return;
    const quietMs = Number(BigInt(Date.now()) * 1_000_000n - st.mtimeNs) / 1e6;
    if ((added && st.ctimeNs > st.mtimeNs) || quietMs >= this.opts.settleMs) {
      this.emit(path, st, reason);
      return;
    }
    const timer = setTimeout(
      () => void this.settled(path).catch(() => this.pending.delete(path)),
      this.opts.settleMs,
    );
    this.pending.set(path, { timer, size: st.size, mtime: st.mtimeNs, reason });
  }

  private async settled(path: string): Promise<void> {
    const before = this.pending.get(path);
    if (before === undefined) return;
    const st = await statBig(path);
    if (this.pending.get(path) !== before) return;
    if (st.size === before.size && st.mtimeNs === before.mtime) {
      this.pending.delete(path);
      if (st.size > 0n) this.emit(path, st, before.reason);
      return;
    }
    before.size = st.size;
    before.mtime = st.mtimeNs;
    before.timer = setTimeout(
      () => void this.settled(path).catch(() => this.pending.delete(path)),
      this.opts.settleMs,
    );
  }

  private emit(
    path: string,
    st: { size: bigint; mtimeNs: bigint; ino: bigint },
    reason: FileEventReason,
  ): void {
    const signature = `${st.ino}:${st.size}:${st.mtimeNs}`;
    if (this.closed || this.emitted.get(path) === signature) return;
    this.emitted.delete(path);
    this.emitted.set(path, signature);
    if (this.emitted.size > EMITTED_LIMIT)
      this.emitted.delete(this.emitted.keys().next().value!);
    this.queue.push({
      path,
      size: Number(st.size),
      mtimeNs: st.mtimeNs,
      ino: st.ino,
      reason,
    });
  }

  private forget(path: string): void {
    this.emitted.delete(path);
    this.forgetPending(path);
  }

  private forgetPending(path: string): void {
    const p = this.pending.get(path);
    if (p !== undefined) clearTimeout(p.timer);
    this.pending.delete(path);
  }

  /** Stop watching; the iteration ends after what is queued. Every call returns the same promise. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      clearInterval(this.health);
      clearInterval(this.rescanTimer);
      for (const p of this.pending.values()) clearTimeout(p.timer);
      this.pending.clear();
      this.queue.close();
      this.inotify?.close();
      await this.fsw?.close();
    })();
    return this.closing;
  }
}

/** Files under `root` at most `depth` directories down (the backlog). */
async function walk(root: string, depth: number): Promise<string[]> {
  const out: string[] = [];
  const visit = async (dir: string, level: number): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isFile()) out.push(p);
      else if (e.isDirectory() && level < depth) await visit(p, level + 1);
    }
  };
  await visit(root, 0);
  return out;
}
