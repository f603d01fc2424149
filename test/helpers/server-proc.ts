/**
 * A real `bin/move_it_server` process on 127.0.0.1, its bunyan log in a file,
 * restartable (SIGTERM or kill -9) on the same ports and state directory.
 * Killed after the test.
 *
 * The first start binds port 0 everywhere and reads the bound ports back
 * from its log ("server started" has the publish port, each "chain started"
 * its request address): a port picked beforehand could be taken by another
 * test's `:0` bind before the server binds it. Restarts keep those ports
 * (subscribers and requesters keep the address), see `startServerProc`;
 * they are written into the config before a restart, never while the
 * server runs (it reloads a changed config).
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { freePort } from "./net.js";
import { logRecords, runCommand, type Proc } from "./procs.js";
import { delay, waitFor } from "./wait.js";

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
  /** The bound publish port; read before the first start, the port that start will bind (picked beforehand). */
  readonly publishPort: number;
  /** Request port of each section, by name; filled in by the first start. */
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

/** The bound ports a server logged at its start: the publish port, and each chain's request port. */
export function boundPorts(records: ReadonlyArray<Record<string, unknown>>): {
  publishPort: number;
  ports: Record<string, number>;
} {
  const started = records.findLast((r) => r["msg"] === "server started");
  const publishPort = Number(started?.["publishPort"]);
  if (!(publishPort > 0))
    throw new Error(
      `no publish port in the "server started" record: ${JSON.stringify(started)}`,
    );
  const ports: Record<string, number> = {};
  for (const r of records) {
    const address = r["requestAddress"];
    if (
      r["msg"] === "chain started" &&
      typeof r["chain"] === "string" &&
      typeof address === "string"
    )
      ports[r["chain"]] = Number(address.slice(address.lastIndexOf(":") + 1));
  }
  return { publishPort, ports };
}

/**
 * Run `move_it_server` (or `move_it_mirror`) until its log says "server
 * started" ("mirror started") beyond the records of earlier runs. A restart
 * on ports used before may find one taken by another test's `:0` bind in the
 * moment it was free (after a kill -9, say): then it exits with "address
 * already in use" and is started again, for up to 20 s, in case that bind
 * was short-lived. Any other exit fails at once.
 */
export async function startServerProc(
  t: TestContext,
  args: string[],
  log: string,
  what: string,
  cmd: "move_it_server" | "move_it_mirror" = "move_it_server",
): Promise<Proc> {
  const ready = cmd === "move_it_mirror" ? "mirror started" : "server started";
  const giveUp = Date.now() + 20_000;
  for (let attempt = 1; ; attempt++) {
    const before = (await logRecords(log)).filter(
      (r) => r["msg"] === ready,
    ).length;
    const proc = runCommand(t, cmd, args);
    const outcome = await waitFor(
      async () => {
        if (
          (await logRecords(log)).filter((r) => r["msg"] === ready).length >
          before
        )
          return "started";
        return proc.child.exitCode !== null || proc.child.signalCode !== null
          ? "exited"
          : undefined;
      },
      `${what} (attempt ${attempt})`,
      60_000,
    );
    if (outcome === "started") return proc;
    const inUse = /address already in use/i.test(proc.stderr());
    if (!inUse || Date.now() > giveUp)
      throw new Error(
        `${what}: ${cmd} exited ${proc.child.exitCode ?? proc.child.signalCode}: ${proc.stderr()}`,
      );
    await delay(250); // pacing: retries of a start that found its port taken
  }
}

export async function serverProc(
  t: TestContext,
  dir: string,
  sections: readonly ServerSection[],
  opts: { args?: string[] } = {},
): Promise<ServerProc> {
  const ini = join(dir, "server.ini");
  const log = join(dir, "server.log");
  const stateDir = join(dir, "state");
  const ports: Record<string, number> = {};
  let publishPort = 0;
  // For a subscriber made before the first start (as a client left running is): reading publishPort then pins
  // this port for that start, picked beforehand, with the race that brings (a start finding it taken is retried).
  const reserved = await freePort();
  let pinned = false;
  const writeIni = (): Promise<void> =>
    writeFile(
      ini,
      sections
        .map(
          (s) =>
            `[${s.name}]\norigin = ${s.origin}\ntopic = ${s.topic}\nrequest_port = ${ports[s.name] ?? 0}\nrequest_address = 127.0.0.1\n${s.extra ?? ""}\n`,
        )
        .join(""),
    );
  await writeIni();
  let runs = 0;
  const sp: ServerProc = {
    ini,
    log,
    stateDir,
    get publishPort() {
      if (publishPort !== 0) return publishPort;
      pinned = true;
      return reserved;
    },
    ports,
    proc: undefined as unknown as Proc,
    async start(args = opts.args ?? []) {
      runs++;
      // The ports of the first start, written before a restart (never while it runs: the server reloads a changed config).
      if (publishPort !== 0) await writeIni();
      const pub = publishPort !== 0 ? publishPort : pinned ? reserved : 0;
      sp.proc = await startServerProc(
        t,
        [
          ini,
          "-p",
          String(pub),
          "--host",
          "127.0.0.1",
          "-l",
          log,
          "--state-dir",
          stateDir,
          "-v",
          ...args,
        ],
        log,
        `server start #${runs}`,
      );
      if (publishPort !== 0) return;
      // The first start: the ports it bound are kept for every later start.
      const bound = boundPorts(await logRecords(log));
      publishPort = bound.publishPort;
      for (const s of sections) {
        const port = bound.ports[s.name];
        if (port === undefined)
          throw new Error(
            `no "chain started" record with the request port of [${s.name}] in ${log}`,
          );
        ports[s.name] = port;
      }
    },
    async kill9() {
      const proc = sp.proc;
      if (proc.child.exitCode === null && proc.child.signalCode === null)
        proc.child.kill("SIGKILL");
      await proc.exited;
    },
    async stop() {
      const proc = sp.proc;
      if (proc.child.exitCode === null && proc.child.signalCode === null)
        proc.child.kill("SIGTERM");
      return proc.exited;
    },
    records: () => logRecords(log),
  };
  return sp;
}
