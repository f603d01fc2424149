/**
 * Shared plumbing for the real-server test helpers (sshd.ts, ftpd.ts): free
 * ports on 127.0.0.1, "is the binary installed" with the CI rule, waiting
 * for a port to answer, and stopping a daemon with everything it forked.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { createServer, connect, type Server, type Socket } from "node:net";
import { freePort } from "../../src/util/ports.js";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The only address test servers bind. */
export const LOCALHOST = "127.0.0.1";

/** True when the environment says we run in CI (missing servers then fail instead of skipping). */
export function inCi(): boolean {
  return process.env.CI === "true";
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Why a test needing `binary` must be skipped, or undefined to run it. In CI
 * a missing binary is not a reason to skip: the test runs and its helper
 * throws, so the run fails.
 */
export function skipUnless(
  binary: string,
  aptPackages: string,
): string | undefined {
  if (executable(binary) || inCi()) return undefined;
  return `${binary} not found: apt-get install -y ${aptPackages}`;
}

/** Throw (the CI case) when `binary` is missing. */
export function requireBinary(binary: string, aptPackages: string): void {
  if (!executable(binary))
    throw new Error(`${binary} not found: apt-get install -y ${aptPackages}`);
}

export { freePort };

/** A port on 127.0.0.1 where nothing listens (connection refused). */
export async function closedPort(): Promise<number> {
  return freePort();
}

/** A server on 127.0.0.1 that accepts connections and never says a word (for connect timeouts). */
export async function silentServer(): Promise<{
  port: number;
  close(): Promise<void>;
}> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on("error", () => undefined);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, LOCALHOST, resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Resolve once `port` on 127.0.0.1 sends something starting with `greeting`. */
export async function waitForGreeting(
  port: number,
  greeting: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: LOCALHOST, port });
      s.setTimeout(1000, () => s.destroy());
      s.once("data", (d) => {
        s.destroy();
        resolve(d.toString("latin1").startsWith(greeting));
      });
      s.once("error", () => resolve(false));
      s.once("close", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(
        `nothing answered on ${LOCALHOST}:${port} within ${timeoutMs} ms`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Start a daemon that must be told its port in advance (sshd, vsftpd): a
 * free port is picked, and another one if the daemon exits or stays silent
 * because a concurrently running test took that port in between (up to
 * `attempts` tries). `launch` writes the config and starts the daemon;
 * `greeting` is what the port says once it is up.
 */
export async function startOnFreePort<T extends { daemon: Daemon }>(
  what: string,
  greeting: string,
  launch: (port: number) => Promise<T>,
  attempts = 3,
): Promise<T & { port: number }> {
  const failures: string[] = [];
  for (let i = 0; i < attempts; i++) {
    const port = await freePort();
    const started = await launch(port);
    const gone = started.daemon.exited.then(() => {
      throw new Error(`${what} exited`);
    });
    try {
      await Promise.race([waitForGreeting(port, greeting), gone]);
      void gone.catch(() => undefined);
      return { ...started, port };
    } catch (err) {
      void gone.catch(() => undefined);
      await started.daemon.stop();
      failures.push(
        `port ${port}: ${err instanceof Error ? err.message : String(err)}: ${started.daemon.lines.join(" | ")}`,
      );
    }
  }
  throw new Error(`${what} did not start: ${failures.join("; ")}`);
}

/** A started daemon: its output lines and a way to stop it and all it forked. */
export interface Daemon {
  readonly child: ChildProcess;
  /** stdout and stderr lines so far. */
  readonly lines: string[];
  /** Resolves when the daemon has exited. */
  readonly exited: Promise<void>;
  /** Kill (SIGKILL) the per-connection processes the daemon forked, keeping the listener; returns how many. */
  killSessions(): Promise<number>;
  stop(): Promise<void>;
}

const SETPRIV = "/usr/bin/setpriv";
const haveSetpriv = executable(SETPRIV);

/**
 * `[command, args]` that run `binary args` and die with SIGKILL when this
 * test process dies, however it dies (an abort or a SIGKILL skips every
 * `after` hook): util-linux's `setpriv --pdeathsig` sets PR_SET_PDEATHSIG,
 * which survives the exec. Without setpriv, the plain command.
 */
export function dieWithParent(
  binary: string,
  args: readonly string[],
): [string, string[]] {
  return haveSetpriv
    ? [SETPRIV, ["--pdeathsig", "KILL", "--", binary, ...args]]
    : [binary, [...args]];
}

/** Start `binary args` in its own process group, collecting its output. */
export function startDaemon(binary: string, args: string[]): Daemon {
  const child = spawn(...dieWithParent(binary, args), {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const lines: string[] = [];
  const collect = (chunk: Buffer): void => {
    lines.push(
      ...chunk
        .toString("utf8")
        .split("\n")
        .filter((l) => l !== ""),
    );
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.once("error", (err) => {
      lines.push(`spawn failed: ${err.message}`);
      resolve();
    });
  });
  let stopped = false;
  return {
    child,
    lines,
    exited,
    killSessions: async () => {
      const pids = await descendants(child.pid);
      killPids(pids);
      return pids.length;
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      const sessions = await descendants(child.pid).catch(() => []);
      killGroup(child, "SIGTERM");
      const timer = setTimeout(() => killGroup(child, "SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
      killPids(sessions); // per-connection processes that outlived the listener
    },
  };
}

/** Live processes descended from `root` (sshd and vsftpd fork one or more per connection, sshd in new sessions). */
async function descendants(root: number | undefined): Promise<number[]> {
  if (root === undefined) return [];
  const { stdout } = await run("ps", ["-e", "-o", "pid=,ppid=,stat="]);
  const rows = stdout
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((r) => r.length === 3 && !r[2]!.startsWith("Z"))
    .map(([pid, ppid]) => ({ pid: Number(pid), ppid: Number(ppid) }));
  const found: number[] = [];
  const walk = (parent: number): void => {
    for (const r of rows) {
      if (r.ppid !== parent) continue;
      found.push(r.pid);
      walk(r.pid);
    }
  };
  walk(root);
  return found;
}

function killPids(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}
