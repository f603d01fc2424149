import { spawn, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { dieWithParent } from "./daemon.js";
import { waitFor } from "./wait.js";

export const REPO = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "..",
);

export interface Proc {
  child: ChildProcess;
  stderr: () => string;
  stdout: () => string;
  exited: Promise<number | null>;
}

/** Run one of the bin/ commands; killed after the test, and when this process dies. */
export function runCommand(
  t: TestContext,
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; uid?: number; gid?: number } = {},
): Proc {
  const child = spawn(
    ...dieWithParent(process.execPath, [
      join(REPO, "bin", `${cmd}.js`),
      ...args,
    ]),
    { stdio: ["ignore", "pipe", "pipe"], ...opts },
  );
  let err = "";
  child.stderr?.on("data", (c: Buffer) => (err += c.toString()));
  let out = "";
  child.stdout?.on("data", (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((r) =>
    child.once("exit", (code) => r(code)),
  );
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
  });
  return { child, stderr: () => err, stdout: () => out, exited };
}

/** Parsed bunyan records of a log file. */
export async function logRecords(
  file: string,
): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Wait for a record with this `msg` in a bunyan log file. */
export async function waitForLog(
  file: string,
  msg: string,
  timeoutMs = 30_000,
): Promise<Record<string, unknown>> {
  return waitFor(
    async () => (await logRecords(file)).find((r) => r["msg"] === msg),
    `log "${msg}" in ${file}`,
    timeoutMs,
  );
}

/**
 * Wait until the client logging to `file` has heard a provider in each of
 * `chains` chains ("provider heard": its first message, a heartbeat say):
 * their subscriptions are in place. A server beats a second after it
 * binds, then every 30 s, and once more 0.2 s after each new subscriber's
 * handshake: a client hears it within a moment of connecting, which for one
 * started well before its server is up to 5 s after the server binds (its
 * refused subscriber retries at doubling intervals, 0.2 s up to 5 s).
 */
export async function waitProvidersHeard(
  file: string,
  chains: number,
  timeoutMs = 45_000,
): Promise<void> {
  await waitFor(
    async () =>
      new Set(
        (await logRecords(file))
          .filter((r) => r["msg"] === "provider heard")
          .map((r) => r["chain"]),
      ).size >= chains,
    `"provider heard" in ${chains} chains of ${file}`,
    timeoutMs,
  );
}
