/**
 * Running the bin/ commands for their exit code and output, as the
 * operations tests do (test/e2e/operations-*.test.ts).
 */
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { REPO, runCommand } from "./procs.js";

/** The version in package.json. */
export const VERSION = (
  JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as {
    version: string;
  }
).version;

/** Run a command to its end: exit code, stdout, stderr. */
export async function exitOf(
  t: TestContext,
  cmd: string,
  args: string[],
  opts: Parameters<typeof runCommand>[3] = {},
): Promise<{ code: number | null; out: string; err: string }> {
  const p = runCommand(t, cmd, args, opts);
  const code = await p.exited;
  return { code, out: p.stdout(), err: p.stderr() };
}

/** Listen on `port` of 127.0.0.1 (a port in use) until the test ends. */
export async function occupy(t: TestContext, port: number): Promise<Server> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(port, "127.0.0.1", r));
  t.after(() => new Promise<void>((r) => s.close(() => r())));
  return s;
}

/** A port of 127.0.0.1 in use until the test ends: bound as 0, the port read back. */
export async function occupied(t: TestContext): Promise<number> {
  const s = await occupy(t, 0);
  const address = s.address();
  if (address === null || typeof address === "string")
    throw new Error(`no TCP address: ${String(address)}`);
  return address.port;
}

/** A server section `[name]` on topic `/ops/<name>`. */
export const serverSection = (
  name: string,
  origin: string,
  port: number,
  extra = "",
): string =>
  `[${name}]\norigin = ${origin}\ntopic = /ops/${name}\nrequest_port = ${port}\n${extra}`;
