/**
 * xRIT: EUMETSAT's external `xRITDecompress` is run on the file with the
 * working directory as cwd; it writes the segment with its trailing `C_`
 * replaced by `__` there.
 */
import { access } from "node:fs/promises";
import { basename, join } from "node:path";
import { UnpackError } from "../errors.js";
import { run } from "./spawn.js";

/** The name xRITDecompress gives the output: the last two characters become `__`. */
export function xritOutputName(file: string): string {
  const base = basename(file);
  return `${base.slice(0, -2)}__`;
}

/** True for compressed segment names (ending in `C_`). */
export function isCompressedXrit(file: string): boolean {
  return basename(file).endsWith("C_");
}

export async function xritDecompress(
  file: string,
  dir: string,
  prog: string,
  signal: AbortSignal,
): Promise<string> {
  await run(prog, [file], { cwd: dir, signal });
  const out = join(dir, xritOutputName(file));
  try {
    await access(out);
  } catch (err) {
    throw new UnpackError(`${prog} did not write ${out}`, { cause: err });
  }
  return out;
}
