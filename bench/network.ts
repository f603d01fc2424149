/**
 * One big file over sftp to a loopback sshd: the client asks the server to
 * push to `sftp://user@127.0.0.1:PORT/dir/`, the server's sftp mover
 * uploads it (key and known_hosts from its connection parameters), and the
 * baseline is OpenSSH's own `sftp` putting the same file to the same sshd.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { sftpBaseline } from "./baseline.js";
import { MiB, dropAll, emptyDir, returnAll, stagePayloads } from "./files.js";
import { startPair, type Pair } from "./pair.js";
import type { ScenarioResult } from "./results.js";
import { collect, timings, type Ctx } from "./scenarios.js";
import { startSshd, type Sshd } from "./sshd.js";

interface SftpRun {
  mbPerS: number;
  sftpMbPerS: number;
}

async function sftpRun(
  pair: Pair,
  sshd: Sshd,
  payloads: ReturnType<typeof stagePayloads>,
  r: number,
  quietMs: number,
): Promise<SftpRun> {
  const dropped = await dropAll(pair.stageDir, pair.inDir, `r${r}`, payloads);
  await collect(pair, dropped, quietMs);
  const { seconds } = timings(pair, dropped);
  const bytes = payloads.reduce((s, p) => s + p.size, 0);
  const d = dropped[0]!;
  const copy = join(pair.destDir, `baseline-${d.name}`);
  const base = await sftpBaseline(join(pair.inDir, d.name), sshd, copy, copy);
  emptyDir(pair.destDir);
  returnAll(pair.stageDir, pair.inDir, dropped);
  pair.arrivals.clear();
  return {
    mbPerS: bytes / 1e6 / seconds,
    sftpMbPerS: base.bytes / 1e6 / base.seconds,
  };
}

/** The sftp scenario with a file of `size` bytes. */
export async function sftp(ctx: Ctx, size: number): Promise<ScenarioResult> {
  const started = performance.now();
  const sshd = await startSshd(join(ctx.dirs.work, "sshd"));
  const destDir = join(ctx.dirs.work, "sftp-out");
  mkdirSync(destDir, { recursive: true });
  const label = "sftp";
  try {
    const pair = await startPair(ctx.dirs, {
      label,
      destDir,
      destUrl: `sftp://${sshd.user}@${sshd.host}:${sshd.port}${destDir}/`,
      serverExtra: [
        `connection_parameters__ssh_key_filename = ${sshd.key}`,
        `connection_parameters__known_hosts = ${sshd.knownHosts}`,
      ],
    });
    try {
      return await sftpRuns(ctx, pair, sshd, size, started);
    } finally {
      await pair.stop();
    }
  } finally {
    await sshd.proc.stop();
  }
}

async function sftpRuns(
  ctx: Ctx,
  pair: Pair,
  sshd: Sshd,
  size: number,
  started: number,
): Promise<ScenarioResult> {
  const payloads = stagePayloads(pair.stageDir, "g", 1, size);
  const quietMs = Math.max(60_000, (size / MiB) * 200); // no progress is visible until the file is there
  const runs: SftpRun[] = [];
  const n = ctx.quick ? 1 : 3;
  for (let r = 0; r < n; r++) {
    runs.push(await sftpRun(pair, sshd, payloads, r, quietMs));
    ctx.say(
      `  sftp run ${r + 1}/${n}: ${runs[r]?.mbPerS.toFixed(0)} MB/s (OpenSSH sftp ${runs[r]?.sftpMbPerS.toFixed(0)} MB/s)`,
    );
  }
  const sizeText =
    size >= 1024 * MiB ? `${size / (1024 * MiB)} GiB` : `${size / MiB} MiB`;
  return {
    id: "sftp",
    title: `${sizeText} over sftp to a loopback sshd`,
    dest: "sftp",
    status: "ok",
    params: { size, runs: n },
    metrics: [
      {
        name: "MB/s",
        unit: "MB/s",
        values: runs.map((r) => r.mbPerS),
        baseline: runs.map((r) => r.sftpMbPerS),
        baselineName: "OpenSSH sftp",
      },
    ],
    notes: [],
    seconds: (performance.now() - started) / 1000,
  };
}
