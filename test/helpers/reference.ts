/**
 * The unchanged Python suite (trollmoves, the v0.13.1 mirror, posttroll) as
 * a test peer. It is looked for at `$MOVE_IT_REFERENCE`, else at
 * `../shared/reference` beside the checkout; `referenceUnavailable()` says
 * why it cannot run here (not found, or its Python packages missing:
 * `setup.sh` in that folder installs them).
 *
 * The Python programs bind `tcp://*`, advertise the default route's address
 * and multicast when no nameserver is set, so they only ever run inside a
 * network namespace whose one interface is `lo` (see `InteropLab`).
 */
import { execFile } from "node:child_process";
import { access } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import {
  NetLab,
  REPO_ROOT,
  netnsUnavailable,
  type NsProcess,
} from "./netns.js";

const run = promisify(execFile);

/** Where the reference lives (whether or not it is there). */
export function referenceDir(): string {
  return resolve(
    process.env["MOVE_IT_REFERENCE"] ??
      join(REPO_ROOT, "..", "shared", "reference"),
  );
}

/** Why the Python suite cannot run here, or undefined when it can. */
export async function referenceUnavailable(): Promise<string | undefined> {
  const dir = referenceDir();
  const py = join(dir, "py");
  try {
    await access(py);
  } catch {
    return `the Python reference suite is not at ${dir} (set MOVE_IT_REFERENCE)`;
  }
  try {
    await run(
      py,
      [
        "python",
        "-c",
        "import trollmoves.server, trollmoves.client, posttroll.ns, posttroll.message, pyinotify",
      ],
      { timeout: 60_000 },
    );
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    const last = (e.stderr ?? e.message).trim().split("\n").pop() ?? "";
    return `the Python reference suite cannot run (${last}); run ${join(dir, "setup.sh")} as root and apt-get install python3-pyinotify`;
  }
  return netnsUnavailable();
}

export type PyProgram =
  | "move_it_server"
  | "move_it_client"
  | "move_it_mirror"
  | "nameserver"
  | "python";

/**
 * A lab of one network namespace with only `lo`, where Python and move_it
 * peers talk over 127.0.0.1.
 */
export class InteropLab {
  private constructor(
    readonly lab: NetLab,
    readonly ns: string,
  ) {}

  get dir(): string {
    return this.lab.dir;
  }

  static async create(tag: string): Promise<InteropLab> {
    const lab = await NetLab.create(tag);
    try {
      const ns = await lab.namespace("lo");
      return new InteropLab(lab, ns);
    } catch (err) {
      await lab.teardown();
      throw err;
    }
  }

  /** A Python program of the reference (`py PROGRAM ARGS`), output to `<label>.out`. */
  py(
    label: string,
    program: PyProgram,
    args: string[],
    env?: NodeJS.ProcessEnv,
  ): NsProcess {
    return this.lab.spawnProgram(
      this.ns,
      label,
      join(referenceDir(), "py"),
      [program, ...args],
      {
        cwd: this.lab.dir,
        env: { ...process.env, PYTHONUNBUFFERED: "1", ...env },
      },
    );
  }

  /** One of our commands (bin/move_it_NAME.js), bunyan log to `<label>.log`. */
  ours(
    label: string,
    command: string,
    args: string[],
    env?: NodeJS.ProcessEnv,
  ): NsProcess {
    const logFile = join(this.lab.dir, `${label}.log`);
    return this.lab.spawnProgram(
      this.ns,
      label,
      process.execPath,
      [join(REPO_ROOT, "bin", `move_it_${command}.js`), ...args, "-l", logFile],
      {
        logFile,
        env: env === undefined ? process.env : { ...process.env, ...env },
      },
    );
  }

  /** Wait until 127.0.0.1:port accepts connections inside the namespace. */
  async reachable(port: number, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.lab.connect(this.ns, "127.0.0.1", port, 1000);
      if (r.connected) return;
      if (Date.now() > deadline)
        throw new Error(
          `127.0.0.1:${port} not reachable in ${this.ns} within ${timeoutMs} ms (${r.detail})`,
        );
      await new Promise((res) => setTimeout(res, 100));
    }
  }

  stop(proc: NsProcess): Promise<void> {
    return this.lab.stop(proc);
  }

  /** SIGKILL one process's group, and wait until it is gone. */
  async kill9(proc: NsProcess): Promise<void> {
    if (proc.child.pid !== undefined) {
      try {
        process.kill(-proc.child.pid, "SIGKILL");
      } catch {
        // Gone already.
      }
    }
    await proc.exited;
  }
}
