/**
 * A move_it_server and a move_it_client as real processes (bin/ commands)
 * on 127.0.0.1, for fault tests: start, restart, kill -9, and check what
 * arrived: every file, intact (sha256), delivered exactly once (one rename
 * into its final name, counted by inotifywait on the destination).
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { logRecords, runCommand, waitForLog, type Proc } from "./procs.js";
import { boundPorts, startServerProc } from "./server-proc.js";
import { tempDir } from "./tmp.js";
import { delay, waitFor } from "./wait.js";

export interface FleetOptions {
  /** Destination directory (default `<tmp>/out`); e.g. on a tmpfs the test mounted. */
  out?: string;
  /** The client's destination URL (default `file://<out>/`): a remote one whose files land in `out` (sshd, vsftpd). */
  destination?: string;
  /** More lines for the server section / the client section. */
  serverExtra?: string;
  clientExtra?: string;
  /** Extra server sections (full ini text). */
  serverSections?: string;
  /** Client topic (default `/nl`). */
  topic?: string;
  /** More publishers for the client to subscribe to (`host:port`). */
  extraProviders?: readonly string[];
}

/**
 * The server's first start binds port 0 and the ports it got are read back
 * from its log (a port picked beforehand could be taken by another test's
 * `:0` bind first); the client's config is written then. Restarts keep the
 * ports, since the client keeps the address (`startServerProc` retries a
 * start that finds its port taken).
 */
export class Fleet {
  readonly inDir: string;
  readonly out: string;
  readonly stage: string;
  private server: Proc | undefined;
  private client: Proc | undefined;
  /** The last log file of each daemon started. */
  serverLog = "";
  clientLog = "";
  private starts = 0;
  /** sha256 of every file dropped, by name (probes apart). */
  readonly dropped = new Map<string, string>();
  /** Probe files dropped by `warmUp` (each may arrive once, or never). */
  readonly probes = new Set<string>();

  private ports: { pub: number; req: number } | undefined;
  private readonly srvIni: string;
  private readonly cliIni: string;

  private constructor(
    private readonly t: TestContext,
    readonly dir: string,
    private readonly opts: FleetOptions,
    out: string,
  ) {
    this.inDir = join(dir, "in");
    this.stage = join(dir, "stage");
    this.out = out;
    this.srvIni = join(dir, "server.ini");
    this.cliIni = join(dir, "client.ini");
  }

  static async create(t: TestContext, opts: FleetOptions = {}): Promise<Fleet> {
    const dir = await tempDir(t, "move_it-fleet-");
    const out = opts.out ?? join(dir, "out");
    await Promise.all([
      mkdir(join(dir, "in")),
      mkdir(join(dir, "stage")),
      mkdir(out, { recursive: true }),
    ]);
    const fleet = new Fleet(t, dir, opts, out);
    await fleet.writeServerIni(0);
    // Registered before any process starts, so it runs before their own SIGKILL hooks.
    t.after(() => fleet.close());
    return fleet;
  }

  /** The server's publish and request ports (bound by its first start). */
  get pubPort(): number {
    return this.bound().pub;
  }

  get reqPort(): number {
    return this.bound().req;
  }

  private bound(): { pub: number; req: number } {
    if (this.ports === undefined)
      throw new Error("the fleet's ports are known once its server started");
    return this.ports;
  }

  private writeServerIni(req: number): Promise<void> {
    const { serverExtra = "", serverSections = "" } = this.opts;
    return writeFile(
      this.srvIni,
      `[nl]\norigin = ${this.dir}/in/{name}.dat\ntopic = /nl/data\nrequest_port = ${req}\nrequest_address = 127.0.0.1\n${serverExtra}\n${serverSections}`,
    );
  }

  /** After the server's first start: the ports it bound kept, the client's config naming its publisher. */
  private async keepPorts(log: string): Promise<void> {
    const bound = boundPorts(await logRecords(log));
    const req = bound.ports["nl"];
    if (req === undefined)
      throw new Error(
        `no "chain started" record with the request port of [nl] in ${log}`,
      );
    this.ports = { pub: bound.publishPort, req };
    const {
      extraProviders = [],
      topic = "/nl",
      clientExtra = "",
      destination = `file://${this.out}/`,
    } = this.opts;
    await writeFile(
      this.cliIni,
      `[c]\nproviders = ${[`127.0.0.1:${bound.publishPort}`, ...extraProviders].join(" ")}\ndestination = ${destination}\ntopic = ${topic}\npublish_port = 0\nnameservers = false\n` +
        `transfer_req_timeout = 2\n${clientExtra}`,
    );
  }

  /** Stop both (SIGTERM, then SIGKILL) and whatever they forked (the server's inotifywait). */
  private async close(): Promise<void> {
    for (const p of [this.server, this.client]) {
      if (
        p === undefined ||
        p.child.exitCode !== null ||
        p.child.signalCode !== null
      )
        continue;
      const kids = await descendants(p.child.pid);
      p.child.kill("SIGTERM");
      const timer = setTimeout(() => p.child.kill("SIGKILL"), 5000);
      await p.exited;
      clearTimeout(timer);
      killAll(kids);
    }
  }

