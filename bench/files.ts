/**
 * The benchmark's payload files: written once per scenario into a staging
 * directory (on the same filesystem as the watched one), dropped into the
 * watched directory by rename under a per-run name (the client remembers
 * names it already fetched), moved back after the run, and checked at the
 * destination: the size of every file, the sha256 of a sample.
 */
import { createHash, randomBytes } from "node:crypto";
import {
  closeSync,
  createReadStream,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setImmediate as nextTurn } from "node:timers/promises";

export const KiB = 1024;
export const MiB = 1024 * KiB;
const CHUNK = MiB;

/** A staged payload file. */
export interface Payload {
  /** Base name in the staging directory, e.g. `f00042.dat`. */
  base: string;
  size: number;
  sha256: string;
}

/** A payload dropped into the watched directory. */
export interface Dropped {
  payload: Payload;
  /** Its name in the watched (and destination) directory. */
  name: string;
  /** performance.now() just before the rename. */
  t0: number;
}

/** A pool of random bytes the payloads are cut from (one MiB, random per benchmark). */
const pool = randomBytes(CHUNK);

/** Chunk `c` of payload `i`: the pool, stamped with the file and chunk numbers so every file differs. */
function chunkOf(i: number, c: number, length: number): Buffer {
  const buf = Buffer.from(pool.subarray(0, length));
  buf.write(
    `move_it bench file ${i} chunk ${c}\n`.slice(0, length),
    0,
    "latin1",
  );
  return buf;
}

/** Write one payload file and return its description. */
export function writePayload(
  dir: string,
  base: string,
  index: number,
  size: number,
): Payload {
  const hash = createHash("sha256");
  const fd = openSync(join(dir, base), "w");
  try {
    for (let off = 0, c = 0; off < size; off += CHUNK, c++) {
      const chunk = chunkOf(index, c, Math.min(CHUNK, size - off));
      writeSync(fd, chunk);
      hash.update(chunk);
    }
  } finally {
    closeSync(fd);
  }
  return { base, size, sha256: hash.digest("hex") };
}

/** Stage `count` payloads of `size` bytes named `<prefix>NNNNN.dat`. */
export function stagePayloads(
  dir: string,
  prefix: string,
  count: number,
  size: number,
): Payload[] {
  const out: Payload[] = [];
  for (let i = 0; i < count; i++)
    out.push(
      writePayload(dir, `${prefix}${String(i).padStart(6, "0")}.dat`, i, size),
    );
  return out;
}

/** The name a payload has in run `tag`. */
export function runName(tag: string, p: Payload): string {
  return `${tag}_${p.base}`;
}

/** Drop one payload into `inDir` by rename, noting the time. */
export function dropOne(
  stageDir: string,
  inDir: string,
  tag: string,
  p: Payload,
): Dropped {
  const name = runName(tag, p);
  const t0 = performance.now();
  renameSync(join(stageDir, p.base), join(inDir, name));
  return { payload: p, name, t0 };
}

/**
 * Drop all payloads at once. The renames run in slices of `slice` with a
 * turn of the event loop between them, so the arrival watcher (same
 * process) timestamps early arrivals without waiting for the whole drop.
 */
export async function dropAll(
  stageDir: string,
  inDir: string,
  tag: string,
  payloads: readonly Payload[],
  slice = 100,
): Promise<Dropped[]> {
  const out: Dropped[] = [];
  for (let i = 0; i < payloads.length; i += slice) {
    for (const p of payloads.slice(i, i + slice))
      out.push(dropOne(stageDir, inDir, tag, p));
    await nextTurn();
  }
  return out;
}

/** Move dropped payloads back to the staging directory (for the next run). */
export function returnAll(
  stageDir: string,
  inDir: string,
  dropped: readonly Dropped[],
): void {
  for (const d of dropped)
    renameSync(join(inDir, d.name), join(stageDir, d.payload.base));
}

/** Remove every entry of `dir` (the directory itself stays). */
export function emptyDir(dir: string): void {
  for (const entry of readdirSync(dir))
    rmSync(join(dir, entry), { recursive: true, force: true });
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK }))
    hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Indices of an evenly spread sample of `want` out of `n` (first and last included). */
export function sampleIndices(n: number, want: number): number[] {
  if (n <= want) return [...Array(n).keys()];
  const step = (n - 1) / (want - 1);
  return [...new Set([...Array(want).keys()].map((k) => Math.round(k * step)))];
}

export interface Verdict {
  checked: number;
  hashed: number;
  errors: string[];
}

/** Check the delivered files in `destDir`: every size, the sha256 of `hashSample` of them, and nothing else there (no temporaries left). */
export async function verifyDelivered(
  destDir: string,
  dropped: readonly Dropped[],
  hashSample = 12,
): Promise<Verdict> {
  const expected = new Set(dropped.map((d) => d.name));
  const errors = readdirSync(destDir)
    .filter((e) => !expected.has(e))
    .slice(0, 3)
    .map((e) => `unexpected entry ${e} in the destination`);
  for (const d of dropped) {
    try {
      const size = statSync(join(destDir, d.name)).size;
      if (size !== d.payload.size)
        errors.push(`${d.name}: size ${size}, expected ${d.payload.size}`);
    } catch (err) {
      errors.push(`${d.name}: ${(err as Error).message}`);
    }
  }
  const sample = sampleIndices(dropped.length, hashSample);
  for (const i of sample) {
    const d = dropped[i];
    if (d === undefined) continue;
    const got = await sha256Of(join(destDir, d.name)).catch(
      (err: unknown) => `unreadable (${(err as Error).message})`,
    );
    if (got !== d.payload.sha256)
      errors.push(
        `${d.name}: sha256 ${got.slice(0, 16)}…, expected ${d.payload.sha256.slice(0, 16)}…`,
      );
  }
  return { checked: dropped.length, hashed: sample.length, errors };
}
