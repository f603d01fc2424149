/**
 * The frame of every test that runs its peers in network namespaces of its
 * own (test/helpers/netns.ts): fail when the lab cannot run (the caller
 * skips first unless CI=true), print every process's log tail when the
 * scenario fails (and keep the lab dir), always tear the lab down; the
 * probe warm-up that knows every subscription on the way is in place; files
 * of random content dropped the way a reception system drops them, and
 * checks on what arrived.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import {
  access,
  mkdir,
  readdir,
  readFile,
  rename,
  writeFile,
} from "node:fs/promises";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { Message } from "../../src/message/index.js";
import type { NetLab, NsSubscriber } from "./netns.js";
import { delay, waitFor } from "./wait.js";
import { collect } from "./zmq.js";

/**
 * Create a lab with `create`, run `body` in it, tear it down after the test.
 * `unavailable` says why labs cannot run here (the test fails with it);
 * `netLab` gives the NetLab of what `create` made.
 */
export async function runLab<L>(
  t: TestContext,
  tag: string,
  unavailable: string | undefined,
  create: () => Promise<L>,
  netLab: (lab: L) => NetLab,
  body: (lab: L) => Promise<void>,
): Promise<void> {
  if (unavailable !== undefined)
    assert.fail(`CI=true and the lab cannot run: ${unavailable}`);
  const started = Date.now();
  const lab = await create();
  let failed = false;
  t.after(async () => {
    for (const p of await netLab(lab).teardown(failed))
      t.diagnostic(`teardown: ${p}`);
  });
  try {
    await body(lab);
  } catch (err) {
    failed = true;
    process.stderr.write(
      `\n===== ${t.name}: lab ${tag} failed after ${Date.now() - started} ms; process logs follow\n${await netLab(lab).tails(60)}\n=====\n`,
    );
    throw err;
  }
  t.diagnostic(`${tag}: ${Date.now() - started} ms`);
}

/**
 * Send probe `i` (`send` returns what to look for) every `everyMs` until
 * `through` holds for one of them: every subscription on the way is then in
 * place (a subscriber that connects after a message never sees it). Probes
 * sent earlier may still arrive later. Returns the one that made it.
 */
export async function probeUntil(
  send: (i: number) => Promise<string>,
  through: (key: string) => boolean | Promise<boolean>,
  everyMs = 1000,
  timeoutMs = 45_000,
): Promise<string> {
  const sent: string[] = [];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    sent.push(await send(sent.length));
    for (
      const until = Date.now() + everyMs;
      Date.now() < until;
      await delay(50)
    ) {
      for (const key of sent) if (await through(key)) return key;
    }
  }
  throw new Error(
    `no probe got through within ${timeoutMs} ms (${sent.length} tried)`,
  );
}

/**
 * `collect` from a server's publisher, once the subscription is live: a
 * probe file (`body`) is written into the watched `dir` every 0.2 s until
 * one is announced (what a publisher sends before a subscriber is connected
 * is lost). The probes stay in `dir`.
 */
export async function collectAnnounced(
  t: TestContext,
  port: number,
  subjects: string[],
  dir: string,
  body = "x",
): Promise<Message[]> {
  const got = collect(t, port, subjects);
  await probeUntil(
    async (i) => (
      await writeFile(join(dir, `probe${i}.dat`), body),
      `probe${i}.dat`
    ),
    () => got.length > 0,
    200,
  );
  return got;
}

/** Decoded messages of one type a subscriber received. */
export function published(sub: NsSubscriber, type: string): Message[] {
  const out: Message[] = [];
  for (const frame of sub.frames) {
    let msg: Message;
    try {
      msg = Message.decode(frame);
    } catch {
      continue;
    }
    if (msg.type === type) out.push(msg);
  }
  return out;
}

export function uidOf(msg: Message): string {
  const uid = msg.dataObject["uid"];
  assert.equal(typeof uid, "string", `message without uid: ${msg.encode()}`);
  return uid as string;
}

