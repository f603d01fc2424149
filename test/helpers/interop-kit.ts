/**
 * Shared pieces of the interop suite (test/interop/): the lab wrapper that
 * skips or fails as the README says, files of random content dropped the way
 * a reception system drops them, and checks on what arrived.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { access, mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { Message } from "../../src/message/index.js";
import type { NsProcess, NsSubscriber } from "./netns.js";
import { InteropLab, referenceUnavailable } from "./reference.js";
import { delay, waitFor } from "./wait.js";

const inCi = process.env["CI"] === "true";
export const unavailable = await referenceUnavailable();
/** The `skip` option of every interop test. */
export const skip = unavailable !== undefined && !inCi ? `${unavailable} (with CI=true this fails instead)` : false;

export const sha256 = (data: Buffer): string => createHash("sha256").update(data).digest("hex");
export const exists = (p: string): Promise<boolean> => access(p).then(() => true, () => false);

/** Run a scenario in a fresh one-namespace lab; on failure print every log tail and keep the lab dir. */
export async function inLab(t: TestContext, tag: string, body: (lab: InteropLab) => Promise<void>): Promise<void> {
  if (unavailable !== undefined) assert.fail(`CI=true and the interop peers cannot run: ${unavailable}`);
  const started = Date.now();
  const lab = await InteropLab.create(tag);
  let failed = false;
  t.after(async () => {
    const problems = await lab.lab.teardown(failed);
    for (const p of problems) t.diagnostic(`teardown: ${p}`);
  });
  try {
    await body(lab);
  } catch (err) {
    failed = true;
    process.stderr.write(`\n===== interop ${tag} failed after ${Date.now() - started} ms; process logs follow\n${await lab.lab.tails(60)}\n=====\n`);
    throw err;
  }
  t.diagnostic(`${tag}: ${Date.now() - started} ms`);
}

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
export function makeFiles(prefix: string, sizes: readonly number[]): Map<string, Buffer> {
  return new Map(sizes.map((size, i) => [`${prefix}-${String(i).padStart(2, "0")}.dat`, randomBytes(size)]));
}

