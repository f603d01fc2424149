/**
 * Processes for the benchmark: the built move_it commands (and sshd) run as
 * separate processes, each in its own process group with its output going
 * to a log file. Every process started here is tracked, so the benchmark
 * can stop them all at the end, on failure and on a signal. Also: free
 * ports on 127.0.0.1 and a process's resident memory from /proc.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const LOCALHOST = "127.0.0.1";

/** The repository root (this file is dist/bench/procs.js once built). */
export const REPO_ROOT = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "../..",
);

/** A process the benchmark started. */
export interface Proc {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  readonly logFile: string;
  /** Resolves with the exit code (or the signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  alive(): boolean;
  /** Exit code or signal once it ended. */
  status(): number | string | undefined;
  /** What happened to it, for an error message: `name exited (status); last log line: ...`. */
  obituary(): string;
  /** The last `chars` characters of its output. */
  tail(chars?: number): string;
  /** SIGTERM (the group), SIGKILL after `graceMs`, then kill what it forked. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<Proc>();

/** Start `command args` in a new process group; stdout and stderr go to `logFile`. */
export function startProc(
  name: string,
  command: string,
  args: readonly string[],
  logFile: string,
  env?: NodeJS.ProcessEnv,
): Proc {
  const fd = openSync(logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(command, args, {
      stdio: ["ignore", fd, fd],
      detached: true,
      env: env ?? process.env,
    });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined)
    throw new Error(`${name}: could not start ${command}`);
  let status: number | string | undefined;
  const exited = new Promise<number | string>((res) => {
    child.once("exit", (code, signal) =>
      res((status = code ?? signal ?? "unknown")),
    );
    child.once("error", () => res((status = "spawn error")));
  });
  const proc = makeProc(name, child, logFile, exited, () => status);
  live.add(proc);
  void exited.then(() => live.delete(proc));
  return proc;
}

function makeProc(
  name: string,
  child: ChildProcess,
  logFile: string,
  exited: Promise<number | string>,
  status: () => number | string | undefined,
): Proc {
  let stopping: Promise<void> | undefined;
  const pid = child.pid!;
  const alive = (): boolean => status() === undefined;
  const tail = (chars = 2000): string => readTail(logFile, chars);
  return {
    name,
    pid,
    child,
    logFile,
    exited,
    alive,
    status,
    obituary: () =>
      `${name} ${alive() ? "is running" : `exited (${status()})`}; last log line: ${tail(4000).trim().split("\n").pop()?.slice(0, 300) ?? ""}`,
    tail,
    stop: (graceMs = 8000) =>
      (stopping ??= stopGroup(pid, exited, alive, graceMs)),
  };
}

async function stopGroup(
  pid: number,
  exited: Promise<unknown>,
  alive: () => boolean,
  graceMs: number,
): Promise<void> {
  const forked = descendants(pid);
  if (alive()) signalGroup(pid, "SIGTERM");
  const timer = setTimeout(() => signalGroup(pid, "SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
  signalGroup(pid, "SIGKILL"); // anything left in the group
  for (const p of forked) signalPid(p, "SIGKILL"); // children that left the group (sshd sessions)
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone.
  }
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/** Pids descended from `root`, from /proc (sshd forks sessions into new process groups). */
export function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parent.set(Number(entry), ppid);
    } catch {
      // Exited while we looked.
    }
  }
  const found: number[] = [];
  const walk = (p: number): void => {
    for (const [pid, pp] of parent) {
      if (pp !== p || found.includes(pid)) continue;
      found.push(pid);
      walk(pid);
    }
  };
  walk(root);
  return found;
}

/** Stop every process still running (in parallel). */
export async function stopAll(): Promise<void> {
  await Promise.allSettled([...live].map((p) => p.stop(3000)));
}

/** Last resort (process 'exit'): SIGKILL every tracked group and what it forked, synchronously. */
export function killAllNow(): void {
  for (const p of live) {
    const forked = descendants(p.pid);
    signalGroup(p.pid, "SIGKILL");
    for (const f of forked) signalPid(f, "SIGKILL");
  }
  live.clear();
}

function readTail(file: string, chars: number): string {
  try {
    const text = readFileSync(file, "utf8");
    return text.slice(-chars);
  } catch {
    return "";
  }
}

/** Node flags for the move_it processes: BENCH_NODE_FLAGS (e.g. `--trace-gc`), and `--cpu-prof` into `profDir` when profiling. */
function nodeFlags(profDir: string | undefined, name: string): string[] {
  const extra = (process.env.BENCH_NODE_FLAGS ?? "")
    .split(/\s+/)
    .filter((f) => f !== "");
  if (profDir === undefined) return extra;
  return [...extra, "--cpu-prof", `--cpu-prof-dir=${join(profDir, name)}`];
}

/** Start a built move_it command (`move_it_server`, `move_it_client`) with node. */
export function startMoveIt(
  command: string,
  args: readonly string[],
  logFile: string,
  profDir?: string,
): Proc {
  const bin = join(REPO_ROOT, "bin", `${command}.js`);
  return startProc(
    command,
    process.execPath,
    [...nodeFlags(profDir, command), bin, ...args],
    logFile,
  );
}

export { freePort } from "../src/util/ports.js";

/** Resident memory of a process, KiB: current (VmRSS) and peak (VmHWM); undefined when it is gone. */
export function memoryOf(
  pid: number,
): { rssKiB: number; hwmKiB: number } | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const field = (name: string): number =>
    Number(
      new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, "m").exec(status)?.[1] ??
        Number.NaN,
    );
  return { rssKiB: field("VmRSS"), hwmKiB: field("VmHWM") };
}

/** CPU time (user + system, all threads) a process has used so far, in ms; NaN when it is gone. */
export function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // After the command: state is field 3, utime 14 and stime 15 (1-based), in clock ticks (100 Hz on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

/** CPU time (ms) of a process and everything it forked (the server's inotifywait, say). */
export function cpuMsOfTree(pid: number): number {
  return [pid, ...descendants(pid)].reduce(
    (sum, p) => sum + (cpuMsOf(p) || 0),
    0,
  );
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((res) => setTimeout(res, ms));
}
