/**
 * The paced latency's floor: a file through the same hand-offs as a move_it
 * pair (an `inotifywait` child, a PUB and a SUB socket, a REQ/ROUTER round
 * trip, the link, this process's watch of the destination) between two
 * processes doing nothing else (floor-peer.ts). It is what a file costs this
 * machine before move_it does any work: what it announces, what its ledgers
 * record, what it checks. The paced scenario times it in every run beside
 * the pair, as the bursts time `cp`.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { readyPair, type Pair } from "./pair.js";
import { REPO_ROOT, freePort, startProc } from "./procs.js";

export interface FloorOptions {
  /** Work directory of the floor's own watched and destination directories. */
  base: string;
  /** Where the payloads wait: on the filesystem of `base` (they are renamed in). */
  stageDir: string;
  /** The destination directory (the pair's filesystem, so a link or a copy as theirs). */
  destDir: string;
}

/** Start the two floor processes and wait until a probe file comes through; the result is driven as a pair. */
export async function startFloor(opts: FloorOptions): Promise<Pair> {
  const inDir = join(opts.base, "in");
  mkdirSync(inDir, { recursive: true });
  mkdirSync(opts.destDir, { recursive: true });
  const pubPort = String(await freePort());
  const reqPort = String(await freePort());
  const peer = join(REPO_ROOT, "dist", "bench", "floor-peer.js");
  const server = startProc(
    "floor server",
    process.execPath,
    [peer, "server", inDir, opts.destDir, pubPort, reqPort],
    join(opts.base, "server.log"),
  );
  const client = startProc(
    "floor client",
    process.execPath,
    [peer, "client", pubPort, reqPort],
    join(opts.base, "client.log"),
  );
  return readyPair({
    server,
    client,
    publishPort: Number(pubPort),
    inDir,
    stageDir: opts.stageDir,
    destDir: opts.destDir,
  });
}