/** Write every file aside at every site, then rename them all into the watched directories. */
export async function drop(sites: readonly Site[], files: ReadonlyMap<string, Buffer>): Promise<void> {
  await Promise.all(sites.flatMap((s) => [...files].map(([name, data]) => writeFile(join(s.aside, name), data))));
  await Promise.all(sites.flatMap((s) => [...files.keys()].map((name) => rename(join(s.aside, name), join(s.inDir, name)))));
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

/** Wait until a `file` message was published for every name. */
export async function waitPublished(sub: NsSubscriber, names: Iterable<string>, what: string, timeoutMs = 60_000): Promise<void> {
  const wanted = [...names];
  await waitFor(() => {
    const got = new Set(published(sub, "file").map(uidOf));
    return wanted.every((n) => got.has(n));
  }, what, timeoutMs);
}

/** Wait until every name is in `dir`. */
export async function waitArrived(dir: string, names: Iterable<string>, what: string, timeoutMs = 60_000): Promise<void> {
  const wanted = [...names];
  await waitFor(async () => {
    const have = new Set(await readdir(dir).catch(() => []));
    return wanted.every((n) => have.has(n));
  }, what, timeoutMs);
}

/** Wait until none of `names` is left in `dir`. */
export async function waitGone(dir: string, names: Iterable<string>, what: string, timeoutMs = 30_000): Promise<void> {
  const wanted = [...names];
  await waitFor(async () => {
    const left = new Set(await readdir(dir));
    return wanted.every((n) => !left.has(n));
  }, what, timeoutMs);
}

/** Every file in `dir` has the sha256 of its source. */
export async function assertIntact(dir: string, files: ReadonlyMap<string, Buffer>): Promise<void> {
  for (const [name, data] of files) {
    const got = await readFile(join(dir, name));
    assert.equal(sha256(got), sha256(data), `${name}: sha256 differs from the source (${got.length} vs ${data.length} bytes)`);
  }
}

/** `dir` holds exactly `names` (probes aside): nothing extra, no `.part` left. */
export async function assertDirHolds(dir: string, names: Iterable<string>): Promise<void> {
  const present = (await readdir(dir)).filter((n) => !/^probe-\d+\.dat$/.test(n));
  assert.deepEqual(present.sort(), [...new Set(names)].sort(), `contents of ${dir}`);
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
export async function warmUp(sites: readonly Site[], through: (name: string) => Promise<boolean>, everyMs = 1000, timeoutMs = 45_000): Promise<string> {
  const probes: string[] = [];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const name = `probe-${probes.length}.dat`;
    probes.push(name);
    await drop(sites, new Map([[name, Buffer.from(`${name}\n`)]]));
    for (const until = Date.now() + everyMs; Date.now() < until; await delay(50)) {
      for (const p of probes) if (await through(p)) return p;
    }
  }
  throw new Error(`no probe got through within ${timeoutMs} ms (${probes.length} tried)`);
}

/** Lines of a process's text output (stdout and stderr). */
export async function outputOf(proc: NsProcess): Promise<string> {
  return readFile(proc.outFile, "utf8").catch(() => "");
}

/** An ini file in the lab dir. */
export async function ini(lab: InteropLab, name: string, text: string): Promise<string> {
  const path = join(lab.dir, name);
  await writeFile(path, text);
  return path;
}

/** Which implementation a peer of a lab test runs. */
export type PeerKind = "python" | "move_it";

/** The `[interop]` section of a lab server: `{name}.dat` under `origin`, served copies deleted a second after their push. */
export function labServerIni(topic: string, origin: string, requestPort: number, extra = ""): string {
  return `[interop]\norigin = ${origin}/{name}.dat\ntopic = ${topic}\nrequest_port = ${requestPort}\nrequest_address = 127.0.0.1\ndelete = True\nremove_delay = 1\n${extra}`;
}

/** The `[interop]` section of a lab client listening to publishers on 127.0.0.1 `providers`, delivering to `out`. */
export function labClientIni(topic: string, providers: readonly number[], out: string, publishPort: number, extra = ""): string {
  const list = providers.map((p) => `127.0.0.1:${p}`).join(" ");
  return `[interop]\nproviders = ${list}\ndestination = file://${out}/\ntopic = ${topic}\npublish_port = ${publishPort}\nnameservers = false\n${extra}`;
}

/** The label of a lab peer: `py-server`, `ts-client`... (its output in `<label>.out`, ours' log in `<label>.log`). */
export const peerLabel = (kind: PeerKind, role: "server" | "client" | "mirror"): string => `${kind === "python" ? "py" : "ts"}-${role}`;

/** A server of either kind publishing on `publishPort`, without backlog, at -v (ours keeps its state in `<label>-state`). */
export function labServer(lab: InteropLab, kind: PeerKind, iniPath: string, publishPort: number): NsProcess {
  const label = peerLabel(kind, "server");
  if (kind === "python") return lab.py(label, "move_it_server", ["-p", String(publishPort), "--disable-backlog", "-v", iniPath]);
  return lab.ours(label, "server", [iniPath, "-p", String(publishPort), "--host", "127.0.0.1", "--disable-backlog", "--state-dir", join(lab.dir, `${label}-state`), "-v"]);
}

/** A client of either kind, at -v. */
export function labClient(lab: InteropLab, kind: PeerKind, iniPath: string): NsProcess {
  const label = peerLabel(kind, "client");
  if (kind === "python") return lab.py(label, "move_it_client", ["-v", iniPath]);
  return lab.ours(label, "client", [iniPath, "--host", "127.0.0.1", "-v"]);
}

/** A mirror of either kind publishing on `publishPort`, at -v. */
export function labMirror(lab: InteropLab, kind: PeerKind, iniPath: string, publishPort: number): NsProcess {
  const label = peerLabel(kind, "mirror");
  if (kind === "python") return lab.py(label, "move_it_mirror", ["-p", String(publishPort), "-v", iniPath]);
  return lab.ours(label, "mirror", [iniPath, "-p", String(publishPort), "--host", "127.0.0.1", "--state-dir", join(lab.dir, `${label}-state`), "-v"]);
}

/** What the lab's last client republishes: a subscriber on its publish port, and checks on the `file` messages. */
export class Republished {
  private constructor(readonly sub: NsSubscriber) {}

  /** Once every port in `upstream` and the client's `publishPort` accept connections, subscribe to the client. */
  static async subscribe(lab: InteropLab, upstream: readonly number[], publishPort: number): Promise<Republished> {
    for (const port of [...upstream, publishPort]) await lab.reachable(port);
    return new Republished(lab.lab.subscribe(lab.ns, "sub", `tcp://127.0.0.1:${publishPort}`));
  }

  /** The `file` messages so far. */
  files(): Message[] {
    return published(this.sub, "file");
  }

  /** Whether a `file` message for `name` came. */
  seen(name: string): boolean {
    return this.files().some((m) => uidOf(m) === name);
  }

  /** Wait for a `file` message for every name. */
  wait(names: Iterable<string>, what: string, timeoutMs?: number): Promise<void> {
    return waitPublished(this.sub, names, what, timeoutMs);
  }

  /** One `file` message, no more, for each name. */
  assertOnce(names: Iterable<string>): void {
    const counts = tally(this.files().map(uidOf));
    for (const name of names) assert.equal(counts.get(name), 1, `${name} published ${counts.get(name)} times`);
  }
}
