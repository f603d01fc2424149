/**
 * The file:// scenarios: bursts of files dropped at once (throughput and
 * latency, beside a `cp` of the same files) and a paced trickle (latency),
 * each to a destination on the same filesystem (`link`: the server makes a
 * hard link) and on a tmpfs (`copy`: a real copy).
 */
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { cpBaseline } from "./baseline.js";
import { Announcements } from "./announce.js";
import { startFloor } from "./floor.js";
import {
  KiB,
  MiB,
  dropAll,
  dropOne,
  emptyDir,
  returnAll,
  stagePayloads,
  verifyDelivered,
  type Dropped,
  type Payload,
} from "./files.js";
import { startPair, type BenchDirs, type Pair } from "./pair.js";
import { cpuMsOfTree, sleep } from "./procs.js";
import {
  metricOf,
  type Metric,
  type ScenarioResult,
  type Target,
} from "./results.js";
import { latencyPercentiles, quantile } from "./stats.js";

export type Dest = "link" | "copy";

/** What every scenario gets. */
export interface Ctx {
  dirs: BenchDirs;
  quick: boolean;
  /** Measured runs per scenario. */
  runs: number;
  say(msg: string): void;
}

/** The destination directory of a scenario: same filesystem as the source, or the tmpfs. */
export function destDirFor(ctx: Ctx, label: string, dest: Dest): string {
  return join(dest === "link" ? ctx.dirs.work : ctx.dirs.shm, label, "out");
}

/** Seconds from the first drop to the last arrival, and each file's latency (ms). */
export function timings(
  pair: Pair,
  dropped: readonly Dropped[],
): { seconds: number; latencies: number[] } {
  const latencies = dropped.map(
    (d) => (pair.arrivals.at(d.name) ?? Number.NaN) - d.t0,
  );
  const first = Math.min(...dropped.map((d) => d.t0));
  const last = Math.max(
    ...dropped.map((d) => pair.arrivals.at(d.name) ?? Number.NaN),
  );
  return { seconds: (last - first) / 1000, latencies };
}

/** Wait for the dropped files, then check them; throws on a missing or wrong file. */
export async function collect(
  pair: Pair,
  dropped: readonly Dropped[],
  quietMs: number,
): Promise<void> {
  const missing = await pair.arrivals.waitFor(
    dropped.map((d) => d.name),
    quietMs,
    pair.alive,
  );
  if (missing.length > 0) {
    const why = pair.alive()
      ? `nothing new for ${quietMs} ms`
      : pair.client.alive()
        ? pair.server.obituary()
        : pair.client.obituary();
    throw new Error(
      `${missing.length} of ${dropped.length} files never arrived (${why}); first missing: ${missing[0]}`,
    );
  }
  const size = dropped[0]?.payload.size ?? 1;
  const hashSample = Math.max(1, Math.min(12, Math.floor((256 * MiB) / size))); // at most ~256 MiB hashed a run
  const verdict = await verifyDelivered(pair.destDir, dropped, hashSample);
  if (verdict.errors.length > 0)
    throw new Error(
      `wrong delivery: ${verdict.errors.slice(0, 3).join("; ")} (${verdict.errors.length} errors)`,
    );
}

/** Put the run's files back and empty the destination. */
export async function reset(
  pair: Pair,
  dropped: readonly Dropped[],
): Promise<void> {
  emptyDir(pair.destDir);
  returnAll(pair.stageDir, pair.inDir, dropped);
  pair.arrivals.clear();
  await sleep(300); // let both processes settle (unlink events, GC) before the next run
}

/**
 * An untimed run of the payloads (up to 256 MiB of them), to open every
 * connection and let the JIT compile the hot paths: the processes are
 * long-running daemons, so their warm speed is what counts (a cold first
 * run is ~30% slower for small files).
 */
export async function warmUp(
  pair: Pair,
  payloads: readonly Payload[],
): Promise<void> {
  const size = payloads[0]?.size ?? 1;
  const n = Math.max(
    1,
    Math.min(payloads.length, Math.floor((256 * MiB) / size)),
  );
  const dropped = await dropAll(
    pair.stageDir,
    pair.inDir,
    "w",
    payloads.slice(0, n),
  );
  await collect(pair, dropped, 20_000);
  await reset(pair, dropped);
}

