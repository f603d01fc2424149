/**
 * Tar archives (.tar, .tar.gz/.tgz, .tar.bz2) with node-tar. Every member is
 * checked before anything is written: an absolute path, a `..` or a link
 * pointing outside the target directory refuses the whole archive.
 */
import { createReadStream } from "node:fs";
import { isAbsolute, join, normalize, resolve, sep } from "node:path";
import { PassThrough, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as tar from "tar";
import { UnpackError } from "../errors.js";
import { run } from "./spawn.js";

export function isTarName(file: string): boolean {
  return /\.(tar|tar\.gz|tgz|tar\.bz2|tbz2?)$/.test(file);
}

function escapes(dir: string, member: string): boolean {
  if (isAbsolute(member)) return true;
  const target = resolve(dir, normalize(member));
  return target !== dir && !target.startsWith(dir + sep);
}

/** The archive's bytes, decompressing bzip2 through the system tool (node-tar does gzip itself). */
function open(file: string, signal: AbortSignal): Readable {
  if (!/\.(tar\.bz2|tbz2?)$/.test(file)) return createReadStream(file);
  const out = new PassThrough();
  run("bzip2", ["-dc", "--", file], { signal, stdout: out }).catch(
    (err: unknown) => out.destroy(err as Error),
  );
  return out;
}

/** List members, refusing the archive if one escapes `dir`. Returns the regular files. */
async function scan(
  file: string,
  dir: string,
  signal: AbortSignal,
): Promise<string[]> {
  const files: string[] = [];
  let bad: string | undefined;
  const parser = new tar.Parser({
    onReadEntry: (entry) => {
      const p = entry.path;
      const linkEscapes =
        (entry.type === "SymbolicLink" || entry.type === "Link") &&
        escapes(
          dir,
          entry.type === "Link"
            ? (entry.linkpath ?? "")
            : join(p, "..", entry.linkpath ?? ""),
        );
      if (bad === undefined && (escapes(dir, p) || linkEscapes)) bad = p;
      if (entry.type === "File" || entry.type === "OldFile")
        files.push(join(dir, normalize(p)));
      entry.resume();
    },
  });
  await pipeline(open(file, signal), parser, { signal });
  if (bad !== undefined)
    throw new UnpackError(`tar member escapes the target directory: ${bad}`);
  return files;
}

/** Extract into `dir` (created beforehand); returns the extracted regular files. */
export async function untar(
  file: string,
  dir: string,
  signal: AbortSignal,
): Promise<string[]> {
  const target = resolve(dir);
  let files: string[];
  try {
    files = await scan(file, target, signal);
    await pipeline(
      open(file, signal),
      tar.x({ cwd: target, strict: true, preservePaths: false }),
      { signal },
    );
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    if (err instanceof UnpackError) throw err;
    throw new UnpackError(`cannot unpack ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return files;
}
