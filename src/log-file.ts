/**
 * A log file as Python trollmoves operators know it: rotated at midnight
 * (local time, as `TimedRotatingFileHandler(when="midnight")`), the rotated
 * files named `FILE.YYYY-MM-DD` and the oldest removed beyond a count; or
 * rotated by size (`RotatingFileHandler`: `FILE.1` … `FILE.N`); or never.
 * `reopen()` starts a new file at the same path (after `mv FILE FILE.old`
 * and SIGHUP/SIGUSR1, as logrotate does).
 *
 * Rotation is rotating-file-stream's: it aligns intervals to the clock
 * (a `1d` interval ends at local midnight, `intervalUTC` for UTC), can
 * rotate at start a file last written in an earlier period, and keeps a
 * history file to remove the oldest rotated files. (bunyan's own
 * rotating-file stream rotates at UTC midnight only, numbers its files
 * `.0`, `.1`, and cannot be reopened.)
 */
import { accessSync, constants, createWriteStream, statSync } from "node:fs";
import { basename, dirname } from "node:path";
import type { Writable } from "node:stream";
import { createStream, type Options } from "rotating-file-stream";

/** How a log file rotates. */
export type Rotation =
  | { kind: "never" }
  /** `every`: `midnight` or a count and unit (`1d`, `6h`, `30m`, `10s`). */
  | { kind: "time"; every: string; keep: number; utc?: boolean }
  | { kind: "size"; maxBytes: number; keep: number };

export interface LogFileOptions {
  path: string;
  rotation: Rotation;
  /** Start the file empty (Python FileHandler `mode: w`); else append. */
  truncate?: boolean;
  /** A write or rotation failed (the records then go to stderr until the next reopen). */
  onError?: (err: Error) => void;
}

const UNIT = /^(\d+)\s*([smhd])$/;

/** Parse `midnight` / `1d` / `6h` / `30m` / `10s` (an Error saying what is allowed otherwise). */
export function parseEvery(text: string): {
  num: number;
  unit: "s" | "m" | "h" | "d";
} {
  const t = text.trim().toLowerCase();
  if (t === "midnight" || t === "daily") return { num: 1, unit: "d" };
  const m = UNIT.exec(t);
  const num = m === null ? NaN : Number(m[1]);
  const unit = m?.[2] as "s" | "m" | "h" | "d" | undefined;
  const fits =
    unit === "d" ? num >= 1 : unit === "h" ? 24 % num === 0 : 60 % num === 0;
  if (unit === undefined || !Number.isInteger(num) || num < 1 || !fits) {
    throw new Error(
      `"${text}": give midnight, or days (2d), or hours dividing 24 (6h), or minutes or seconds dividing 60 (30m, 10s)`,
    );
  }
  return { num, unit };
}

const pad = (n: number): string => String(n).padStart(2, "0");

/** Python's suffix for a period starting at `t`: `%Y-%m-%d`, then `_%H`, `-%M`, `-%S` as the unit is finer. */
function suffix(t: Date, unit: "s" | "m" | "h" | "d", utc: boolean): string {
  const [y, mo, d, h, mi, s] = utc
    ? [
        t.getUTCFullYear(),
        t.getUTCMonth() + 1,
        t.getUTCDate(),
        t.getUTCHours(),
        t.getUTCMinutes(),
        t.getUTCSeconds(),
      ]
    : [
        t.getFullYear(),
        t.getMonth() + 1,
        t.getDate(),
        t.getHours(),
        t.getMinutes(),
        t.getSeconds(),
      ];
  let out = `${y}-${pad(mo)}-${pad(d)}`;
  if (unit !== "d") out += `_${pad(h)}`;
  if (unit === "m" || unit === "s") out += `-${pad(mi)}`;
  if (unit === "s") out += `-${pad(s)}`;
  return out;
}

/**
 * Can `path` be a log file? Its directory must exist and be writable, and
 * an existing file writable: an Error of one line saying which is not.
 * (Nothing is created: a missing directory is an operator's mistake.)
 */
export function checkLogPath(path: string): void {
  const dir = dirname(path);
  const code = (err: unknown): string =>
    (err as NodeJS.ErrnoException).code ?? String(err);
  try {
    if (!statSync(dir).isDirectory())
      throw Object.assign(new Error("not a directory"), { code: "ENOTDIR" });
  } catch (err) {
    throw new Error(
      `log file ${path}: directory ${dir} ${code(err) === "ENOENT" ? "does not exist" : `cannot be used (${code(err)})`}`,
    );
  }
  let exists = true;
  try {
    if (statSync(path).isDirectory())
      throw new Error(`log file ${path}: is a directory`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    exists = false;
  }
  try {
    accessSync(exists ? path : dir, constants.W_OK);
  } catch (err) {
    throw new Error(
      `log file ${path}: ${exists ? "the file" : `directory ${dir}`} is not writable (${code(err)})`,
    );
  }
}

/** A bunyan-compatible stream (it calls `write(string)`) writing to a rotated, reopenable file. */
export class LogFile {
  private stream: Writable;
  private broken = false;

  constructor(private readonly opts: LogFileOptions) {
    this.stream = this.open(opts.truncate ?? false);
  }

  get path(): string {
    return this.opts.path;
  }

  write(chunk: string): boolean {
    if (this.broken || this.stream.destroyed) {
      process.stderr.write(chunk);
      return true;
    }
    return this.stream.write(chunk);
  }

  /** Close the current file and open the path again (a new file if it was moved away). */
  reopen(): void {
    const old = this.stream;
    this.broken = false;
    this.stream = this.open(false);
    old.end();
  }

  /** Flush and close. */
  close(): Promise<void> {
    const s = this.stream;
    if (s.destroyed || s.writableFinished) return Promise.resolve();
    return new Promise((resolve) => {
      s.once("error", () => resolve());
      s.end(() => resolve());
    });
  }

  /** `truncate` applies to a file that never rotates (a rotating one always appends). */
  private open(truncate: boolean): Writable {
    const { path, rotation } = this.opts;
    let s: Writable;
    if (rotation.kind === "never") {
      s = createWriteStream(path, {
        flags: truncate ? "w" : "a",
        encoding: "utf8",
      });
    } else {
      const base = basename(path);
      const common: Options = {
        path: `${dirname(path)}/`,
        history: `.${base}.rotated`,
        encoding: "utf8",
      };
      if (rotation.kind === "size") {
        s = createStream(
          (n) => (typeof n === "number" && n > 0 ? `${base}.${n}` : base),
          { ...common, size: `${rotation.maxBytes}B`, rotate: rotation.keep },
        );
      } else {
        const { num, unit } = parseEvery(rotation.every);
        const utc = rotation.utc ?? false;
        // Widened: rotating-file-stream's template type for it takes one unit only.
        const interval: string = `${num}${unit}`;
        s = createStream(
          (time, index) =>
            time === null || typeof time === "number"
              ? base
              : `${base}.${suffix(time, unit, utc)}${index !== undefined && index > 1 ? `.${index}` : ""}`,
          {
            ...common,
            interval,
            intervalBoundary: true,
            intervalUTC: utc,
            initialRotation: true,
            ...(rotation.keep > 0 ? { maxFiles: rotation.keep } : {}),
          },
        );
      }
    }
    s.on("error", (err: Error) => {
      if (s !== this.stream) return;
      this.broken = true;
      this.opts.onError?.(err);
    });
    return s;
  }
}