interface BurstSpec {
  id: string;
  size: number;
  sizeText: string;
  count: number;
  quickCount: number;
  /** "memory": both daemons keep their ledgers in memory (MOVE_IT_LEDGER=memory), to show what the disk writes cost. */
  ledger?: "memory";
}

/** The 10 KiB burst with the ledgers in memory: the same run's figure without the ledger's disk writes. */
export const NO_LEDGER_BURST: BurstSpec = {
  id: "burst-10k-memledger",
  size: 10 * KiB,
  sizeText: "10 KiB",
  count: 1000,
  quickCount: 1000,
  ledger: "memory",
};

export const BURSTS: readonly BurstSpec[] = [
  {
    id: "burst-10k",
    size: 10 * KiB,
    sizeText: "10 KiB",
    count: 1000,
    quickCount: 1000,
  },
  { id: "burst-1m", size: MiB, sizeText: "1 MiB", count: 200, quickCount: 60 },
  {
    id: "burst-50m",
    size: 50 * MiB,
    sizeText: "50 MiB",
    count: 20,
    quickCount: 4,
  },
];

interface BurstRun {
  filesPerS: number;
  mbPerS: number;
  p50: number;
  p90: number;
  p99: number;
  cpFilesPerS: number;
  cpMbPerS: number;
  missedEvents: number;
  /** CPU time per file of each process and its children during the run (user + system, ms; 10 ms clock ticks). */
  serverCpuMs: number;
  clientCpuMs: number;
}

async function burstRun(
  ctx: Ctx,
  pair: Pair,
  payloads: readonly Payload[],
  tag: string,
  dest: Dest,
): Promise<BurstRun> {
  const missedBefore = pair.arrivals.missedEvents;
  const cpu0 = [cpuMsOfTree(pair.server.pid), cpuMsOfTree(pair.client.pid)];
  const dropped = await dropAll(pair.stageDir, pair.inDir, tag, payloads);
  await pair.arrivals.waitFor(
    dropped.map((d) => d.name),
    30_000,
    pair.alive,
  );
  const cpu = [
    cpuMsOfTree(pair.server.pid) - cpu0[0]!,
    cpuMsOfTree(pair.client.pid) - cpu0[1]!,
  ];
  await collect(pair, dropped, 30_000);
  const { seconds, latencies } = timings(pair, dropped);
  const bytes = payloads.reduce((s, p) => s + p.size, 0);
  const cpDir = join(dest === "link" ? ctx.dirs.work : ctx.dirs.shm, "cp-out");
  const cp = await cpBaseline(
    dropped.map((d) => join(pair.inDir, d.name)),
    cpDir,
  );
  await reset(pair, dropped);
  return {
    filesPerS: payloads.length / seconds,
    mbPerS: bytes / 1e6 / seconds,
    ...latencyPercentiles(latencies),
    cpFilesPerS: cp.files / cp.seconds,
    cpMbPerS: cp.bytes / 1e6 / cp.seconds,
    missedEvents: pair.arrivals.missedEvents - missedBefore,
    serverCpuMs: cpu[0]! / payloads.length,
    clientCpuMs: cpu[1]! / payloads.length,
  };
}

