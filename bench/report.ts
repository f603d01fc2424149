/**
 * The benchmark's output: a plain-text table (one row per metric: median,
 * min, max of the runs, the baseline's median, the median of the per-run
 * ratios, the targets and whether they are met) and a JSON record with the
 * machine and every raw value.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import {
  availableParallelism,
  cpus,
  loadavg,
  release,
  totalmem,
} from "node:os";
import { join } from "node:path";
import {
  judge,
  medianRatio,
  type Metric,
  type ScenarioResult,
} from "./results.js";
import { summarize } from "./stats.js";

export interface Machine {
  date: string;
  nproc: number;
  cpu: string;
  memoryGiB: number;
  free: string;
  node: string;
  kernel: string;
  /** 1/5/15-minute load averages when the benchmark started (other work on the machine skews results). */
  loadavg: number[];
}

function freeOutput(): string {
  try {
    return execFileSync("free", ["-g"], { encoding: "utf8" }).trim();
  } catch {
    return "(free not available)";
  }
}

export function machine(): Machine {
  return {
    date: new Date().toISOString(),
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    free: freeOutput(),
    node: process.version,
    kernel: release(),
    loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** A number for the table: 3 significant-ish digits, thousands grouped. */
export function fmt(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return "-";
  const abs = Math.abs(v);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  return v.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

const HEADER = [
  "scenario",
  "dest",
  "metric",
  "median",
  "min",
  "max",
  "baseline (median)",
  "ratio",
  "target",
  "met",
];

function verdicts(m: Metric): { text: string; met: string } {
  const js = (m.targets ?? []).map((t) => judge(t, m));
  return {
    text: js.map((j) => j.text).join(", "),
    met: js
      .map((j) => (j.met === undefined ? "?" : j.met ? "yes" : "NO"))
      .join(", "),
  };
}

function metricRow(s: ScenarioResult, m: Metric, first: boolean): string[] {
  const sum = summarize(m.values);
  const base =
    m.baseline === undefined
      ? ""
      : `${fmt(summarize(m.baseline).median)} (${m.baselineName ?? "baseline"})`;
  const ratio = medianRatio(m);
  const v = verdicts(m);
  const unit = m.unit === m.name ? "" : ` (${m.unit})`;
  return [
    first ? s.title : "",
    first ? s.dest : "",
    `${m.name}${unit}`,
    fmt(sum.median),
    fmt(sum.min),
    fmt(sum.max),
    base,
    ratio === undefined ? "" : fmt(ratio),
    v.text,
    v.met,
  ];
}

function scenarioRows(s: ScenarioResult): string[][] {
  if (s.status !== "ok")
    return [
      [
        s.title,
        s.dest,
        `${s.status.toUpperCase()} (see below)`,
        "",
        "",
        "",
        "",
        "",
        "",
        "",
      ],
    ];
  return s.metrics.map((m, i) => metricRow(s, m, i === 0));
}

/** The results table as text. */
export function table(results: readonly ScenarioResult[]): string {
  const rows = [HEADER, ...results.flatMap(scenarioRows)];
  const widths = HEADER.map((_, c) =>
    Math.min(40, Math.max(...rows.map((r) => (r[c] ?? "").length))),
  );
  const cut = (cell: string, w: number): string =>
    cell.length > w ? `${cell.slice(0, w - 1)}…` : cell;
  const line = (r: string[]): string =>
    r
      .map((cell, c) =>
        c >= 3 && c <= 5
          ? cut(cell, widths[c]!).padStart(widths[c]!)
          : cut(cell, widths[c]!).padEnd(widths[c]!),
      )
      .join(" | ")
      .trimEnd();
  const sep = widths.map((w) => "-".repeat(w)).join("-+-");
  return [line(HEADER), sep, ...rows.slice(1).map(line)].join("\n");
}

/** Notes of the scenarios, and why any did not run, one line each. */
export function notes(results: readonly ScenarioResult[]): string[] {
  const why = results
    .filter((s) => s.status !== "ok")
    .map((s) => `${s.id} ${s.status}: ${s.reason ?? ""}`);
  return [
    ...why,
    ...results.flatMap((s) => s.notes.map((n) => `${s.id}: ${n}`)),
  ];
}

/** Write the JSON record into `dir`; returns its path. */
export function writeJson(
  dir: string,
  m: Machine,
  settings: Record<string, unknown>,
  results: readonly ScenarioResult[],
): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `bench-${m.date.replace(/[:.]/g, "-")}.json`);
  const judged = results.map((s) => ({
    ...s,
    metrics: s.metrics.map((mm) => ({
      ...mm,
      summary: summarize(mm.values),
      baselineSummary: mm.baseline && summarize(mm.baseline),
      ratio: medianRatio(mm),
      verdicts: (mm.targets ?? []).map((t) => judge(t, mm)),
    })),
  }));
  writeFileSync(
    file,
    `${JSON.stringify({ machine: m, settings, scenarios: judged }, null, 2)}\n`,
  );
  return file;
}
