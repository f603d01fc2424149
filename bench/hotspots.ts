/**
 * `node dist/bench/hotspots.js PROFILE.cpuprofile... [-n 25]`: where a
 * `node --cpu-prof` profile (BENCH_CPU_PROF=1) spent its time. Prints the
 * functions with the most self time and the same time summed by module
 * (a package under node_modules, a node: builtin, a file of ours), each
 * also as a share of the busy (non-idle) time. `(program)` is native time
 * outside JS (libuv, addons), `(garbage collector)` is GC.
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time (µs) per profile node id. */
function selfTimes(p: Profile): Map<number, number> {
  const out = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i]!;
    out.set(id, (out.get(id) ?? 0) + Math.max(0, p.timeDeltas[i] ?? 0));
  }
  return out;
}

/** A short module name for a script url. */
export function moduleOf(url: string): string {
  if (url === "") return "(native/vm)";
  if (url.startsWith("node:")) return url;
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm !== null) return `npm:${nm[1]}`;
  const ours = /\/(dist\/)?(src\/.*)$/.exec(url);
  return ours?.[2] ?? url;
}

function add(map: Map<string, number>, key: string, us: number): void {
  map.set(key, (map.get(key) ?? 0) + us);
}

/** Self time by function and by module, and the total, over some profiles. */
export function summarizeProfiles(files: readonly string[]): {
  byFunction: Map<string, number>;
  byModule: Map<string, number>;
  total: number;
} {
  const byFunction = new Map<string, number>();
  const byModule = new Map<string, number>();
  let total = 0;
  for (const file of files) {
    const p = JSON.parse(readFileSync(file, "utf8")) as Profile;
    const nodes = new Map(p.nodes.map((n) => [n.id, n]));
    for (const [id, us] of selfTimes(p)) {
      const f = nodes.get(id)?.callFrame;
      if (f === undefined) continue;
      total += us;
      add(
        byFunction,
        `${f.functionName || "(anonymous)"} ${moduleOf(f.url)}:${f.lineNumber + 1}`,
        us,
      );
      add(byModule, moduleOf(f.url), us);
    }
  }
  return { byFunction, byModule, total };
}

function top(
  map: Map<string, number>,
  total: number,
  n: number,
  busy: number,
): string[] {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(
      ([k, us]) =>
        `${(us / 1000).toFixed(0).padStart(8)} ms ${((us / total) * 100).toFixed(1).padStart(5)}% ${((us / busy) * 100).toFixed(1).padStart(5)}%busy  ${k}`,
    );
}

function main(argv: string[]): void {
  const nAt = argv.indexOf("-n");
  const n = nAt >= 0 ? Number(argv[nAt + 1]) : 25;
  const files = argv.filter((a, i) => a !== "-n" && (nAt < 0 || i !== nAt + 1));
  if (files.length === 0) {
    process.stderr.write("usage: hotspots PROFILE.cpuprofile... [-n N]\n");
    process.exitCode = 2;
    return;
  }
  const { byFunction, byModule, total } = summarizeProfiles(files);
  const idle = [...byFunction]
    .filter(([k]) => k.startsWith("(idle)"))
    .reduce((s, [, us]) => s + us, 0);
  const busy = Math.max(1, total - idle);
  process.stdout.write(
    `total ${(total / 1000).toFixed(0)} ms, idle ${((idle / total) * 100).toFixed(1)}%\n\nby module:\n`,
  );
  process.stdout.write(
    `${top(byModule, total, n, busy).join("\n")}\n\nby function (self time):\n${top(byFunction, total, n, busy).join("\n")}\n`,
  );
}

main(process.argv.slice(2));