function burstMetrics(
  spec: BurstSpec,
  dest: Dest,
  runs: readonly BurstRun[],
): Metric[] {
  const cp = { baselineName: "cp" };
  // Issue 17's targets (≥ 3000 files/s to the same filesystem, ≥ 2000 to another; 0.25 ms CPU per file each side)
  // and issue 10's (≥ 2000 files/s with the ledger on).
  const small = spec.id === "burst-10k";
  const filesTargets: Target[] | undefined = small
    ? [
        ...(dest === "link"
          ? [
              { kind: "atLeast", value: 3000 } as const,
              // Issue 10's, printed apart: the same run, ledgers on disk.
              { kind: "atLeast", value: 2000 } as const,
            ]
          : [{ kind: "atLeast", value: 2000 } as const]),
        { kind: "ratioAtLeast", value: 0.5 },
      ]
    : undefined;
  const mbTargets: Target[] | undefined =
    spec.id === "burst-50m" && dest === "copy"
      ? [{ kind: "ratioAtLeast", value: 0.9 }]
      : undefined;
  const files = metricOf(runs, "files/s", "files/s", (r) => r.filesPerS, {
    ...cp,
    baseline: runs.map((r) => r.cpFilesPerS),
    targets: filesTargets,
  });
  const mb = metricOf(runs, "MB/s", "MB/s", (r) => r.mbPerS, {
    ...cp,
    baseline: runs.map((r) => r.cpMbPerS),
    targets: mbTargets,
  });
  const lat = [
    metricOf(runs, "latency p50", "ms", (r) => r.p50),
    metricOf(runs, "latency p90", "ms", (r) => r.p90),
    metricOf(runs, "latency p99", "ms", (r) => r.p99),
  ];
  const cpuTargets: Target[] | undefined = small
    ? [{ kind: "atMost", value: 0.25 }]
    : undefined;
  const cpu = [
    metricOf(runs, "server CPU per file", "ms", (r) => r.serverCpuMs, {
      targets: cpuTargets,
    }),
    metricOf(runs, "client CPU per file", "ms", (r) => r.clientCpuMs, {
      targets: cpuTargets,
    }),
  ];
  if (small || spec.id === NO_LEDGER_BURST.id) return [files, ...lat, ...cpu];
  if (spec.id === "burst-1m") return [files, mb, ...lat, ...cpu];
  return [mb, files, ...cpu];
}

