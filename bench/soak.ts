/**
 * Memory over a long run: 100,000 small files announced and fetched in
 * batches, the sources and deliveries removed after each batch (as an
 * operator's pipeline would), and the resident memory (VmRSS) of the server
 * and the client read from /proc after every batch, once it has been
 * delivered, so it shows what is kept rather than a batch in flight.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import {
  KiB,
  dropAll,
  stagePayloads,
  returnAll,
  type Payload,
} from "./files.js";
import { startPair, type Pair } from "./pair.js";
import { memoryOf } from "./procs.js";
import type { Metric, ScenarioResult } from "./results.js";
import { collect, destDirFor, type Ctx } from "./scenarios.js";
import { quantile } from "./stats.js";

/** RSS at a mark: the median over this many batches before it. */
const WINDOW_BATCHES = 5;

interface Sample {
  files: number;
  serverKiB: number;
  clientKiB: number;
}

/** Run one batch under `tag`, then remove its sources and deliveries. */
async function batch(
  pair: Pair,
  payloads: readonly Payload[],
  tag: string,
): Promise<void> {
  const dropped = await dropAll(pair.stageDir, pair.inDir, tag, payloads);
  await collect(pair, dropped, 30_000);
  for (const d of dropped) rmSync(join(pair.destDir, d.name));
  returnAll(pair.stageDir, pair.inDir, dropped); // the source "goes away" from the watched directory
  pair.arrivals.clear();
}

function sample(pair: Pair, files: number): Sample {
  return {
    files,
    serverKiB: memoryOf(pair.server.pid)?.rssKiB ?? Number.NaN,
    clientKiB: memoryOf(pair.client.pid)?.rssKiB ?? Number.NaN,
  };
}

/** Where memory is reported: 10k, 50k, 100k (and the end of a longer run), or the same fractions of a short one. */
function marksFor(total: number): number[] {
  if (total < 100_000) return [total / 10, total / 2, total];
  return total > 100_000
    ? [10_000, 50_000, 100_000, total]
    : [10_000, 50_000, 100_000];
}

/** Median of the samples taken after the last `span` files up to `mark`. */
function around(
  samples: readonly Sample[],
  mark: number,
  span: number,
  pick: (s: Sample) => number,
): number {
  return quantile(
    samples.filter((s) => s.files > mark - span && s.files <= mark).map(pick),
    0.5,
  );
}

/** The memory metrics; the flatness target is judged only on a full-size run (a short one is still warming up). */
function metrics(
  samples: readonly Sample[],
  marks: readonly number[],
  span: number,
  judged: boolean,
): Metric[] {
  const out: Metric[] = [];
  for (const who of ["server", "client"] as const) {
    const pick = (s: Sample): number =>
      (who === "server" ? s.serverKiB : s.clientKiB) / 1024;
    for (const m of marks)
      out.push({
        name: `${who} RSS @${m / 1000}k`,
        unit: "MiB",
        values: [around(samples, m, span, pick)],
      });
    const growth = (a: number, b: number): number =>
      ((around(samples, b, span, pick) - around(samples, a, span, pick)) /
        around(samples, a, span, pick)) *
      100;
    out.push({
      name: `${who} RSS growth ${marks[1]! / 1000}k→${marks[2]! / 1000}k`,
      unit: "%",
      values: [growth(marks[1]!, marks[2]!)],
      targets: judged ? [{ kind: "atMost", value: 10 }] : undefined,
    });
    if (marks[3] !== undefined)
      out.push({
        name: `${who} RSS growth ${marks[2]! / 1000}k→${marks[3] / 1000}k`,
        unit: "%",
        values: [growth(marks[2]!, marks[3])],
      });
  }
  return out;
}

/** The soak scenario: `total` files of 1 KiB in batches of 1000. */
export async function soak(ctx: Ctx, total: number): Promise<ScenarioResult> {
  const started = performance.now();
  const label = "soak";
  const pair = await startPair(ctx.dirs, {
    label,
    destDir: destDirFor(ctx, label, "link"),
  });
  try {
    const size = Math.min(1000, total / 10);
    const payloads = stagePayloads(pair.stageDir, "s", size, KiB);
    const marks = marksFor(total);
    const samples: Sample[] = [sample(pair, 0)];
    for (let done = 0, k = 0; done < total; k++) {
      await batch(pair, payloads, `b${k}`);
      done += payloads.length;
      samples.push(sample(pair, done));
      if (done % (total / 10) === 0)
        ctx.say(
          `  soak: ${done} files, server ${(samples.at(-1)!.serverKiB / 1024).toFixed(1)} MiB, client ${(samples.at(-1)!.clientKiB / 1024).toFixed(1)} MiB`,
        );
    }
    const span = WINDOW_BATCHES * payloads.length;
    const seconds = (performance.now() - started) / 1000;
    return {
      id: label,
      title: `${total} × 1 KiB in batches of ${size}`,
      dest: "link",
      status: "ok",
      params: { total, batch: size },
      extra: { rssSamples: samples },
      metrics: metrics(samples, marks, span, total >= 100_000),
      notes: [
        `RSS @N is the median of the readings after each of the last ${WINDOW_BATCHES} batches up to N (one reading is at the mercy of the GC)`,
        `overall ${(total / seconds).toFixed(0)} files/s including batch bookkeeping; RSS at start: server ${(samples[0]!.serverKiB / 1024).toFixed(1)} MiB, client ${(samples[0]!.clientKiB / 1024).toFixed(1)} MiB`,
      ],
      seconds,
    };
  } finally {
    await pair.stop();
  }
}
