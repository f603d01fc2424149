/**
 * Catch-up through a mirror across a kill -9 of the mirror, with bin/
 * processes on 127.0.0.1:
 *
 *   move_it_server → move_it_mirror (local staging) → move_it_client
 *
 * The downstream client is stopped; files are announced upstream and relayed
 * by the mirror (its server half records them in its ledger: move_it_req
 * catchup against the mirror lists them); the mirror is killed with SIGKILL
 * and restarted; then the client starts again. It must catch up from the
 * restarted mirror and get every file once and intact, and the mirror must
 * delete every staged copy after its push.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { DeliveryCounter, sha256 } from "../helpers/fleet.js";
import { freePort } from "../helpers/net.js";
import { runCommand, waitForLog, type Proc } from "../helpers/procs.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";
import { requireBinary, skipUnless } from "../helpers/daemon.js";

const INOTIFYWAIT = "/usr/bin/inotifywait";
const skip = skipUnless(INOTIFYWAIT, "inotify-tools");
const FILES = 6;

/** The uids move_it_req catchup lists for `topic` at `server` (empty when it does not answer). */
async function caughtUp(t: TestContext, server: string, topic: string): Promise<string[]> {
  const p = runCommand(t, "move_it_req", ["catchup", topic, server, "--since", "1h", "--json", "--timeout", "5"]);
  if ((await p.exited) !== 0) return [];
  const reply = JSON.parse(p.stdout()) as { messages: Array<{ data: { uid?: string } }> };
  return reply.messages.map((m) => m.data.uid ?? "");
}

test("e2e/mirror-catchup - a client that was down catches up from a mirror killed (-9) and restarted meanwhile: every file once, intact, staged copies deleted", { skip, timeout: 240_000 }, async (t) => {
  requireBinary(INOTIFYWAIT, "inotify-tools");
  const work = await tempDir(t, "move_it-mcatch-");
  const [inDir, aside, stage, out] = ["in", "aside", "stage", "out"].map((d) => join(work, d)) as [string, string, string, string];
  for (const d of [inDir, aside, stage, out]) await mkdir(d);
  const [sPub, sReq, mPub, mReq] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const sIni = join(work, "s.ini");
  await writeFile(sIni, `[up]\norigin = ${inDir}/{name}.dat\ntopic = /up/data\nrequest_port = ${sReq}\nrequest_address = 127.0.0.1\n`);
  const mIni = join(work, "m.ini");
  await writeFile(
    mIni,
    `[gw]\nproviders = 127.0.0.1:${sPub}\nclient_topic = /up/data\ndestination = ${stage}/\n` +
      `origin = ${stage}/{name}.dat\ntopic = /gw/data\nrequest_port = ${mReq}\nrequest_address = 127.0.0.1\npublish_port = 0\nnameservers = false\nremove_delay = 1\n`,
  );
  const cIni = join(work, "c.ini");
  await writeFile(cIni, `[down]\nproviders = 127.0.0.1:${mPub}\ndestination = file://${out}/\ntopic = /gw/data\npublish_port = 0\nnameservers = false\ntransfer_req_timeout = 20\n`);
  let runs = 0;
  const run = async (cmd: "move_it_server" | "move_it_client" | "move_it_mirror", args: string[], ready: string): Promise<Proc> => {
    const log = join(work, `${cmd}-${++runs}.log`);
    const proc = runCommand(t, cmd, [...args, "--host", "127.0.0.1", "-v", "-l", log]);
    await waitForLog(log, ready, 60_000);
    return proc;
  };
  const startMirror = (): Promise<Proc> => run("move_it_mirror", [mIni, "-p", String(mPub), "--state-dir", join(work, "m-state")], "mirror started");
  const startClient = (): Promise<Proc> => run("move_it_client", [cIni, "--state-dir", join(work, "c-state")], "chain started");
  await run("move_it_server", [sIni, "-p", String(sPub), "--state-dir", join(work, "s-state")], "server started");
  let mirror = await startMirror();
  let client = await startClient();
  const counter = new DeliveryCounter(t, out);
  await counter.started();

  const dropped = new Map<string, string>();
  const drop = async (name: string, bytes: number): Promise<void> => {
    const body = randomBytes(bytes);
    dropped.set(name, sha256(body));
    await writeFile(join(aside, name), body);
    await rename(join(aside, name), join(inDir, name));
  };
  const delivered = async (): Promise<string[]> => (await readdir(out)).filter((n) => !n.startsWith(".") && !n.endsWith(".part"));
  // Warm up: the client knows the mirror (its ledger keeps it as a server to catch up from) once a probe arrived.
  for (let i = 0; !(await delivered()).some((n) => n.startsWith("probe-")); i++) {
    assert.ok(i < 60, "no probe got through the mirror");
    await drop(`probe-${i}.dat`, 10);
    await waitFor(async () => (await delivered()).some((n) => n.startsWith("probe-")), "probe", 1000).catch(() => undefined);
  }
  client.child.kill("SIGTERM");
  assert.equal(await client.exited, 0, "the client stops cleanly");

  const names = Array.from({ length: FILES }, (_, i) => `f-${i}.dat`);
  for (const [i, name] of names.entries()) await drop(name, 200_000 + i * 10_007);
  // Relayed and recorded by the mirror's server half: its catch-up lists them (committed rows only).
  const mirrorReq = `127.0.0.1:${mReq}`;
  await waitFor(async () => {
    const listed = new Set(await caughtUp(t, mirrorReq, "/gw/data"));
    return names.every((n) => listed.has(n));
  }, "every file in the mirror's catch-up", 60_000);
  assert.deepEqual((await readdir(stage)).filter((n) => n.startsWith("f-")), [], "nothing fetched before a downstream client asked");

  mirror.child.kill("SIGKILL");
  await mirror.exited;
  mirror = await startMirror();
  const listed = new Set(await caughtUp(t, mirrorReq, "/gw/data"));
  assert.ok(names.every((n) => listed.has(n)), `the restarted mirror still offers every relayed file: ${[...listed].join(", ")}`);

  client = await startClient();
  await waitFor(async () => {
    const have = new Set(await delivered());
    return names.every((n) => have.has(n));
  }, "every file delivered through the restarted mirror", 120_000);
  for (const name of names) assert.equal(sha256(await readFile(join(out, name))), dropped.get(name), `${name} intact`);
  await waitFor(() => names.every((n) => counter.counts.has(n)), "every delivery seen", 10_000);
  assert.deepEqual(counter.twice(), [], "delivered more than once");
  const staged = async (): Promise<string[]> => (await readdir(stage)).filter((n) => !n.startsWith("."));
  await waitFor(async () => (await staged()).length === 0, "every staged copy deleted after its push", 30_000).catch(async (err: unknown) => {
    throw new Error(`${(err as Error).message}: left ${(await staged()).join(", ")}`);
  });
});
