/**
 * What a scenario reports: named metrics with one value per run, the
 * baseline's values from the same runs, and the targets, judged
 * on medians (and on the median of the per-run ratios to the baseline).
 */
import { ratios, summarize } from "./stats.js";

/** A target: `atLeast`/`atMost` on the median, `ratioAtLeast` on the median of the per-run ratios to the baseline. */
export interface Target {
  kind: "atLeast" | "atMost" | "ratioAtLeast";
  value: number;
}

export interface Metric {
  name: string;
  unit: string;
  /** One value per run. */
  values: number[];
  /** The baseline's value in the same runs (same unit). */
  baseline?: number[];
  baselineName?: string;
  targets?: Target[];
}

export interface ScenarioResult {
  id: string;
  title: string;
  /** `link` (same filesystem), `copy` (tmpfs), `sftp`, or `-`. */
  dest: string;
  status: "ok" | "skipped" | "failed";
  reason?: string;
  params: Record<string, number | string>;
  metrics: Metric[];
  notes: string[];
  seconds: number;
  /** Raw data worth keeping in the JSON (e.g. the memory samples). */
  extra?: Record<string, unknown>;
}

export interface TargetVerdict {
  text: string;
  met: boolean | undefined;
}

/** Human text of a target for a metric. */
export function targetText(t: Target, m: Metric): string {
  if (t.kind === "atLeast") return `≥ ${t.value} ${m.unit}`;
  if (t.kind === "atMost") return `≤ ${t.value} ${m.unit}`;
  return `≥ ${t.value} × ${m.baselineName ?? "baseline"}`;
}

/** Median ratio of the values to the baseline, run by run (higher-is-better units). */
export function medianRatio(m: Metric): number | undefined {
  if (m.baseline === undefined) return undefined;
  const r = ratios(m.values, m.baseline);
  return r.length === 0 ? undefined : summarize(r).median;
}

/** Judge one target on a metric. */
export function judge(t: Target, m: Metric): TargetVerdict {
  const median = summarize(m.values).median;
  let met: boolean | undefined;
  if (t.kind === "atLeast")
    met = Number.isFinite(median) ? median >= t.value : undefined;
  else if (t.kind === "atMost")
    met = Number.isFinite(median) ? median <= t.value : undefined;
  else {
    const r = medianRatio(m);
    met = r === undefined ? undefined : r >= t.value;
  }
  return { text: targetText(t, m), met };
}

/** A scenario that did not run, with the reason. */
export function notRun(
  id: string,
  title: string,
  dest: string,
  status: "skipped" | "failed",
  reason: string,
): ScenarioResult {
  return {
    id,
    title,
    dest,
    status,
    reason,
    params: {},
    metrics: [],
    notes: [],
    seconds: 0,
  };
}

/** Collect per-run records into metrics: `pick` turns a run into that metric's value. */
export function metricOf<R>(
  runs: readonly R[],
  name: string,
  unit: string,
  pick: (r: R) => number,
  extra: Partial<Metric> = {},
): Metric {
  return { name, unit, values: runs.map(pick), ...extra };
}
