/**
 * A real `bin/move_it_server` process on 127.0.0.1 with ephemeral ports, its
 * bunyan log in a file, restartable (SIGTERM or kill -9) on the same ports
 * and state directory. Killed after the test.
 */
import { join } from "node:path";
import type { TestContext } from "node:test";
import { freePort } from "./net.js";
import { logRecords, runCommand, type Proc } from "./procs.js";
import { waitFor } from "./wait.js";

export interface ServerSection {
  name: string;
  /** `origin` pattern. */
  origin: string;
  topic: string;
  /** Further `key = value` lines. */
  extra?: string;
}

export interface ServerProc {
  readonly ini: string;
  readonly log: string;
  readonly stateDir: string;
  readonly publishPort: number;
  /** Request port of each section, by name. */
  readonly ports: Record<string, number>;
  proc: Proc;
  /** Start (again); resolves on "server started" in this run's part of the log. */
  start(args?: string[]): Promise<void>;
  /** kill -9 and wait for the exit. */
  kill9(): Promise<void>;
  /** SIGTERM and wait for the exit; returns the exit code. */
  stop(): Promise<number | null>;
  /** Log records of every run so far. */
  records(): Promise<Array<Record<string, unknown>>>;
}

export async function serverProc(t: TestContext, dir: string, sections: readonly ServerSection[], opts: { args?: string[] } = {}): Promise<ServerProc> {
  const { writeFile } = await import("node:fs/promises");
  const publishPort = await freePort();
  const ports: Record<string, number> = {};
  let text = "";
  for (const s of sections) {
    ports[s.name] = await freePort();
    text += `[${s.name}]\norigin = ${s.origin}\ntopic = ${s.topic}\nrequest_port = ${ports[s.name]}\nrequest_address = 127.0.0.1\n${s.extra ?? ""}\n`;
  }
  const ini = join(dir, "server.ini");
  await writeFile(ini, text);
  const log = join(dir, "server.log");
  const stateDir = join(dir, "state");
  let runs = 0;
  const sp: ServerProc = {
    ini,
    log,
    stateDir,
    publishPort,
    ports,
    proc: undefined as unknown as Proc,
    async start(args = opts.args ?? []) {
      const before = (await logRecords(log)).filter((r) => r["msg"] === "server started").length;
      runs++;
      sp.proc = runCommand(t, "move_it_server", [ini, "-p", String(publishPort), "--host", "127.0.0.1", "-l", log, "--state-dir", stateDir, "-v", ...args]);
      const proc = sp.proc;
      await waitFor(
        async () => {
          if (proc.child.exitCode !== null) throw new Error(`server exited ${proc.child.exitCode}: ${proc.stderr()}`);
          return (await logRecords(log)).filter((r) => r["msg"] === "server started").length > before;
        },
        `server start #${runs}`,
        20_000,
      );
    },
    async kill9() {
      const proc = sp.proc;
      if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill("SIGKILL");
      await proc.exited;
    },
    async stop() {
      const proc = sp.proc;
      if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill("SIGTERM");
      return proc.exited;
    },
    records: () => logRecords(log),
  };
  return sp;
}