export const sha256 = (data: Buffer): string =>
  createHash("sha256").update(data).digest("hex");
export const exists = (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );

/** A watched directory and the directory beside it where files are written before being moved in. */
export interface Site {
  inDir: string;
  aside: string;
}

export async function makeSite(root: string): Promise<Site> {
  const site = { inDir: join(root, "in"), aside: join(root, "aside") };
  await mkdir(site.inDir, { recursive: true });
  await mkdir(site.aside, { recursive: true });
  return site;
}

/** Files of random content and the given sizes, by name. */
export function makeFiles(
  prefix: string,
  sizes: readonly number[],
): Map<string, Buffer> {
  return new Map(
    sizes.map((size, i) => [
      `${prefix}-${String(i).padStart(2, "0")}.dat`,
      randomBytes(size),
    ]),
  );
}

/** Write every file aside at every site, then rename them all into the watched directories. */
export async function drop(
  sites: readonly Site[],
  files: ReadonlyMap<string, Buffer>,
): Promise<void> {
  await Promise.all(
    sites.flatMap((s) =>
      [...files].map(([name, data]) => writeFile(join(s.aside, name), data)),
    ),
  );
  await Promise.all(
    sites.flatMap((s) =>
      [...files.keys()].map((name) =>
        rename(join(s.aside, name), join(s.inDir, name)),
      ),
    ),
  );
}

/** Wait until a `file` message was published for every name. */
export async function waitPublished(
  sub: NsSubscriber,
  names: Iterable<string>,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  const wanted = [...names];
  await waitFor(
    () => {
      const got = new Set(published(sub, "file").map(uidOf));
      return wanted.every((n) => got.has(n));
    },
    what,
    timeoutMs,
  );
}

/** Wait until every name is in `dir`. */
export async function waitArrived(
  dir: string,
  names: Iterable<string>,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  const wanted = [...names];
  await waitFor(
    async () => {
      const have = new Set(await readdir(dir).catch(() => []));
      return wanted.every((n) => have.has(n));
    },
    what,
    timeoutMs,
  );
}

/** Wait until none of `names` is left in `dir`. */
export async function waitGone(
  dir: string,
  names: Iterable<string>,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const wanted = [...names];
  await waitFor(
    async () => {
      const left = new Set(await readdir(dir));
      return wanted.every((n) => !left.has(n));
    },
    what,
    timeoutMs,
  );
}

/** Every file in `dir` has the sha256 of its source. */
export async function assertIntact(
  dir: string,
  files: ReadonlyMap<string, Buffer>,
): Promise<void> {
  for (const [name, data] of files) {
    const got = await readFile(join(dir, name));
    assert.equal(
      sha256(got),
      sha256(data),
      `${name}: sha256 differs from the source (${got.length} vs ${data.length} bytes)`,
    );
  }
}

/** `dir` holds exactly `names` (probes aside): nothing extra, no `.part` left. */
export async function assertDirHolds(
  dir: string,
  names: Iterable<string>,
): Promise<void> {
  const present = (await readdir(dir)).filter(
    (n) => !/^probe-\d+\.dat$/.test(n),
  );
  assert.deepEqual(
    present.sort(),
    [...new Set(names)].sort(),
    `contents of ${dir}`,
  );
}

/** How many times each value occurs. */
export function tally(values: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}

/**
 * Drop a probe every `everyMs` until `through(name)` holds for one: every
 * subscription on the way is then in place. Returns that probe.
 */
export function warmUp(
  sites: readonly Site[],
  through: (name: string) => Promise<boolean>,
  everyMs = 1000,
  timeoutMs = 45_000,
): Promise<string> {
  const send = async (i: number): Promise<string> => {
    const name = `probe-${i}.dat`;
    await drop(sites, new Map([[name, Buffer.from(`${name}\n`)]]));
    return name;
  };
  return probeUntil(send, through, everyMs, timeoutMs);
}
