/**
 * Prometheus text format (version 0.0.4), parsed strictly: every sample
 * belongs to a family announced by `# TYPE`, label values are unescaped,
 * histogram series are grouped by their labels (without `le`) with
 * cumulative buckets whose `+Inf` equals `_count`. Tests read metrics as a
 * scraper would. (parse-prometheus-text-format merges the series of a
 * labelled histogram into one, so it cannot be used here.)
 */

export interface Family {
  name: string;
  help: string;
  /** counter, gauge, histogram, summary, untyped. */
  type: string;
  samples: Array<{
    labels: Record<string, string>;
    value: number;
    count?: number;
    sum?: number;
    buckets?: Record<string, number>;
  }>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;

function parseLabels(text: string, line: string): Record<string, string> {
  const out: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const m = LABEL.exec(text);
    if (m === null) throw new Error(`bad labels in: ${line}`);
    out[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) =>
      c === "n" ? "\n" : c,
    );
  }
  return out;
}

function parseValue(text: string, line: string): number {
  // As Prometheus reads them (Go's ParseFloat): NaN and Inf in any case.
  const lower = text.toLowerCase();
  if (lower === "nan") return NaN;
  if (/^[+-]?inf$/.test(lower))
    return lower.startsWith("-") ? -Infinity : Infinity;
  const v = Number(text);
  if (Number.isNaN(v) || text === "") throw new Error(`bad value in: ${line}`);
  return v;
}

function familyOf(
  families: Map<string, Family>,
  name: string,
  line: string,
): [Family, string] {
  const direct = families.get(name);
  if (direct !== undefined) return [direct, ""];
  for (const suffix of ["_bucket", "_count", "_sum"]) {
    const f = name.endsWith(suffix)
      ? families.get(name.slice(0, -suffix.length))
      : undefined;
    if (
      f !== undefined &&
      (f.type === "histogram" || (f.type === "summary" && suffix !== "_bucket"))
    )
      return [f, suffix];
  }
  throw new Error(`sample of an undeclared family: ${line}`);
}

/** Every metric family of a scrape, by name. */
export function parseMetrics(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const series = new Map<string, Family["samples"][number]>();
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$/.exec(line);
    if (meta !== null) {
      const f = families.get(meta[2]!) ?? {
        name: meta[2]!,
        help: "",
        type: "untyped",
        samples: [],
      };
      families.set(f.name, f);
      if (meta[1] === "HELP")
        f.help = meta[3]!.replace(/\\(.)/g, (_, c: string) =>
          c === "n" ? "\n" : c,
        );
      else f.type = meta[3]!;
      continue;
    }
    if (line.startsWith("#")) continue;
    const m = SAMPLE.exec(line);
    if (m === null) throw new Error(`not a sample line: ${line}`);
    const [family, suffix] = familyOf(families, m[1]!, line);
    const labels = parseLabels(m[3] ?? "", line);
    const value = parseValue(m[4]!, line);
    if (suffix === "") {
      family.samples.push({ labels, value });
      continue;
    }
    const { le, ...rest } = labels;
    const key = `${family.name}${JSON.stringify(Object.entries(rest).sort())}`;
    let s = series.get(key);
    if (s === undefined) {
      s = { labels: rest, value: NaN, buckets: {} };
      series.set(key, s);
      family.samples.push(s);
    }
    if (suffix === "_bucket") {
      if (le === undefined) throw new Error(`bucket without le: ${line}`);
      s.buckets![le] = value;
    } else if (suffix === "_count") {
      s.count = value;
      s.value = value;
    } else s.sum = value;
  }
  for (const s of series.values()) {
    const counts = Object.entries(s.buckets ?? {})
      .sort(([a], [b]) => parseValue(a, a) - parseValue(b, b))
      .map(([, v]) => v);
    if (counts.some((c, i) => i > 0 && c < counts[i - 1]!))
      throw new Error(`buckets not cumulative: ${JSON.stringify(s)}`);
    if (counts.length > 0 && s.buckets!["+Inf"] !== s.count)
      throw new Error(`+Inf bucket is not the count: ${JSON.stringify(s)}`);
  }
  return families;
}

/** The sample of `name` whose labels include `labels`; throws when there is none. */
export function sample(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): Family["samples"][number] {
  const f = families.get(name);
  if (f === undefined) throw new Error(`no metric ${name}`);
  const s = f.samples.find((x) =>
    Object.entries(labels).every(([k, v]) => x.labels[k] === v),
  );
  if (s === undefined)
    throw new Error(
      `no sample of ${name} with ${JSON.stringify(labels)}; have ${JSON.stringify(f.samples.map((x) => x.labels))}`,
    );
  return s;
}

/** Scrape `http://127.0.0.1:port/metrics` and parse it. */
export async function scrape(port: number): Promise<Map<string, Family>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (!res.ok) throw new Error(`metrics: HTTP ${res.status}`);
  return parseMetrics(await res.text());
}
