/**
 * The server alone: how long from a file's rename into the watched
 * directory to its `file` announcement on the publisher, read by a ZeroMQ
 * SUB socket in this process. Splits the end-to-end latency into the
 * server's detection/announce part and the rest (client, request, move).
 */
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import * as zmq from "zeromq";
import {
  KiB,
  MiB,
  dropAll,
  dropOne,
  emptyDir,
  returnAll,
  stagePayloads,
  writePayload,
  type Dropped,
  type Payload,
} from "./files.js";
import { startServer } from "./pair.js";
import { LOCALHOST, sleep, type Proc } from "./procs.js";
import { metricOf, type ScenarioResult } from "./results.js";
import type { Ctx } from "./scenarios.js";
import { latencyPercentiles } from "./stats.js";

/** Announcements seen on the server's publisher, by uid, with their arrival time. */
export class Announcements {
  private readonly sock = new zmq.Subscriber({ linger: 0 });
  readonly seen = new Map<string, number>();

  constructor(port: number) {
    this.sock.connect(`tcp://${LOCALHOST}:${port}`);
    this.sock.subscribe("pytroll://bench");
    void this.read();
  }

  private async read(): Promise<void> {
    for (;;) {
      let frames: Buffer[];
      try {
        frames = await this.sock.receive();
      } catch {
        return; // closed
      }
      const now = performance.now();
      const uid = /"uid":\s*"([^"]+)"/.exec(
        frames[0]?.toString("utf8") ?? "",
      )?.[1];
      if (uid !== undefined && !this.seen.has(uid)) this.seen.set(uid, now);
    }
  }

  async waitFor(names: readonly string[], timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    let missing = names.length;
    while (performance.now() < deadline) {
      missing = names.filter((n) => !this.seen.has(n)).length;
      if (missing === 0) return 0;
      await sleep(5);
    }
    return missing;
  }

  close(): void {
    this.sock.close();
  }
}

/** Drop probes until the subscription is live (ZeroMQ drops what is published before). */
async function connected(
  ann: Announcements,
  server: Proc,
  stageDir: string,
  inDir: string,
): Promise<void> {
  for (let k = 0; k < 60; k++) {
    const d = dropOne(
      stageDir,
      inDir,
      "p",
      writePayload(stageDir, `probe${k}.dat`, k, 64),
    );
    if ((await ann.waitFor([d.name], 500)) === 0) return;
    if (!server.alive()) throw new Error(server.obituary());
  }
  throw new Error("no announcement reached the subscriber in 30 s");
}

interface AnnounceRun {
  pacedP50: number;
  pacedP99: number;
  burstPerS: number;
  burstP50: number;
  burstP99: number;
}

async function measure(
  ann: Announcements,
  dropped: readonly Dropped[],
): Promise<number[]> {
  const missing = await ann.waitFor(
    dropped.map((d) => d.name),
    30_000,
  );
  if (missing > 0)
    throw new Error(
      `${missing} of ${dropped.length} files were never announced`,
    );
  return dropped.map((d) => (ann.seen.get(d.name) ?? Number.NaN) - d.t0);
}

async function announceRun(
  ann: Announcements,
  stageDir: string,
  inDir: string,
  files: { paced: Payload[]; burst: Payload[] },
  r: number,
): Promise<AnnounceRun> {
  const pacedDropped: Dropped[] = [];
  for (const p of files.paced) {
    pacedDropped.push(dropOne(stageDir, inDir, `a${r}`, p));
    await sleep(100);
  }
  const paced = latencyPercentiles(await measure(ann, pacedDropped));
  const burstDropped = await dropAll(stageDir, inDir, `b${r}`, files.burst);
  const burstLat = await measure(ann, burstDropped);
  const last = Math.max(
    ...burstDropped.map((d) => ann.seen.get(d.name) ?? Number.NaN),
  );
  const first = Math.min(...burstDropped.map((d) => d.t0));
  const burst = latencyPercentiles(burstLat);
  returnAll(stageDir, inDir, [...pacedDropped, ...burstDropped]);
  ann.seen.clear();
  await sleep(300);
  return {
    pacedP50: paced.p50,
    pacedP99: paced.p99,
    burstPerS: files.burst.length / ((last - first) / 1000),
    burstP50: burst.p50,
    burstP99: burst.p99,
  };
}

/** The announce scenario (no client needed). */
export async function announce(ctx: Ctx): Promise<ScenarioResult> {
  const started = performance.now();
  const base = join(ctx.dirs.work, "announce");
  const { server, publishPort, inDir, stageDir } = await startServer(
    ctx.dirs,
    base,
  );
  const ann = new Announcements(publishPort);
  try {
    await connected(ann, server, stageDir, inDir);
    emptyDir(inDir);
    const nBurst = ctx.quick ? 300 : 1000;
    const files = {
      paced: stagePayloads(stageDir, "m", ctx.quick ? 10 : 20, MiB),
      burst: stagePayloads(stageDir, "k", nBurst, 10 * KiB),
    };
    const runs: AnnounceRun[] = [];
    for (let r = 0; r < ctx.runs; r++)
      runs.push(await announceRun(ann, stageDir, inDir, files, r));
    return {
      id: "announce",
      title: `server alone: rename → announce`,
      dest: "-",
      status: "ok",
      params: { paced: files.paced.length, burst: nBurst, runs: ctx.runs },
      metrics: [
        metricOf(runs, "paced latency p50", "ms", (r) => r.pacedP50),
        metricOf(runs, "paced latency p99", "ms", (r) => r.pacedP99),
        metricOf(runs, "burst announcements/s", "files/s", (r) => r.burstPerS),
        metricOf(runs, "burst latency p50", "ms", (r) => r.burstP50),
        metricOf(runs, "burst latency p99", "ms", (r) => r.burstP99),
      ],
      notes: [
        `paced: ${files.paced.length} × 1 MiB every 100 ms; burst: ${nBurst} × 10 KiB at once; times are when this process's SUB socket got the file message`,
      ],
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    ann.close();
    await server.stop();
  }
}
