/**
 * Small tools for the mover tests: random files with their sha256, a
 * capturing logger, MoveRequest building, and a watcher that proves no
 * partial file ever appears under its final name.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, watch, type FSWatcher } from "node:fs";
import { mkdtemp, open, readdir, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { createLogger, type LogRecord, type Logger } from "../../src/log.js";
import type { MoveRequest, StreamSource } from "../../src/movers/mover.js";
import { parseUrl } from "../../src/util/url.js";
import { waitFor } from "./wait.js";

/** A fresh temp dir. */
export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `move_it-${prefix}-`));
}

/** sha256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path))
    hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Write `bytes` random bytes to `dir/name` (in 1 MiB chunks); returns the path and its sha256. */
export async function randomFile(
  dir: string,
  name: string,
  bytes: number,
): Promise<{ path: string; sha256: string }> {
  const path = join(dir, name);
  const hash = createHash("sha256");
  const fh = await open(path, "w");
  try {
    for (let left = bytes; left > 0; left -= 1 << 20) {
      const chunk = randomBytes(Math.min(left, 1 << 20));
      hash.update(chunk);
      await fh.write(chunk);
    }
  } finally {
    await fh.close();
  }
  return { path, sha256: hash.digest("hex") };
}

/** A bunyan logger whose records land in `records`; `text()` is all of them as JSON. */
export function captureLog(): {
  log: Logger;
  records: LogRecord[];
  text: () => string;
} {
  const records: LogRecord[] = [];
  const log = createLogger({
    name: "movers-test",
    level: "trace",
    sink: (r) => records.push(r),
  });
  return {
    log,
    records,
    text: () => records.map((r) => JSON.stringify(r)).join("\n"),
  };
}

/** A MoveRequest for `source` to `url`. */
export function request(
  source: string,
  url: string,
  log: Logger,
  extra: Partial<MoveRequest> = {},
): MoveRequest {
  return {
    source,
    destination: parseUrl(url),
    connectionParameters: {},
    signal: new AbortController().signal,
    log,
    ...extra,
  };
}

/** What a PartialWatch saw. */
export interface PartialReport {
  /** Sizes seen under the final name that were not the full size. */
  partials: number[];
  /** Names other than the final one seen in the directory (the temporary files). */
  others: string[];
  /** Checks made while the upload ran. */
  checks: number;
}

/**
 * Watch `dir` (fs.watch plus a 2 ms poll) while an upload runs; every time
 * `finalName` exists its size must already be `size`.
 */
export function watchForPartial(
  dir: string,
  finalName: string,
  size: number,
): { stop(): Promise<PartialReport> } {
  const report: PartialReport = { partials: [], others: [], checks: 0 };
  const look = async (): Promise<void> => {
    report.checks++;
    const st = await stat(join(dir, finalName)).catch(() => undefined);
    if (st !== undefined && st.size !== size) report.partials.push(st.size);
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, (_event, name) => {
      if (name !== null && name !== finalName && !report.others.includes(name))
        report.others.push(name);
      void look();
    });
  } catch {
    watcher = undefined; // the poll still runs
  }
  const timer = setInterval(() => void look(), 2);
  return {
    stop: async () => {
      clearInterval(timer);
      watcher?.close();
      await look();
      return report;
    },
  };
}

/**
 * A stream source that sends 64 KiB, waits until a temporary (`.part`)
 * file holds bytes in `dir` (the local path of the upload's remote
 * directory), then fails: an upload that breaks with the connection still
 * up. `broke()` is true once it failed that way (not on a timeout).
 */
export function failingSource(dir: string): {
  source: StreamSource;
  broke: () => boolean;
} {
  let broke = false;
  const source: StreamSource = {
    uri: "test://failing",
    size: 1024 * 1024,
    open: async () => {
      const stream = new PassThrough();
      stream.write(Buffer.alloc(64 * 1024, 1));
      const started = async (): Promise<boolean> => {
        const parts = (await readdir(dir).catch(() => [])).filter((n) =>
          n.endsWith(".part"),
        );
        const sizes = await Promise.all(
          parts.map((n) =>
            stat(join(dir, n)).then(
              (st) => st.size,
              () => 0,
            ),
          ),
        );
        return sizes.some((size) => size > 0);
      };
      void waitFor(started, `a temporary holding bytes in ${dir}`, 60_000).then(
        () => {
          broke = true;
          stream.destroy(new Error("source broke off"));
        },
        (err: unknown) => stream.destroy(err as Error),
      );
      return stream;
    },
  };
  return { source, broke: () => broke };
}
