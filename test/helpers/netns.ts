/**
 * A small network lab for end-to-end tests: Linux network namespaces joined
 * by veth pairs, the real commands (bin/move_it_*.js) started inside them
 * with `ip netns exec`, and a few probes that run inside a namespace too
 * (a TCP connect, a SUB socket printing what a publisher sends).
 *
 * Everything a lab creates is named `mvnt<pid>-...` (namespaces) or
 * `mv<pid>v<n><a|b>` (interfaces), so parallel runs never collide, and is
 * removed by `teardown()`: processes first (SIGTERM, then SIGKILL of the
 * process group after a grace period), then the namespaces (deleting a
 * namespace deletes the veth ends inside it, and with them their peers).
 *
 * Needs root and iproute2. `netnsUnavailable()` says why a lab cannot be
 * built here, without leaving anything behind.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The repository root (this file runs from dist/test/helpers/). */
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

const NS_PREFIX = "mvnt";

/** `ip ARGS`, throwing with ip's own message on failure. */
export async function ip(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run("ip", args, { timeout: 10_000 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(
      `ip ${args.join(" ")}: ${(e.stderr ?? "").trim() || e.message}`,
    );
  }
}

/**
 * Why network-namespace tests cannot run here, or undefined when they can:
 * root, an `ip` binary, and the right to create (and delete) a namespace.
 */
export async function netnsUnavailable(): Promise<string | undefined> {
  if (process.platform !== "linux") return "network namespaces need Linux";
  if (process.getuid?.() !== 0)
    return "network namespaces need root (run the tests as root)";
  const probe = `${NS_PREFIX}${process.pid}-probe`;
  try {
    await ip("netns", "add", probe);
  } catch (err) {
    return `cannot create a network namespace (apt-get install -y iproute2; needs CAP_SYS_ADMIN): ${(err as Error).message}`;
  }
  try {
    await ip("-n", probe, "link", "set", "lo", "up");
  } catch (err) {
    return `cannot configure a network namespace: ${(err as Error).message}`;
  } finally {
    await ip("netns", "delete", probe).catch(() => undefined);
  }
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Delete namespaces left behind by earlier runs of this helper whose process is gone. */
async function removeStale(): Promise<void> {
  const list = await ip("netns", "list").catch(() => "");
  for (const line of list.split("\n")) {
    const name = line.trim().split(/\s+/)[0] ?? "";
    const m = new RegExp(`^${NS_PREFIX}(\\d+)-[a-z0-9]+$`).exec(name);
    if (m === null || alive(Number(m[1]))) continue;
    await ip("netns", "delete", name).catch(() => undefined);
  }
}

/** One bunyan record of a process log. */
export type LogRecord = Record<string, unknown> & {
  msg?: string;
  level?: number;
};

/** A command running inside a namespace. */
export interface NsProcess {
  readonly label: string;
  readonly ns: string;
  readonly child: ChildProcess;
  /** Its bunyan log file (-l), if it has one. */
  readonly logFile: string | undefined;
  /** Where its stdout and stderr go. */
  readonly outFile: string;
  /** Resolves with the exit code (or signal) once it has exited. */
  readonly exited: Promise<string>;
  /** Parsed records of its log file (lines that are not JSON are skipped). */
  records(): Promise<LogRecord[]>;
}

/** A SUB socket inside a namespace: every frame it received, as text. */
export interface NsSubscriber {
  readonly frames: string[];
  readonly proc: NsProcess;
}

/** Result of a TCP connect attempted from inside a namespace. */
export interface ConnectResult {
  connected: boolean;
  /** "connected", "timeout" or the error code (ENETUNREACH, ECONNREFUSED, ...). */
  detail: string;
}

// Runs inside a namespace: connect, print the outcome, exit.
const CONNECT_SCRIPT = `
const net = require("node:net");
const [host, port, ms] = process.argv.slice(1);
const s = net.connect({ host, port: Number(port) });
const timer = setTimeout(() => { console.log("timeout"); process.exit(3); }, Number(ms));
s.on("connect", () => { clearTimeout(timer); console.log("connected"); s.destroy(); process.exit(0); });
s.on("error", (e) => { clearTimeout(timer); console.log(e.code || e.message); process.exit(2); });
`;

// Runs inside a namespace (cwd: the repository, so "zeromq" resolves):
// subscribe to everything a publisher sends, one JSON string per frame.
const SUBSCRIBE_SCRIPT = `
const zmq = await import("zeromq");
const sock = new zmq.Subscriber({ linger: 0 });
sock.connect(process.argv[1]);
sock.subscribe();
process.on("SIGTERM", () => { sock.close(); process.exit(0); });
for await (const [frame] of sock) process.stdout.write(JSON.stringify(frame.toString("utf8")) + "\\n");
`;

export interface LabOptions {
  /** Grace period between SIGTERM and SIGKILL when stopping a process, ms (default 6000). */
  killAfterMs?: number;
}

/** See the module comment. */
export class NetLab {
  /** Working directory of this lab: configs, logs, data. */
  readonly dir: string;
  private readonly namespaces: string[] = [];
  private readonly procs: NsProcess[] = [];
  private readonly extraDirs: string[] = [];
  private readonly subscribers: NsSubscriber[] = [];
  private vethCount = 0;
  private torn: Promise<void> | undefined;

  private constructor(
    dir: string,
    private readonly tag: string,
    private readonly opts: LabOptions,
  ) {
    this.dir = dir;
  }

  /** A lab with its own temp dir; `tag` (a-z, 0-9) keeps namespace names apart within a run. */
  static async create(tag: string, opts: LabOptions = {}): Promise<NetLab> {
    if (!/^[a-z0-9]{1,8}$/.test(tag)) throw new Error(`bad lab tag ${tag}`);
    await removeStale();
    const dir = await mkdtemp(join(tmpdir(), `move_it-netns-${tag}-`));
    return new NetLab(dir, tag, opts);
  }

  /**
   * A fresh directory for data, on another file system than the lab dir
   * when there is one (/dev/shm), so that a `file://` move into it is a real
   * copy rather than a hard link to the source.
   */
  async otherFsDir(name: string): Promise<string> {
    const here = await stat(this.dir);
    const shm = await stat("/dev/shm").catch(() => undefined);
    if (shm?.isDirectory() === true && shm.dev !== here.dev) {
      const dir = await mkdtemp(
        join("/dev/shm", `move_it-netns-${this.tag}-${name}-`),
      );
      this.extraDirs.push(dir);
      return dir;
    }
    const dir = join(this.dir, name);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  /** A new namespace with `lo` up; returns its name. */
  async namespace(key: string): Promise<string> {
    if (!/^[a-z0-9]{1,8}$/.test(key))
      throw new Error(`bad namespace key ${key}`);
    const name = `${NS_PREFIX}${process.pid}-${this.tag}${key}`;
    await ip("netns", "add", name);
    this.namespaces.push(name);
    await ip("-n", name, "link", "set", "lo", "up");
    // Explicit, whatever the kernel's default: a namespace never routes between its interfaces.
    await run("ip", [
      "netns",
      "exec",
      name,
      "sysctl",
      "-q",
      "-w",
      "net.ipv4.ip_forward=0",
    ]).catch(() => undefined);
    return name;
  }

  /**
   * A veth pair between two namespaces, `a/prefix` on one end and
   * `b/prefix` on the other, both up. Returns the interface names.
   */
  async link(
    nsA: string,
    addrA: string,
    nsB: string,
    addrB: string,
    prefix = 24,
  ): Promise<{ a: string; b: string }> {
    const n = ++this.vethCount;
    const a = `mv${process.pid}v${n}a`;
    const b = `mv${process.pid}v${n}b`;
    if (a.length > 15) throw new Error(`interface name ${a} too long`);
    await ip(
      "link",
      "add",
      a,
      "netns",
      nsA,
      "type",
      "veth",
      "peer",
      "name",
      b,
      "netns",
      nsB,
    );
    await ip("-n", nsA, "addr", "add", `${addrA}/${prefix}`, "dev", a);
    await ip("-n", nsB, "addr", "add", `${addrB}/${prefix}`, "dev", b);
    await ip("-n", nsA, "link", "set", a, "up");
    await ip("-n", nsB, "link", "set", b, "up");
    return { a, b };
  }

  /** `ip link set DEV up|down` inside a namespace (cut or restore a link). */
  async setLink(ns: string, dev: string, up: boolean): Promise<void> {
    await ip("-n", ns, "link", "set", dev, up ? "up" : "down");
  }

  /** Start `node ARGS` inside `ns` (cwd: the repository), stdout and stderr to `<label>.out`. */
  spawnNode(
    ns: string,
    label: string,
    args: string[],
    logFile?: string,
  ): NsProcess {
    const outFile = join(this.dir, `${label}.out`);
    const fd = openSync(outFile, "a");
    let child: ChildProcess;
    try {
      child = spawn("ip", ["netns", "exec", ns, process.execPath, ...args], {
        cwd: REPO_ROOT,
        stdio: ["ignore", fd, fd],
        detached: true,
      });
    } finally {
      closeSync(fd);
    }
    return this.track(ns, label, child, outFile, logFile);
  }

  /**
   * Start any program inside `ns` (cwd: `cwd`, default the repository),
   * stdout and stderr to `<label>.out`; `logFile` is where its bunyan log
   * goes, if it writes one.
   */
  spawnProgram(
    ns: string,
    label: string,
    file: string,
    args: string[],
    opts: { cwd?: string; logFile?: string; env?: NodeJS.ProcessEnv } = {},
  ): NsProcess {
    const outFile = join(this.dir, `${label}.out`);
    const fd = openSync(outFile, "a");
    let child: ChildProcess;
    try {
      child = spawn("ip", ["netns", "exec", ns, file, ...args], {
        cwd: opts.cwd ?? REPO_ROOT,
        stdio: ["ignore", fd, fd],
        detached: true,
        env: opts.env ?? process.env,
      });
    } finally {
      closeSync(fd);
    }
    return this.track(ns, label, child, outFile, opts.logFile);
  }

  /** Start one of the commands (`server`, `client`, `mirror`) with its bunyan log in the lab dir. */
  startCommand(
    ns: string,
    label: string,
    command: "server" | "client" | "mirror",
    config: string,
    args: string[],
  ): NsProcess {
    const logFile = join(this.dir, `${label}.log`);
    const bin = join(REPO_ROOT, "bin", `move_it_${command}.js`);
    return this.spawnNode(
      ns,
      label,
      [bin, config, ...args, "-l", logFile],
      logFile,
    );
  }

  /** A SUB socket inside `ns` connected to `endpoint` (tcp://host:port), collecting frames; its stderr goes to `<label>.out`. */
  subscribe(ns: string, label: string, endpoint: string): NsSubscriber {
    const outFile = join(this.dir, `${label}.out`);
    const fd = openSync(outFile, "a");
    let child: ChildProcess;
    try {
      child = spawn(
        "ip",
        [
          "netns",
          "exec",
          ns,
          process.execPath,
          "--input-type=module",
          "-e",
          SUBSCRIBE_SCRIPT,
          endpoint,
        ],
        {
          cwd: REPO_ROOT,
          stdio: ["ignore", "pipe", fd],
          detached: true,
        },
      );
    } finally {
      closeSync(fd);
    }
    const frames: string[] = [];
    let pending = "";
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (chunk: string) => {
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines)
        if (line !== "") frames.push(JSON.parse(line) as string);
    });
    const sub = {
      frames,
      proc: this.track(ns, label, child, outFile, undefined),
    };
    this.subscribers.push(sub);
    return sub;
  }

  /** Try a TCP connect to host:port from inside `ns`. */
  async connect(
    ns: string,
    host: string,
    port: number,
    timeoutMs = 1500,
  ): Promise<ConnectResult> {
    try {
      const { stdout } = await run(
        "ip",
        [
          "netns",
          "exec",
          ns,
          process.execPath,
          "-e",
          CONNECT_SCRIPT,
          host,
          String(port),
          String(timeoutMs),
        ],
        {
          timeout: timeoutMs + 10_000,
        },
      );
      return { connected: true, detail: stdout.trim() };
    } catch (err) {
      const e = err as { stdout?: string; message: string };
      return { connected: false, detail: (e.stdout ?? "").trim() || e.message };
    }
  }

  private track(
    ns: string,
    label: string,
    child: ChildProcess,
    outFile: string,
    logFile: string | undefined,
  ): NsProcess {
    const exited = new Promise<string>((resolve) => {
      child.once("exit", (code, signal) => resolve(signal ?? String(code)));
      child.once("error", (err) => resolve(`spawn failed: ${err.message}`));
    });
    const proc: NsProcess = {
      label,
      ns,
      child,
      logFile,
      outFile,
      exited,
      records: async () =>
        logFile === undefined
          ? []
          : parseLog(await readFile(logFile, "utf8").catch(() => "")),
    };
    this.procs.push(proc);
    return proc;
  }

  /** Stop one process: SIGTERM, then SIGKILL of its group after the grace period. */
  async stop(proc: NsProcess): Promise<void> {
    const { child } = proc;
    if (
      child.exitCode !== null ||
      child.signalCode !== null ||
      child.pid === undefined
    )
      return;
    signalGroup(child, "SIGTERM");
    const timer = setTimeout(
      () => signalGroup(child, "SIGKILL"),
      this.opts.killAfterMs ?? 6000,
    );
    await proc.exited;
    clearTimeout(timer);
  }

  /**
   * The last `lines` lines of every process's log and output, for a failure
   * report.
   */
  async tails(lines = 40): Promise<string> {
    const parts: string[] = [
      `lab dirs (kept): ${[this.dir, ...this.extraDirs].join(" ")}`,
    ];
    for (const p of this.procs) {
      for (const file of [p.logFile, p.outFile]) {
        if (file === undefined) continue;
        const text = await readFile(file, "utf8").catch(() => "");
        const all = text.split("\n").filter((l) => l !== "");
        parts.push(
          `----- ${p.label} (${p.ns}) ${file}: last ${Math.min(lines, all.length)} of ${all.length} lines`,
        );
        parts.push(...all.slice(-lines));
      }
    }
    for (const sub of this.subscribers) {
      parts.push(
        `----- ${sub.proc.label} (${sub.proc.ns}): ${sub.frames.length} frames received, the last ${Math.min(lines, sub.frames.length)}:`,
      );
      parts.push(...sub.frames.slice(-lines));
    }
    return parts.join("\n");
  }

  /**
   * Stop every process, kill anything still inside our namespaces, delete
   * the namespaces, and remove the lab dir unless `keepDir`. Idempotent;
   * never throws (problems are returned, for the test to report).
   */
  teardown(keepDir = false): Promise<string[]> {
    const problems: string[] = [];
    this.torn ??= (async () => {
      await Promise.all(
        this.procs.map((p) =>
          this.stop(p).catch((err: unknown) =>
            problems.push(`stop ${p.label}: ${String(err)}`),
          ),
        ),
      );
      for (const ns of this.namespaces) {
        const pids = await ip("netns", "pids", ns).catch(() => "");
        for (const pid of pids.split(/\s+/).filter(Boolean)) {
          try {
            process.kill(Number(pid), "SIGKILL");
            problems.push(`killed leftover pid ${pid} in ${ns}`);
          } catch {
            // Gone meanwhile.
          }
        }
        await ip("netns", "delete", ns).catch((err: unknown) =>
          problems.push(String(err)),
        );
      }
      if (!keepDir)
        for (const dir of [this.dir, ...this.extraDirs])
          await rm(dir, { recursive: true, force: true });
    })();
    return this.torn.then(() => problems);
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // Already gone.
    }
  }
}

/** Bunyan JSON lines to records; other lines are skipped. */
export function parseLog(text: string): LogRecord[] {
  const out: LogRecord[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      out.push(JSON.parse(line) as LogRecord);
    } catch {
      // A line cut by a crash.
    }
  }
  return out;
}
