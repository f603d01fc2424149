/**
 * A move_it_server and a move_it_client wired together on 127.0.0.1: the
 * server watches `<work>/in`, the client fetches into a destination
 * directory (file://, or sftp:// through a loopback sshd). Ready means a
 * probe file dropped into the watched directory came out at the destination,
 * which also gets past ZeroMQ's slow-joiner window.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Arrivals } from "./arrivals.js";
import { dropOne, writePayload } from "./files.js";
import { LOCALHOST, freePort, startMoveIt, type Proc } from "./procs.js";

/** Directories and options shared by the scenarios. */
export interface BenchDirs {
  /** Per-benchmark work directory (on the disk). */
  work: string;
  /** Per-benchmark directory on a different filesystem (tmpfs). */
  shm: string;
  /** Where `--cpu-prof` profiles go, when profiling. */
  profDir?: string;
}

export interface PairOptions {
  /** Short label, used for file names. */
  label: string;
  /** Destination directory the arrivals are watched in. */
  destDir: string;
  /** Destination URL the client asks for (default `file://<destDir>/`). */
  destUrl?: string;
  /** Extra lines for the server section (connection parameters). */
  serverExtra?: string[];
}

export interface Pair {
  server: Proc;
  client: Proc;
  /** The server's publish port. */
  publishPort: number;
  /** The watched directory and the staging directory beside it. */
  inDir: string;
  stageDir: string;
  destDir: string;
  arrivals: Arrivals;
  alive: () => boolean;
  stop(): Promise<void>;
}

/** Thrown when the client command is not usable yet (exits at once). */
export class ClientUnavailable extends Error {}

/** Server ini (docs/server.md) for a chain watching `inDir`. */
export function serverIni(
  inDir: string,
  requestPort: number,
  extra: readonly string[] = [],
): string {
  const lines = [
    "[bench]",
    `origin = ${inDir}/{name}.dat`,
    "topic = /bench",
    `request_port = ${requestPort}`,
    `request_address = ${LOCALHOST}`,
  ];
  return [
    ...lines,
    ...extra,
    ...extraOptions(process.env.BENCH_SERVER_OPTS),
    "",
  ].join("\n");
}

/** Extra `key = value` lines from BENCH_CLIENT_OPTS / BENCH_SERVER_OPTS (`k=v;k2=v2`), for experiments. */
export function extraOptions(env: string | undefined): string[] {
  return (env ?? "")
    .split(";")
    .map((kv) => kv.trim())
    .filter((kv) => kv.includes("="))
    .map((kv) => kv.replace(/\s*=\s*/, " = "));
}

/** Client ini (docs/client.md) for a chain fetching from the server at `publishPort`. */
export function clientIni(publishPort: number, destUrl: string): string {
  const lines = [
    "[bench]",
    `providers = ${LOCALHOST}:${publishPort}`,
    `destination = ${destUrl}`,
    "topic = /bench",
    "publish_port = 0",
    "nameservers = false",
  ];
  return [...lines, ...extraOptions(process.env.BENCH_CLIENT_OPTS), ""].join(
    "\n",
  );
}

/** Start a server on fresh ports watching `<base>/in`, with staging in `<base>/stage`. */
export async function startServer(
  dirs: BenchDirs,
  base: string,
  extra: readonly string[] = [],
): Promise<{
  server: Proc;
  publishPort: number;
  inDir: string;
  stageDir: string;
}> {
  const inDir = join(base, "in");
  const stageDir = join(base, "stage");
  mkdirSync(inDir, { recursive: true });
  mkdirSync(stageDir, { recursive: true });
  const publishPort = await freePort();
  const requestPort = await freePort();
  const ini = join(base, "server.ini");
  writeFileSync(ini, serverIni(inDir, requestPort, extra));
  const args = [
    ini,
    "-p",
    String(publishPort),
    "--host",
    LOCALHOST,
    "--disable-backlog",
    "--state-dir",
    join(base, "state"),
  ];
  const server = startMoveIt(
    "move_it_server",
    args,
    join(base, "server.log"),
    dirs.profDir,
  );
  return { server, publishPort, inDir, stageDir };
}

/** Start the pair and wait until a probe file makes it through. */
export async function startPair(
  dirs: BenchDirs,
  opts: PairOptions,
): Promise<Pair> {
  const base = join(dirs.work, opts.label);
  mkdirSync(opts.destDir, { recursive: true });
  const { server, publishPort, inDir, stageDir } = await startServer(
    dirs,
    base,
    opts.serverExtra,
  );
  const ini = join(base, "client.ini");
  writeFileSync(
    ini,
    clientIni(publishPort, opts.destUrl ?? `file://${opts.destDir}/`),
  );
  const client = startMoveIt(
    "move_it_client",
    [ini, "--host", LOCALHOST],
    join(base, "client.log"),
    dirs.profDir,
  );
  return readyPair({
    server,
    client,
    publishPort,
    inDir,
    stageDir,
    destDir: opts.destDir,
  });
}

/** A started server and client (move_it's, or the floor's) as a pair, once a probe file came through; stopped if none did. */
export async function readyPair(
  parts: Omit<Pair, "arrivals" | "alive" | "stop">,
): Promise<Pair> {
  const { server, client } = parts;
  const arrivals = new Arrivals(parts.destDir);
  const pair: Pair = {
    ...parts,
    arrivals,
    alive: () => server.alive() && client.alive(),
    stop: async () => {
      arrivals.close();
      await Promise.allSettled([client.stop(), server.stop()]);
    },
  };
  try {
    await probe(pair, 30_000);
  } catch (err) {
    await pair.stop();
    throw err;
  }
  return pair;
}

/** Drop probe files (one more each round, waiting longer each time) until any of them arrives; clean them up after. */
async function probe(pair: Pair, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const names: string[] = [];
  for (let k = 0; ; k++) {
    const p = writePayload(pair.stageDir, `probe${k}.dat`, k, 64);
    names.push(dropOne(pair.stageDir, pair.inDir, "p", p).name);
    await pair.arrivals.waitFor(
      names.slice(-1),
      Math.min(1000, 200 + 100 * k),
      pair.alive,
    );
    if (names.some((n) => pair.arrivals.at(n) !== undefined)) break;
    if (!pair.client.alive()) throw clientDied(pair.client);
    if (!pair.server.alive()) throw new Error(pair.server.obituary());
    if (Date.now() > deadline)
      throw new Error(
        `no probe file came through in ${timeoutMs} ms; ${pair.client.obituary()}`,
      );
  }
  await pair.arrivals.waitFor(names, 500);
  for (const n of names) {
    rmSync(join(pair.inDir, n), { force: true });
    rmSync(join(pair.destDir, n), { force: true });
  }
  pair.arrivals.clear();
}

function clientDied(client: Proc): Error {
  const tail = client.tail(600);
  if (/not implemented/i.test(tail))
    return new ClientUnavailable(
      `move_it_client is not usable yet: ${tail.trim().split("\n").pop() ?? ""}`,
    );
  return new Error(client.obituary());
}
