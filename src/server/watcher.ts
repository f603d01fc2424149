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
 */
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { watch, type FSWatcher } from "chokidar";
import type { Logger } from "../log.js";
import { validate } from "../pattern/index.js";
import { AsyncQueue } from "../util/async-queue.js";
import { InotifySource, inotifyAvailable } from "./inotify.js";

export interface FileEvent {
  path: string;
  size: number;
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
}

/** The directory part of a pattern before its first field or wildcard. */
export function watchRoot(origin: string): string {
  const firstSpecial = origin.search(/[{*?[]/);
  const fixed = firstSpecial < 0 ? origin : origin.slice(0, firstSpecial);
  const slash = fixed.lastIndexOf("/");
  return slash <= 0 ? "/" : fixed.slice(0, slash);
}

const EMITTED_LIMIT = 10_000;

interface Pending {
  timer: NodeJS.Timeout;
  size: bigint;
  mtime: bigint;
}

export class Watcher implements AsyncIterable<FileEvent> {
  private readonly queue = new AsyncQueue<FileEvent>();
  private readonly pending = new Map<string, Pending>();
  /** What each path looked like when yielded: an event for the same file unchanged is not yielded again. */
  private readonly emitted = new Map<string, string>();
  private fsw: FSWatcher | undefined;
  private inotify: InotifySource | undefined;
  private closed = false;

  constructor(private readonly opts: WatcherOptions) {}

  /** Start watching; resolves when the initial scan is done (backlog queued). */
  async start(): Promise<void> {
    const root = watchRoot(this.opts.origin);
    const depth = this.opts.origin.slice(root.length + 1).split("/").length - 1;
    if (!this.opts.polling && this.opts.inotify !== false && inotifyAvailable() && (await isDirectory(root))) {
      this.inotify = new InotifySource({ root, log: this.opts.log, onFile: (p) => this.complete(p) });
      await this.inotify.start();
      if (this.opts.backlog) for (const p of await walk(root, depth)) this.consider(p, true);
      this.opts.log.debug({ root, depth, using: "inotify" }, "watching");
      return;
    }
    this.fsw = watch(root, {
      ignoreInitial: !this.opts.backlog,
      usePolling: this.opts.polling,
      interval: Math.max(10, this.opts.pollInterval * 1000),
      binaryInterval: Math.max(10, this.opts.pollInterval * 1000),
      depth: /\*\*/.test(this.opts.origin) ? undefined : depth,
      persistent: true,
    });
    this.fsw.on("add", (p: string) => this.consider(p, true));
    this.fsw.on("change", (p: string) => this.consider(p, false));
    this.fsw.on("unlink", (p: string) => this.forget(p));
    this.fsw.on("error", (err: unknown) => this.opts.log.warn({ err, root }, "watch error"));
    await new Promise<void>((resolve) => this.fsw?.once("ready", () => resolve()));
    this.opts.log.debug({ root, depth, using: this.opts.polling ? "polling" : "chokidar" }, "watching");
  }

  /** inotify said the file is complete (closed after write, or moved in). */
  private complete(path: string): void {
    if (this.closed || !validate(this.opts.origin, path)) return;
    this.forgetPending(path);
    void stat(path, { bigint: true })
      .then((st) => st.isFile() && st.size > 0n && this.emit(path, st))
      .catch((err: unknown) => this.opts.log.debug({ err, path }, "file vanished"));
  }

  [Symbol.asyncIterator](): AsyncIterator<FileEvent> {
    return this.queue[Symbol.asyncIterator]();
  }

  private consider(path: string, added: boolean): void {
    if (this.closed || !validate(this.opts.origin, path)) return;
    void this.check(path, added).catch((err: unknown) => this.opts.log.debug({ err, path }, "file vanished"));
  }

  private async check(path: string, added: boolean): Promise<void> {
    const st = await stat(path, { bigint: true });
    const old = this.pending.get(path);
    if (old !== undefined) clearTimeout(old.timer);
    this.pending.delete(path);
    if (!st.isFile() || st.size === 0n || this.closed) return;
    const quietMs = Number(BigInt(Date.now()) * 1_000_000n - st.mtimeNs) / 1e6;
    if ((added && st.ctimeNs > st.mtimeNs) || quietMs >= this.opts.settleMs) {
      this.emit(path, st);
      return;
    }
    const timer = setTimeout(() => void this.settled(path).catch(() => this.pending.delete(path)), this.opts.settleMs);
    this.pending.set(path, { timer, size: st.size, mtime: st.mtimeNs });
  }

  private async settled(path: string): Promise<void> {
    const before = this.pending.get(path);
    if (before === undefined) return;
    const st = await stat(path, { bigint: true });
    if (this.pending.get(path) !== before) return;
    if (st.size === before.size && st.mtimeNs === before.mtime) {
      this.pending.delete(path);
      if (st.size > 0n) this.emit(path, st);
      return;
    }
    before.size = st.size;
    before.mtime = st.mtimeNs;
    before.timer = setTimeout(() => void this.settled(path).catch(() => this.pending.delete(path)), this.opts.settleMs);
  }

  private emit(path: string, st: { size: bigint; mtimeNs: bigint; ino: bigint }): void {
    const signature = `${st.ino}:${st.size}:${st.mtimeNs}`;
    if (this.closed || this.emitted.get(path) === signature) return;
    this.emitted.delete(path);
    this.emitted.set(path, signature);
    if (this.emitted.size > EMITTED_LIMIT) this.emitted.delete(this.emitted.keys().next().value!);
    this.queue.push({ path, size: Number(st.size) });
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

  /** Stop watching; the iteration ends after what is queued. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    this.queue.close();
    this.inotify?.close();
    await this.fsw?.close();
  }
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false);
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