  /** The running (or last) process of the server or the client. */
  proc(which: "server" | "client"): Proc {
    const p = which === "server" ? this.server : this.client;
    if (p === undefined) throw new Error(`the ${which} was never started`);
    return p;
  }

  /** Start the server (with backlog, the same state dir each time, at -v for its per-file records); resolves once it runs. */
  async startServer(): Promise<Proc> {
    const log = join(this.dir, `server-${++this.starts}.log`);
    this.serverLog = log;
    const pub = this.ports?.pub ?? 0;
    // The request port of the first start, written before a restart (never while it runs: the server reloads a changed config).
    if (this.ports !== undefined) await this.writeServerIni(this.ports.req);
    this.server = await startServerProc(
      this.t,
      [
        this.srvIni,
        "-p",
        String(pub),
        "--host",
        "127.0.0.1",
        "-l",
        log,
        "--state-dir",
        join(this.dir, "server-state"),
        "-v",
      ],
      log,
      "fleet server start",
    );
    if (this.ports === undefined) await this.keepPorts(log);
    return this.server;
  }

  /** Start the client (same state dir each time); resolves once its chain runs. */
  async startClient(extraArgs: string[] = []): Promise<Proc> {
    if (this.ports === undefined)
      throw new Error(
        "start the fleet's server first: the client's config names the port it bound",
      );
    const log = join(this.dir, `client-${++this.starts}.log`);
    this.clientLog = log;
    this.client = runCommand(this.t, "move_it_client", [
      this.cliIni,
      "--host",
      "127.0.0.1",
      "-l",
      log,
      "--state-dir",
      join(this.dir, "client-state"),
      ...extraArgs,
    ]);
    await waitForLog(log, "chain started");
    return this.client;
  }

  /** Run the one-off catch-up pass and return its summary. */
  async catchUpPass(since: string): Promise<Record<string, number | string>> {
    const p = runCommand(this.t, "move_it_client", [
      this.cliIni,
      "--host",
      "127.0.0.1",
      "-l",
      join(this.dir, `catchup-${++this.starts}.log`),
      "--state-dir",
      join(this.dir, "client-state"),
      "--catch-up",
      since,
    ]);
    let out = "";
    p.child.stdout?.removeAllListeners("data");
    p.child.stdout?.on("data", (c: Buffer) => (out += c.toString()));
    await p.exited;
    return JSON.parse(out.trim()) as Record<string, number | string>;
  }

  async kill9(which: "server" | "client"): Promise<void> {
    const p = which === "server" ? this.server : this.client;
    if (
      p === undefined ||
      p.child.exitCode !== null ||
      p.child.signalCode !== null
    )
      return;
    const kids = await descendants(p.child.pid);
    p.child.kill("SIGKILL");
    await p.exited;
    // What it forked (the server's inotifywait) outlives a kill -9: end it as the kernel would not.
    killAll(kids);
  }

  async stop(which: "server" | "client"): Promise<void> {
    const p = which === "server" ? this.server : this.client;
    if (
      p === undefined ||
      p.child.exitCode !== null ||
      p.child.signalCode !== null
    )
      return;
    p.child.kill("SIGTERM");
    await p.exited;
  }

  /** Drop a file of `bytes` random bytes atomically (written aside, renamed in). */
  async drop(name: string, bytes = 1024, probe = false): Promise<void> {
    const body = randomBytes(bytes);
    const staged = join(this.stage, name);
    await writeFile(staged, body);
    if (!probe) this.dropped.set(name, sha256(body));
    await rename(staged, join(this.inDir, name));
  }

  /** Names delivered so far (final names only, probes apart). */
  async delivered(): Promise<string[]> {
    return (await readdir(this.out)).filter(
      (n) => !n.startsWith(".") && !this.probes.has(n),
    );
  }

  /** Probes delivered so far. */
  async probesDelivered(): Promise<string[]> {
    return (await readdir(this.out)).filter((n) => this.probes.has(n));
  }