/** A burst scenario to one destination kind. */
export async function burst(
  ctx: Ctx,
  spec: BurstSpec,
  dest: Dest,
): Promise<ScenarioResult> {
  const started = performance.now();
  const count = ctx.quick ? spec.quickCount : spec.count;
  const label = `${spec.id}-${dest}`;
  // The daemons take the environment at spawn: set for this pair only.
  if (spec.ledger === "memory") process.env["MOVE_IT_LEDGER"] = "memory";
  const pair = await startPair(ctx.dirs, {
    label,
    destDir: destDirFor(ctx, label, dest),
  }).finally(() => delete process.env["MOVE_IT_LEDGER"]);
  try {
    const payloads = stagePayloads(pair.stageDir, "f", count, spec.size);
    await warmUp(pair, payloads);
    const runs: BurstRun[] = [];
    for (let r = 0; r < ctx.runs; r++) {
      runs.push(await burstRun(ctx, pair, payloads, `r${r}`, dest));
      ctx.say(
        `  ${label} run ${r + 1}/${ctx.runs}: ${runs[r]?.filesPerS.toFixed(0)} files/s, ${runs[r]?.mbPerS.toFixed(0)} MB/s`,
      );
    }
    const missed = runs.reduce((s, r) => s + r.missedEvents, 0);
    return {
      id: label,
      title: `${count} × ${spec.sizeText} at once${spec.ledger === "memory" ? ", ledgers in memory" : ""}`,
      dest,
      status: "ok",
      params: { count, size: spec.size, runs: ctx.runs },
      metrics: burstMetrics(spec, dest, runs),
      notes:
        missed > 0
          ? [
              `${missed} arrivals found by directory scan, not by inotify (their time is late)`,
            ]
          : [],
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await pair.stop();
  }
}

/** Drop `payloads` one every `intervalMs` on a fixed schedule. */
async function dropPaced(
  pair: Pair,
  payloads: readonly Payload[],
  tag: string,
  intervalMs: number,
): Promise<Dropped[]> {
  const out: Dropped[] = [];
  const start = performance.now();
  for (let i = 0; i < payloads.length; i++) {
    const due = start + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    out.push(dropOne(pair.stageDir, pair.inDir, tag, payloads[i]!));
  }
  return out;
}

interface PacedRun {
  p50: number;
  p99: number;
  /** Of which: rename → announcement, and announcement → complete at the destination (medians). */
  announceP50: number;
  fetchP50: number;
  /** The same files through the floor's processes (floor.ts), in the same run. */
  floorP50: number;
  floorP99: number;
}

async function pacedRun(
  pair: Pair,
  floor: Pair,
  ann: Announcements,
  payloads: readonly Payload[],
  tag: string,
): Promise<PacedRun> {
  const dropped = await dropPaced(pair, payloads, tag, 100);
  await collect(pair, dropped, 10_000);
  const { p50, p99 } = latencyPercentiles(timings(pair, dropped).latencies);
  const announced = dropped.map((d) => ann.seen.get(d.name) ?? Number.NaN);
  const announceP50 = quantile(
    announced.map((t, i) => t - dropped[i]!.t0).filter(Number.isFinite),
    0.5,
  );
  const fetchP50 = quantile(
    announced
      .map((t, i) => (pair.arrivals.at(dropped[i]!.name) ?? Number.NaN) - t)
      .filter(Number.isFinite),
    0.5,
  );
  ann.seen.clear();
  await reset(pair, dropped);
  const floorDropped = await dropPaced(floor, payloads, `${tag}f`, 100);
  await collect(floor, floorDropped, 10_000);
  const floorLat = latencyPercentiles(timings(floor, floorDropped).latencies);
  await reset(floor, floorDropped);
  return {
    p50,
    p99,
    announceP50,
    fetchP50,
    floorP50: floorLat.p50,
    floorP99: floorLat.p99,
  };
}

function pacedMetrics(runs: readonly PacedRun[]): Metric[] {
  const floor = { baselineName: "floor" };
  return [
    metricOf(runs, "latency p50", "ms", (r) => r.p50, {
      ...floor,
      baseline: runs.map((r) => r.floorP50),
      targets: [{ kind: "atMost", value: 1 }],
    }),
    metricOf(runs, "latency p99", "ms", (r) => r.p99, {
      ...floor,
      baseline: runs.map((r) => r.floorP99),
      targets: [{ kind: "atMost", value: 3 }],
    }),
    metricOf(runs, "of which rename→announce p50", "ms", (r) => r.announceP50),
    metricOf(runs, "of which announce→arrival p50", "ms", (r) => r.fetchP50),
  ];
}

/**
 * One 1 MiB file every 100 ms: latency from rename to the complete file at
 * the destination, split at the announcement (a SUB socket here listens to
 * the server's publisher too), beside the same files through the floor's
 * processes (floor.ts) in each run.
 */
export async function paced(ctx: Ctx, dest: Dest): Promise<ScenarioResult> {
  const started = performance.now();
  const count = ctx.quick ? 10 : 50;
  const label = `paced-1m-${dest}`;
  const pair = await startPair(ctx.dirs, {
    label,
    destDir: destDirFor(ctx, label, dest),
  });
  const ann = new Announcements(pair.publishPort);
  let floor: Pair | undefined;
  try {
    const payloads = stagePayloads(pair.stageDir, "f", count, MiB);
    floor = await startFloor({
      base: join(ctx.dirs.work, `${label}-floor`),
      stageDir: pair.stageDir,
      destDir: destDirFor(ctx, `${label}-floor`, dest),
    });
    await warmUp(pair, payloads);
    await warmUp(floor, payloads);
    const runs: PacedRun[] = [];
    for (let r = 0; r < ctx.runs; r++) {
      const run = await pacedRun(pair, floor, ann, payloads, `r${r}`);
      runs.push(run);
      ctx.say(
        `  ${label} run ${r + 1}/${ctx.runs}: p50 ${run.p50.toFixed(2)} ms (announce ${run.announceP50.toFixed(2)} + fetch ${run.fetchP50.toFixed(2)}), p99 ${run.p99.toFixed(2)} ms; floor p50 ${run.floorP50.toFixed(2)}, p99 ${run.floorP99.toFixed(2)} ms`,
      );
    }
    return {
      id: label,
      title: `1 MiB every 100 ms (${count} files a run)`,
      dest,
      status: "ok",
      params: { count, size: MiB, intervalMs: 100, runs: ctx.runs },
      metrics: pacedMetrics(runs),
      notes: [
        "floor: the same files through two processes making the same hand-offs and no other work (bench/floor.ts)",
      ],
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    ann.close();
    await Promise.allSettled([pair.stop(), floor?.stop()]);
  }
}
