/**
 * A real S3-compatible server for tests: s3rver (an npm devDependency, so
 * `npm ci` installs it) run as its own process on 127.0.0.1 and a port it
 * picks, storing objects under a temp dir. It signs like S3 (SigV4) and
 * knows one key pair, S3RVER/S3RVER, so a wrong key or secret is refused
 * as S3 refuses it; multipart uploads are supported. Buckets are made at
 * start.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LOCALHOST, inCi, startDaemon, type Daemon } from "./daemon.js";
import { REPO } from "./procs.js";
import { waitFor } from "./wait.js";

export const S3RVER_BIN = join(
  REPO,
  "node_modules",
  "s3rver",
  "bin",
  "s3rver.js",
);
export const S3_KEY = "S3RVER";
export const S3_SECRET = "S3RVER";

export interface S3Server {
  host: string;
  port: number;
  /** `http://127.0.0.1:PORT`. */
  endpoint: string;
  /** The store's directory on disk. */
  dir: string;
  /** Keys of the objects in a bucket, read from the store's directory (no S3 call). */
  keys(bucket: string): Promise<string[]>;
  /** Kill the server at once (SIGKILL), as a crash would. */
  kill(): void;
  stop(): Promise<void>;
}

/** Skip reason when s3rver is not installed, or undefined (always undefined in CI, where a missing one fails). */
export function s3Skip(): string | undefined {
  if (existsSync(S3RVER_BIN) || inCi()) return undefined;
  return `${S3RVER_BIN} not found: npm ci`;
}

/** Object keys under the s3rver directory of `bucket` (it keeps `KEY._S3rver_object` files). */
async function storedKeys(root: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(root, prefix), {
    withFileTypes: true,
  }).catch(() => [])) {
    const rel = prefix === "" ? e.name : `${prefix}/${e.name}`;
    if (e.isDirectory()) out.push(...(await storedKeys(root, rel)));
    else if (e.name.endsWith("._S3rver_object"))
      out.push(rel.slice(0, -"._S3rver_object".length));
  }
  return out.sort();
}

/** Start s3rver with `buckets`; stop it with `stop()` (in `after`). Throws when it is missing or does not start. */
export async function startS3(
  buckets: readonly string[] = ["incoming"],
): Promise<S3Server> {
  if (!existsSync(S3RVER_BIN))
    throw new Error(
      `${S3RVER_BIN} not found: npm ci installs the s3rver devDependency`,
    );
  const dir = await mkdtemp(join(tmpdir(), "move_it-s3-"));
  const args = [
    S3RVER_BIN,
    "-d",
    dir,
    "-a",
    LOCALHOST,
    "-p",
    "0",
    "--no-vhost-buckets",
    ...buckets.flatMap((b) => ["--configure-bucket", b]),
  ];
  const daemon: Daemon = startDaemon(process.execPath, args);
  let port: number;
  try {
    port = await waitFor(
      () => {
        if (daemon.child.exitCode !== null)
          throw new Error(`s3rver exited: ${daemon.lines.join(" | ")}`);
        const m = daemon.lines
          .map((l) => /S3rver listening on [^:]+:(\d+)/.exec(l))
          .find((x) => x !== null);
        return m === undefined ? undefined : Number(m[1]);
      },
      "s3rver listening",
      20_000,
    );
  } catch (err) {
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    host: LOCALHOST,
    port,
    endpoint: `http://${LOCALHOST}:${port}`,
    dir,
    keys: (bucket) => storedKeys(join(dir, bucket)),
    kill: () => {
      if (daemon.child.pid !== undefined)
        process.kill(-daemon.child.pid, "SIGKILL");
    },
    stop: async () => {
      await daemon.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
