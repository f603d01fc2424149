/**
 * What the machine itself does with the same files, timed the same way:
 * one `cp` process copying them into a fresh directory on the destination
 * filesystem, and OpenSSH's `sftp` putting a file to the loopback sshd.
 * The copies are removed right after timing, so their dirty pages do not
 * have to be written back while the next run is measured.
 */
import { spawn } from "node:child_process";
import { mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

export interface Timed {
  seconds: number;
  files: number;
  bytes: number;
}

/** Run `command args`, resolve with its wall time in seconds; reject on a non-zero exit. */
export function timeCommand(
  command: string,
  args: readonly string[],
  stdin?: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(command, args, {
      stdio: [stdin === undefined ? "ignore" : "pipe", "ignore", "pipe"],
    });
    let err = "";
    child.stderr?.on("data", (d: Buffer) => {
      err = (err + d.toString()).slice(-2000);
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      const seconds = (performance.now() - start) / 1000;
      if (code === 0) resolve(seconds);
      else
        reject(
          new Error(`${command} exited ${code}: ${err.trim().slice(-500)}`),
        );
    });
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

/** `cp SRC... DIR/` in one process into a fresh `destDir`; checks the copies' sizes, then removes them. */
export async function cpBaseline(
  sources: readonly string[],
  destDir: string,
): Promise<Timed> {
  rmSync(destDir, { recursive: true, force: true });
  mkdirSync(destDir, { recursive: true });
  try {
    const seconds = await timeCommand("cp", ["--", ...sources, `${destDir}/`]);
    let bytes = 0;
    for (const s of sources) {
      const size = statSync(s).size;
      const copied = statSync(
        join(destDir, s.slice(s.lastIndexOf("/") + 1)),
      ).size;
      if (copied !== size)
        throw new Error(
          `cp baseline: ${s} copied as ${copied} bytes, expected ${size}`,
        );
      bytes += size;
    }
    return { seconds, files: sources.length, bytes };
  } finally {
    rmSync(destDir, { recursive: true, force: true });
  }
}

export interface SftpTarget {
  host: string;
  port: number;
  user: string;
  key: string;
  knownHosts: string;
}

/** OpenSSH `sftp -b -` putting `source` to `remotePath`; the remote copy is removed after (local path `localCopy`). */
export async function sftpBaseline(
  source: string,
  t: SftpTarget,
  remotePath: string,
  localCopy: string,
): Promise<Timed> {
  const args = [
    "-q",
    "-b",
    "-",
    "-P",
    String(t.port),
    "-i",
    t.key,
    "-o",
    `UserKnownHostsFile=${t.knownHosts}`,
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "BatchMode=yes",
    `${t.user}@${t.host}`,
  ];
  try {
    const seconds = await timeCommand(
      "sftp",
      args,
      `put ${source} ${remotePath}\n`,
    );
    const bytes = statSync(source).size;
    const copied = statSync(localCopy).size;
    if (copied !== bytes)
      throw new Error(
        `sftp baseline: copied ${copied} bytes, expected ${bytes}`,
      );
    return { seconds, files: 1, bytes };
  } finally {
    rmSync(localCopy, { force: true });
  }
}