  /**
   * Drop a probe file every second until one is delivered: the client's
   * subscriber then hears the server (a subscriber that connects after an
   * announcement never sees it: the slow joiner). Probes are not in
   * `dropped`; one that was missed may still arrive later, once.
   */
  async warmUp(timeoutMs = 45_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const name = `probe-${this.probes.size}.dat`;
      this.probes.add(name);
      await this.drop(name, 64, true);
      for (
        const until = Date.now() + 1000;
        Date.now() < until;
        await delay(50)
      ) {
        const got = (await this.probesDelivered())[0];
        if (got !== undefined) return got;
      }
    }
    throw new Error(
      `no probe delivered within ${timeoutMs} ms (${this.probes.size} dropped); logs: ${this.serverLog} ${this.clientLog}`,
    );
  }

  /** Wait until the server (this run's log) has announced every one of `names`. */
  async waitAnnounced(
    names: readonly string[],
    timeoutMs: number,
  ): Promise<void> {
    await waitFor(
      async () => {
        const seen = new Set(
          (await logRecords(this.serverLog))
            .filter((r) => r["msg"] === "announced")
            .map((r) => r["uid"]),
        );
        return names.every((n) => seen.has(n));
      },
      `${names.length} files announced`,
      timeoutMs,
    );
  }

  /** Wait until every dropped file is in the destination. */
  async waitAllDelivered(timeoutMs: number): Promise<void> {
    await waitFor(
      async () => {
        const got = new Set(await this.delivered());
        return [...this.dropped.keys()].every((n) => got.has(n));
      },
      `all ${this.dropped.size} files delivered`,
      timeoutMs,
    ).catch(async (err: unknown) => {
      const got = new Set(await this.delivered());
      const missing = [...this.dropped.keys()].filter((n) => !got.has(n));
      throw new Error(
        `${(err as Error).message}: ${missing.length} missing, e.g. ${missing.slice(0, 5).join(", ")}`,
      );
    });
  }

  /** Every dropped file intact; returns the names whose content differs. */
  async corrupted(): Promise<string[]> {
    const bad: string[] = [];
    for (const [name, sum] of this.dropped) {
      const body = await readFile(join(this.out, name)).catch(() => undefined);
      if (body === undefined || sha256(body) !== sum) bad.push(name);
    }
    return bad;
  }

  /** `.part` files left in the destination. */
  async leftovers(): Promise<string[]> {
    return (await readdir(this.out)).filter((n) => n.endsWith(".part"));
  }
}

export function sha256(body: Buffer): string {
  return createHash("sha256").update(body).digest("hex");
}

/** Counts renames into each final name in a directory (inotify IN_MOVED_TO), from now on. */
export class DeliveryCounter {
  readonly counts = new Map<string, number>();
  private readonly child: ChildProcess;
  private readonly ready: Promise<void>;

  constructor(t: TestContext, dir: string) {
    // A delivery is a name appearing: renamed into place (moved_to), or hard-linked straight in (create).
    this.child = spawn(
      "inotifywait",
      ["-m", "-e", "moved_to", "-e", "create", "--format", "%f", dir],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let rest = "";
    this.child.stdout?.on("data", (c: Buffer) => {
      rest += c.toString();
      const lines = rest.split("\n");
      rest = lines.pop() ?? "";
      for (const name of lines)
        if (name !== "" && !name.endsWith(".part"))
          this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
    });
    this.ready = new Promise((resolve, reject) => {
      let err = "";
      this.child.stderr?.on("data", (c: Buffer) => {
        err += c.toString();
        if (err.includes("Watches established")) resolve();
      });
      this.child.once("error", reject);
      this.child.once("exit", () =>
        reject(new Error(`inotifywait exited: ${err}`)),
      );
    });
    t.after(() => {
      this.child.kill("SIGKILL");
    });
  }

  /** Resolves once the watch is in place. */
  started(): Promise<void> {
    return this.ready;
  }

  /** Names that appeared in place (renamed or linked) more than once. */
  twice(): string[] {
    return [...this.counts].filter(([, n]) => n > 1).map(([name]) => name);
  }
}

/** Live descendants of `root`. */
async function descendants(root: number | undefined): Promise<number[]> {
  if (root === undefined) return [];
  const { stdout } = await promisify(execFile)("ps", [
    "-e",
    "-o",
    "pid=,ppid=",
  ]);
  const rows = stdout
    .split("\n")
    .map((l) => l.trim().split(/\s+/).map(Number))
    .filter((r) => r.length === 2);
  const out: number[] = [];
  const walk = (parent: number): void => {
    for (const [pid, ppid] of rows) {
      if (ppid !== parent || pid === undefined) continue;
      out.push(pid);
      walk(pid);
    }
  };
  walk(root);
  return out;
}

function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

/**
 * The opening of a fault test: a fleet, a delivery counter watching its
 * destination, the server and the client started, and a probe delivered
 * (the client's subscriber hears the server).
 */
export async function runningFleet(
  t: TestContext,
  opts: FleetOptions = {},
): Promise<{ fleet: Fleet; counter: DeliveryCounter }> {
  const fleet = await Fleet.create(t, opts);
  const counter = new DeliveryCounter(t, fleet.out);
  await counter.started();
  await fleet.startServer();
  await fleet.startClient();
  await fleet.warmUp();
  return { fleet, counter };
}

/** Every dropped file delivered intact, none renamed into place twice, no `.part` left, nothing extra. */
export async function assertExactlyOnce(
  fleet: Fleet,
  counter: DeliveryCounter,
): Promise<void> {
  assert.deepEqual(await fleet.corrupted(), [], "every file intact (sha256)");
  assert.deepEqual(counter.twice(), [], "no file renamed into place twice");
  assert.deepEqual(await fleet.leftovers(), [], "no .part file left");
  const extra = (await fleet.delivered()).filter((n) => !fleet.dropped.has(n));
  assert.deepEqual(extra, [], "nothing delivered that was not dropped");
}
