/** Run an external program under a signal, collecting stderr for the error message. */
import { spawn, type StdioOptions } from "node:child_process";
import type { Writable } from "node:stream";
import { UnpackError } from "../errors.js";

export interface RunOptions {
  cwd?: string;
  signal: AbortSignal;
  /** Where the program's stdout goes (default: discarded). */
  stdout?: Writable;
}

/** Resolve when the program exits 0; UnpackError with its stderr tail otherwise. */
export function run(
  cmd: string,
  args: readonly string[],
  opts: RunOptions,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const stdio: StdioOptions = [
      "ignore",
      opts.stdout === undefined ? "ignore" : "pipe",
      "pipe",
    ];
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      signal: opts.signal,
      stdio,
    });
    if (opts.stdout !== undefined) child.stdout?.pipe(opts.stdout);
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    child.on("error", (err: NodeJS.ErrnoException) => {
      if (opts.signal.aborted) reject(opts.signal.reason as Error);
      else if (err.code === "ENOENT")
        reject(new UnpackError(`program not found: ${cmd}`, { cause: err }));
      else
        reject(
          new UnpackError(`${cmd} failed: ${err.message}`, { cause: err }),
        );
    });
    child.on("close", (code, sig) => {
      if (opts.signal.aborted) return reject(opts.signal.reason as Error);
      if (code === 0) return resolve();
      const why = sig !== null ? `killed by ${sig}` : `exit code ${code}`;
      reject(
        new UnpackError(
          `${cmd} failed (${why})${stderr.trim() ? `: ${stderr.trim().split("\n").pop()}` : ""}`,
        ),
      );
    });
  });
}
