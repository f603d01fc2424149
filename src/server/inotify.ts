/**
 * Linux inotify through inotify-tools' `inotifywait`: the two events the
 * reference watches with pyinotify, IN_CLOSE_WRITE (a file written in place
 * is complete) and IN_MOVED_TO (a file was moved into place). chokidar (Node's
 * fs.watch) cannot see "closed after write", so where inotifywait is
 * installed the server uses it and needs no quiet-time guess.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { accessSync, constants } from "node:fs";
import type { Logger } from "../log.js";
import { backoff } from "../util/abort.js";

export const INOTIFYWAIT = "inotifywait";

let available: boolean | undefined;

/** True if `inotifywait` can be run here (checked once). */
export function inotifyAvailable(): boolean {
  available ??=
    process.platform === "linux" &&
    spawnSync(INOTIFYWAIT, ["--help"], { stdio: "ignore" }).error === undefined;
  return available;
}

const SETPRIV = "/usr/bin/setpriv";
let setpriv: boolean | undefined;

/**
 * The command line for inotifywait, through util-linux's `setpriv
 * --pdeathsig` where it exists: a server killed with -9 takes its
 * inotifywait with it instead of leaving it holding an inotify instance.
 */
function inotifyCommand(args: string[]): [string, string[]] {
  setpriv ??= process.platform === "linux" && canRun(SETPRIV);
  return setpriv
    ? [SETPRIV, ["--pdeathsig", "KILL", "--", INOTIFYWAIT, ...args]]
    : [INOTIFYWAIT, args];
}

function canRun(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface InotifyOptions {
  root: string;
  /** Called with the absolute path of each file closed after writing or moved in. */
  onFile: (path: string) => void;
  log: Logger;
}

/** One `inotifywait -m -r` on a tree, restarted with backoff if it dies. */
export class InotifySource {
  private child: ChildProcess | undefined;
  private closed = false;
  private restarts = 0;

  constructor(private readonly opts: InotifyOptions) {}

  /** Resolves once the watches are established, so nothing after it is missed. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const args = [
        "-m",
        "-r",
        "--no-newline",
        "--format",
        "%w%f%0",
        "-e",
        "close_write",
        "-e",
        "moved_to",
        this.opts.root,
      ];
      const child = spawn(...inotifyCommand(args), {
        stdio: ["ignore", "pipe", "pipe"],
      });
      this.child = child;
      let pending = "";
      let ready = false;
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        const parts = (pending + chunk).split("\0");
        pending = parts.pop() ?? "";
        for (const p of parts) if (p !== "") this.opts.onFile(p);
      });
      child.stderr.setEncoding("utf8").on("data", (text: string) => {
        if (!ready && text.includes("Watches established")) {
          ready = true;
          this.restarts = 0;
          resolve();
        } else if (!text.includes("Setting up watches")) {
          this.opts.log.warn(
            { root: this.opts.root, stderr: text.trim() },
            "inotifywait says",
          );
        }
      });
      child.once("error", (err) =>
        ready
          ? this.opts.log.error({ err }, "inotifywait failed")
          : reject(err),
      );
      child.once("exit", (code) => {
        if (!ready)
          reject(
            new Error(
              `inotifywait exited with code ${code} watching ${this.opts.root}`,
            ),
          );
        else if (!this.closed) this.restart(code);
      });
    });
  }

  private restart(code: number | null): void {
    const wait = backoff(this.restarts++);
    this.opts.log.error(
      { root: this.opts.root, code, retryInMs: wait },
      "watcher died, restarting",
    );
    setTimeout(() => {
      if (!this.closed)
        this.start().catch((err: unknown) =>
          this.opts.log.error({ err }, "watcher restart failed"),
        );
    }, wait).unref();
  }

  close(): void {
    this.closed = true;
    this.child?.kill("SIGTERM");
  }
}
