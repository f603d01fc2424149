/**
 * Small statistics for the benchmark: quantiles of a sample and the
 * median/min/max summary the table prints.
 */

/** The q-quantile (0..1) of `values`, linearly interpolated; NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] ?? Number.NaN;
  const b = sorted[hi] ?? a;
  return a + (b - a) * (pos - lo);
}

export interface Summary {
  median: number;
  min: number;
  max: number;
}

/** Median, min and max of `values` (NaN fields when empty; NaN values are ignored). */
export function summarize(values: readonly number[]): Summary {
  const real = values.filter((v) => Number.isFinite(v));
  if (real.length === 0)
    return { median: Number.NaN, min: Number.NaN, max: Number.NaN };
  return {
    median: quantile(real, 0.5),
    min: Math.min(...real),
    max: Math.max(...real),
  };
}

/** Element-wise a[i] / b[i] for the pairs where both exist. */
export function ratios(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (
      x !== undefined &&
      y !== undefined &&
      Number.isFinite(x) &&
      Number.isFinite(y) &&
      y !== 0
    )
      out.push(x / y);
  }
  return out;
}

/** Latency percentiles (ms) of one run. */
export function latencyPercentiles(latenciesMs: readonly number[]): {
  p50: number;
  p90: number;
  p99: number;
} {
  return {
    p50: quantile(latenciesMs, 0.5),
    p90: quantile(latenciesMs, 0.9),
    p99: quantile(latenciesMs, 0.99),
  };
}
