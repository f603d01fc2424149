/**
 * Prometheus text format, parsed (parse-prometheus-text-format), with
 * lookups by name and labels: tests read metrics as a scraper would.
 */
import { createRequire } from "node:module";

interface RawFamily {
  name: string;
  help: string;
  type: string;
  metrics: Array<{ value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string; sum?: string }>;
}

const parseText = createRequire(import.meta.url)("parse-prometheus-text-format") as (text: string) => RawFamily[];

export interface Family {
  name: string;
  help: string;
  /** counter, gauge, histogram, summary, untyped. */
  type: string;
  samples: Array<{ labels: Record<string, string>; value: number; count?: number; sum?: number; buckets?: Record<string, number> }>;
}

/** Every metric family of a scrape, by name. */
export function parseMetrics(text: string): Map<string, Family> {
  const out = new Map<string, Family>();
  for (const f of parseText(text)) {
    out.set(f.name, {
      name: f.name,
      help: f.help,
      type: f.type.toLowerCase(),
      samples: f.metrics.map((m) => ({
        labels: m.labels ?? {},
        value: Number(m.value ?? m.count ?? NaN),
        count: m.count === undefined ? undefined : Number(m.count),
        sum: m.sum === undefined ? undefined : Number(m.sum),
        buckets: m.buckets === undefined ? undefined : Object.fromEntries(Object.entries(m.buckets).map(([k, v]) => [k, Number(v)])),
      })),
    });
  }
  return out;
}

/** The sample of `name` whose labels include `labels`; throws when there is none. */
export function sample(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): Family["samples"][number] {
  const f = families.get(name);
  if (f === undefined) throw new Error(`no metric ${name}`);
  const s = f.samples.find((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  if (s === undefined) throw new Error(`no sample of ${name} with ${JSON.stringify(labels)}; have ${JSON.stringify(f.samples.map((x) => x.labels))}`);
  return s;
}

/** Scrape `http://127.0.0.1:port/metrics` and parse it. */
export async function scrape(port: number): Promise<Map<string, Family>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (!res.ok) throw new Error(`metrics: HTTP ${res.status}`);
  return parseMetrics(await res.text());
}
