/**
 * `npm run bench`: start the built move_it_server and move_it_client as
 * separate processes on 127.0.0.1, run the scenarios several times each,
 * print a table (median, min, max; baselines from the same runs) and write
 * the raw results as JSON to $BENCH_OUT, else move_it-bench-results/ in the
 * OS temp dir (never under the package: installed, that is node_modules).
 *
 * Environment: BENCH_QUICK=1 (fewer files and runs, small soak and sftp:
 * under a minute), BENCH_ONLY=id[,id...] (scenario ids or prefixes, e.g.
 * `burst-10k,paced`), BENCH_RUNS=n, BENCH_CPU_PROF=1 (run server and client
 * under `node --cpu-prof`, profiles in <results dir>/prof-<date>/),
 * BENCH_KEEP=1 (keep the temp work directory with the processes' logs),
 * BENCH_CLIENT_OPTS / BENCH_SERVER_OPTS="key=value;..." (extra ini options,
 * for experiments such as max_concurrent_transfers=32), BENCH_NODE_FLAGS
 * (extra node flags for server and client, e.g. `--trace-gc`),
 * BENCH_SOAK_FILES=n (length of the memory soak; a multiple of 10,000).
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { announce } from "./announce.js";
import { sftp } from "./network.js";
import { ClientUnavailable, type BenchDirs } from "./pair.js";
import { killAllNow, stopAll } from "./procs.js";
import { machine, notes, table, writeJson } from "./report.js";
import { notRun, type ScenarioResult } from "./results.js";
import { MiB } from "./files.js";
import {
  BURSTS,
  NO_LEDGER_BURST,
  burst,
  paced,
  type Ctx,
  type Dest,
} from "./scenarios.js";
import { soak } from "./soak.js";
import { sshdMissing } from "./sshd.js";

interface Planned {
  id: string;
  title: string;
  dest: string;
  needsClient: boolean;
  skip?: string;
  run(ctx: Ctx): Promise<ScenarioResult>;
}

function plan(quick: boolean, copyDest: string | undefined): Planned[] {
  const out: Planned[] = [
    {
      id: "announce",
      title: "server only: rename → announcement",
      dest: "-",
      needsClient: false,
      run: announce,
    },
  ];
  const dests: Dest[] = ["link", "copy"];
  for (const spec of BURSTS) {
    for (const dest of dests)
      out.push({
        id: `${spec.id}-${dest}`,
        title: `${spec.id} burst`,
        dest,
        needsClient: true,
        skip: dest === "copy" ? copyDest : undefined,
        run: (c) => burst(c, spec, dest),
      });
  }
  out.push({
    id: `${NO_LEDGER_BURST.id}-link`,
    title: "same, ledgers in memory",
    dest: "link",
    needsClient: true,
    run: (c) => burst(c, NO_LEDGER_BURST, "link"),
  });
  for (const dest of dests)
    out.push({
      id: `paced-1m-${dest}`,
      title: "1 MiB every 100 ms",
      dest,
      needsClient: true,
      skip: dest === "copy" ? copyDest : undefined,
      run: (c) => paced(c, dest),
    });
  const total = Number(
    process.env.BENCH_SOAK_FILES ?? (quick ? 2000 : 100_000),
  );
  out.push({
    id: "soak",
    title: `${total} small files: memory`,
    dest: "link",
    needsClient: true,
    run: (c) => soak(c, total),
  });
  const size = quick ? 32 * MiB : 1024 * MiB;
  out.push({
    id: "sftp",
    title: "big file over sftp",
    dest: "sftp",
    needsClient: true,
    skip: sshdMissing(),
    run: (c) => sftp(c, size),
  });
  return out;
}

function selected(p: Planned, only: readonly string[]): boolean {
  return (
    only.length === 0 || only.some((o) => p.id === o || p.id.startsWith(o))
  );
}

/** A tmpfs directory for the `copy` destinations, or the reason there is none. */
function shmDir(work: string): { dir?: string; skip?: string } {
  try {
    const dir = mkdtempSync("/dev/shm/move_it-bench-");
    if (statSync(dir).dev === statSync(work).dev)
      return {
        dir,
        skip: "/dev/shm is on the same filesystem as the temp dir",
      };
    return { dir };
  } catch (err) {
    return { skip: `no /dev/shm (${(err as Error).message})` };
  }
}

