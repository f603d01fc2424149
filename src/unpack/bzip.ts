/**
 * bzip2: streamed through the system's `bzip2 -dc` (native speed, constant
 * memory), written under a temporary name and renamed into place.
 */
import { createWriteStream } from "node:fs";
import { rename, unlink } from "node:fs/promises";
import { basename, join } from "node:path";
import { finished } from "node:stream/promises";
import { run } from "./spawn.js";

/** `name.bz2` → `name`; anything else gets no suffix removed. */
export function bunzipName(file: string): string {
  const base = basename(file);
  return base.endsWith(".bz2") ? base.slice(0, -4) : `${base}.out`;
}

/** Decompress `file` into `dir`; returns the output path. */
export async function bunzip(
  file: string,
  dir: string,
  signal: AbortSignal,
): Promise<string> {
  const out = join(dir, bunzipName(file));
  const tmp = join(dir, `.${basename(out)}.${process.pid}.${Date.now()}.part`);
  const sink = createWriteStream(tmp);
  try {
    await Promise.all([
      run("bzip2", ["-dc", "--", file], { signal, stdout: sink }),
      finished(sink),
    ]);
    await rename(tmp, out);
    return out;
  } catch (err) {
    sink.destroy();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
