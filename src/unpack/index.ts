/**
 * Unpacking, by kind: bzip2, xRIT (external program) and tar.
 */
import { mkdir, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { bunzip } from "./bzip.js";
import { untar } from "./tar.js";
import { xritDecompress } from "./xrit.js";

export type UnpackKind = "bzip" | "xrit" | "tar";

export interface UnpackOptions {
  /** Where the output goes (default: the file's own directory). */
  workingDirectory?: string;
  /** The xRITDecompress program (default `xRITDecompress` on PATH). */
  prog?: string;
  signal: AbortSignal;
  /** Remove the packed file once unpacked. */
  deleteSource?: boolean;
}

/** Unpack `file`; returns the absolute paths of what came out. */
export async function unpack(
  kind: UnpackKind,
  file: string,
  opts: UnpackOptions,
): Promise<string[]> {
  const dir = opts.workingDirectory ?? dirname(file);
  await mkdir(dir, { recursive: true });
  let out: string[];
  switch (kind) {
    case "bzip":
      out = [await bunzip(file, dir, opts.signal)];
      break;
    case "xrit":
      out = [
        await xritDecompress(
          file,
          dir,
          opts.prog ?? "xRITDecompress",
          opts.signal,
        ),
      ];
      break;
    case "tar":
      out = await untar(file, dir, opts.signal);
      break;
  }
  if (opts.deleteSource === true) await unlink(file).catch(() => undefined);
  return out;
}

export { bunzipName } from "./bzip.js";
export { xritOutputName, isCompressedXrit } from "./xrit.js";
export { isTarName } from "./tar.js";