async function runOne(
  p: Planned,
  ctx: Ctx,
  state: { clientMissing?: string },
): Promise<ScenarioResult> {
  if (p.skip !== undefined)
    return notRun(p.id, p.title, p.dest, "skipped", p.skip);
  if (p.needsClient && state.clientMissing !== undefined)
    return notRun(p.id, p.title, p.dest, "skipped", state.clientMissing);
  ctx.say(`${p.id}…`);
  try {
    return await p.run(ctx);
  } catch (err) {
    const msg = (err as Error).message;
    if (err instanceof ClientUnavailable) {
      state.clientMissing = msg;
      return notRun(p.id, p.title, p.dest, "skipped", msg);
    }
    ctx.say(`  ${p.id} failed: ${msg}`);
    return notRun(p.id, p.title, p.dest, "failed", msg.slice(0, 300));
  }
}

function installCleanup(dirs: readonly string[], keep: boolean): void {
  const removeDirs = (): void => {
    if (keep)
      process.stderr.write(`kept: ${dirs[0] ?? ""} (logs of every process)\n`);
    for (const d of keep ? dirs.slice(1) : dirs)
      rmSync(d, { recursive: true, force: true });
  };
  process.on("exit", () => {
    killAllNow();
    removeDirs();
  });
  const onSignal = (sig: NodeJS.Signals): void => {
    process.stderr.write(`\n${sig}: stopping every process started\n`);
    void stopAll().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
}

function settings(): {
  quick: boolean;
  only: string[];
  runs: number;
  prof: boolean;
  keep: boolean;
} {
  const flag = (name: string): boolean =>
    ["1", "true", "yes"].includes(process.env[name] ?? "");
  const quick = flag("BENCH_QUICK");
  const only = (process.env.BENCH_ONLY ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const runs = Number(process.env.BENCH_RUNS ?? (quick ? 2 : 5));
  return {
    quick,
    only,
    runs: Number.isInteger(runs) && runs > 0 ? runs : 2,
    prof: flag("BENCH_CPU_PROF"),
    keep: flag("BENCH_KEEP"),
  };
}

/** Where results and profiles go: `$BENCH_OUT`, else a fixed directory in the OS temp dir. */
function resultsDirectory(): string {
  const out = process.env.BENCH_OUT ?? "";
  return resolve(out !== "" ? out : join(tmpdir(), "move_it-bench-results"));
}

async function main(): Promise<void> {
  const set = settings();
  const m = machine();
  const work = mkdtempSync(join(tmpdir(), "move_it-bench-"));
  const shm = shmDir(work);
  installCleanup([work, ...(shm.dir === undefined ? [] : [shm.dir])], set.keep);
  const resultsDir = resultsDirectory();
  const dirs: BenchDirs = {
    work,
    shm: shm.dir ?? work,
    profDir: set.prof
      ? join(resultsDir, `prof-${m.date.replace(/[:.]/g, "-")}`)
      : undefined,
  };
  const say = (msg: string): void => void process.stderr.write(`${msg}\n`);
  say(
    `move_it bench ${set.quick ? "(quick) " : ""}${m.date}: ${m.nproc} cpus (${m.cpu}), ${m.memoryGiB} GiB, node ${m.node}, ${set.runs} runs`,
  );
  say(`results go to ${resultsDir}`);
  const ctx: Ctx = { dirs, quick: set.quick, runs: set.runs, say };
  const results: ScenarioResult[] = [];
  const state: { clientMissing?: string } = {};
  try {
    for (const p of plan(set.quick, shm.skip).filter((x) =>
      selected(x, set.only),
    ))
      results.push(await runOne(p, ctx, state));
  } finally {
    await stopAll();
  }
  const file = writeJson(
    resultsDir,
    m,
    { ...set, work, shm: shm.dir },
    results,
  );
  const load = `load average at start ${m.loadavg.join(" ")}, at end ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`;
  process.stdout.write(
    `\nmove_it bench — ${m.date} — nproc ${m.nproc} (${m.cpu}), node ${m.node}, kernel ${m.kernel}${set.quick ? " — QUICK" : ""}\n${load}\n${m.free}\n\n`,
  );
  process.stdout.write(`${table(results)}\n\n`);
  for (const n of notes(results)) process.stdout.write(`note: ${n}\n`);
  if (dirs.profDir !== undefined)
    process.stdout.write(`cpu profiles: ${dirs.profDir}\n`);
  process.stdout.write(`results: ${file}\n`);
  if (results.some((r) => r.status === "failed")) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 2;
});
