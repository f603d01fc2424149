/**
 * A `listen` server section, with bin/ processes on 127.0.0.1:
 *
 *   move_it_server (origin) → move_it_client C1 (delivers to mid/, republishes)
 *     → move_it_server L (listen = C1's topic, addresses = C1's publisher)
 *     → move_it_client C2 (delivers to out/)
 *
 * Every file dropped at the first server reaches out/ once (one rename into
 * place, counted by inotifywait), intact; L deletes mid/'s copy after the
 * push (`delete`), so pushes and deletions work for listened files. Files L
 * re-announced while C2 was down, and L killed with SIGKILL before C2 came
 * back, still reach C2 through catch-up from L's ledger. A `dataset` message
 * from a plain posttroll publisher is re-announced as one dataset and both
 * of its files are delivered; a message naming another host's file, and a
 * non-file message, are not re-announced.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { Message } from "../../src/message/index.js";
import { Publisher } from "../../src/transport/publisher.js";
import { DeliveryCounter, sha256 } from "../helpers/fleet.js";
import { captureLogger } from "../helpers/log.js";
import { collect } from "../helpers/zmq.js";
import {
  logRecords,
  runCommand,
  waitForLog,
  type Proc,
} from "../helpers/procs.js";
import { boundPorts, startServerProc } from "../helpers/server-proc.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";
import { requireBinary, skipUnless } from "../helpers/daemon.js";

const skip = skipUnless("/usr/bin/inotifywait", "inotify-tools");

interface Chain {
  dir: string;
  inDir: string;
  mid: string;
  out: string;
  /** L's publish and request ports, known once it started. */
  lPub: number;
  lReq: number;
  /** A plain posttroll publisher L listens to beside C1. */
  upstream: Publisher;
  startL(): Promise<{ proc: Proc; log: string }>;
  startC2(): Promise<{ proc: Proc; log: string }>;
  drop(name: string, bytes?: number): Promise<void>;
  dropped: Map<string, string>;
}

/**
 * The chain with every port bound as 0 and read back from the daemon's log:
 * S's publish port goes into C1's config, C1's into L's, L's into C2's once
 * L first started; L's restarts keep its ports (written before the restart).
 */
async function chain(t: TestContext): Promise<Chain> {
  const dir = await tempDir(t, "move_it-listen-");
  const [inDir, aside, mid, out] = ["in", "aside", "mid", "out"].map((d) =>
    join(dir, d),
  ) as [string, string, string, string];
  for (const d of [inDir, aside, mid, out]) await mkdir(d);
  const sIni = join(dir, "s.ini");
  await writeFile(
    sIni,
    `[src]\norigin = ${inDir}/{name}.dat\ntopic = /up/data\nrequest_port = 0\nrequest_address = 127.0.0.1\ndelete = true\nremove_delay = 1\n`,
  );
  let runs = 0;
  const logFor = (cmd: string): string => join(dir, `${cmd}-${++runs}.log`);
  const sLog = logFor("move_it_server");
  await startServerProc(
    t,
    [
      sIni,
      "-p",
      "0",
      "--host",
      "127.0.0.1",
      "-l",
      sLog,
      "--state-dir",
      join(dir, "s-state"),
    ],
    sLog,
    "S start",
  );
  const c1Ini = join(dir, "c1.ini");
  await writeFile(
    c1Ini,
    `[c1]\nproviders = 127.0.0.1:${boundPorts(await logRecords(sLog)).publishPort}\ndestination = file://${mid}/\ntopic = /up/data\npublish_port = 0\nnameservers = false\n`,
  );
  const startClient = async (
    ini: string,
    state: string,
  ): Promise<{ proc: Proc; log: string; publishPort: number }> => {
    const log = logFor("move_it_client");
    const proc = runCommand(t, "move_it_client", [
      ini,
      "--host",
      "127.0.0.1",
      "-l",
      log,
      "--state-dir",
      join(dir, state),
    ]);
    const started = await waitForLog(log, "chain started");
    return { proc, log, publishPort: Number(started["publishPort"]) };
  };
  const c1Pub = (await startClient(c1Ini, "c1-state")).publishPort;
  const upstream = new Publisher({
    bind: "tcp://127.0.0.1:0",
    log: captureLogger().log,
  });
  await upstream.start();
  t.after(() => upstream.close());
  const listenIni = join(dir, "l.ini");
  const writeListenIni = (req: number): Promise<void> =>
    writeFile(
      listenIni,
      `[relay]\nlisten = /up/data\ntopic = /relay/data\naddresses = tcp://127.0.0.1:${c1Pub} tcp://127.0.0.1:${upstream.port}\nnameserver = false\n` +
        `request_port = ${req}\nrequest_address = 127.0.0.1\ninfo = gateway=gw1;kind=relay\ndelete = true\nremove_delay = 1\n`,
    );
  await writeListenIni(0);
  const c2Ini = join(dir, "c2.ini");
  const dropped = new Map<string, string>();
  const c: Chain = {
    dir,
    inDir,
    mid,
    out,
    lPub: 0,
    lReq: 0,
    upstream,
    dropped,
    async startL() {
      // The ports of the first start, written before a restart (never while it runs: the server reloads a changed config).
      if (c.lPub !== 0) await writeListenIni(c.lReq);
      const log = logFor("move_it_server");
      const proc = await startServerProc(
        t,
        [
          listenIni,
          "-p",
          String(c.lPub),
          "--host",
          "127.0.0.1",
          "-l",
          log,
          "--state-dir",
          join(dir, "l-state"),
        ],
        log,
        "L start",
      );
      if (c.lPub === 0) {
        const bound = boundPorts(await logRecords(log));
        c.lPub = bound.publishPort;
        c.lReq =
          bound.ports["relay"] ??
          assert.fail(`no request port of [relay] in ${log}`);
        await writeFile(
          c2Ini,
          `[c2]\nproviders = 127.0.0.1:${c.lPub}\ndestination = file://${out}/\ntopic = /relay/data\npublish_port = 0\nnameservers = false\ntransfer_req_timeout = 5\n`,
        );
      }
      return { proc, log };
    },
    async startC2() {
      if (c.lPub === 0)
        throw new Error("start L first: C2's config names the port it bound");
      return startClient(c2Ini, "c2-state");
    },
    async drop(name, bytes = 1000) {
      const body = randomBytes(bytes);
      dropped.set(name, sha256(body));
      await writeFile(join(aside, name), body);
      await rename(join(aside, name), join(inDir, name));
    },
  };
  return c;
}

async function kill9(p: Proc): Promise<void> {
  p.child.kill("SIGKILL");
  await p.exited;
}

/** Wait until every name is in out/. */
async function waitInOut(
  c: Chain,
  names: readonly string[],
  what: string,
): Promise<void> {
  await waitFor(
    async () => {
      const have = new Set(await readdir(c.out));
      return names.every((n) => have.has(n));
    },
    what,
    60_000,
  );
}

/**
 * Every dropped file in out/, intact, renamed into place once. A sentinel
 * file dropped last and awaited comes first: a second delivery of an earlier
 * file would have shown by then.
 */
async function assertAllOnce(
  c: Chain,
  counter: DeliveryCounter,
  sentinel: string,
): Promise<void> {
  await waitInOut(
    c,
    [...c.dropped.keys()],
    `all ${c.dropped.size} files in out/`,
  );
  for (const [name, sum] of c.dropped)
    assert.equal(
      sha256(await readFile(join(c.out, name))),
      sum,
      `${name} intact`,
    );
  await c.drop(sentinel);
  await waitInOut(c, [sentinel], `the sentinel ${sentinel} in out/`);
  await waitFor(
    () => [...c.dropped.keys()].every((n) => counter.counts.has(n)),
    "every rename seen",
    10_000,
  );
  assert.deepEqual(counter.twice(), [], "delivered more than once");
}

/** Drop probes until one reaches out/: every subscription on the three hops is up. */
async function warmUp(c: Chain): Promise<void> {
  for (let i = 0; ; i++) {
    assert.ok(i < 60, "no probe got through the chain");
    const name = `probe-${i}.dat`;
    await c.drop(name, 10);
    const arrived = await waitFor(
      async () => (await readdir(c.out)).includes(name),
      "probe",
      1000,
    ).then(
      () => true,
      () => false,
    );
    if (arrived) return;
  }
}

test(
  "e2e/server-listen - files republished by a client are re-announced, pushed once each, deleted after the push, and caught up after a kill -9",
  { skip, timeout: 180_000 },
  async (t) => {
    requireBinary("/usr/bin/inotifywait", "inotify-tools");
    const c = await chain(t);
    const counter = new DeliveryCounter(t, c.out);
    await counter.started();
    const l = await c.startL();
    const heard = collect(t, c.lPub, ["/relay"]);
    const c2 = await c.startC2();
    await warmUp(c);

    for (let i = 0; i < 20; i++) await c.drop(`a-${i}.dat`, 1000 + i * 5000);
    await assertAllOnce(c, counter, "sentinel-a.dat");
    // L pushed from mid/ and deleted its copy there.
    await waitFor(
      async () =>
        (await readdir(c.mid)).filter((n) => n.startsWith("a-")).length === 0,
      "mid/ copies deleted after the push",
      20_000,
    );

    // The announcement: L's info first, C1's data, L's request_address; the received type.
    const msg = heard.find((m) => m.dataObject["uid"] === "a-3.dat");
    assert.ok(msg !== undefined, "L's announcement of a-3.dat heard");
    assert.equal(msg.subject, "/relay/data");
    assert.equal(msg.type, "file");
    const keys = Object.keys(msg.dataObject);
    assert.deepEqual(keys.slice(0, 2), ["gateway", "kind"]);
    assert.equal(keys.at(-1), "request_address");
    assert.equal(msg.dataObject["request_address"], `127.0.0.1:${c.lReq}`);
    assert.equal(msg.dataObject["uri"], join(c.mid, "a-3.dat"));

    // C2 down: L re-announces meanwhile; then L is killed with SIGKILL and restarted: catch-up from its ledger.
    c2.proc.child.kill("SIGTERM");
    await c2.proc.exited;
    const before = (await logRecords(l.log)).filter(
      (r) => r["msg"] === "re-announced",
    ).length;
    for (let i = 0; i < 10; i++) await c.drop(`b-${i}.dat`, 3000 + i);
    await waitFor(
      async () =>
        (await logRecords(l.log)).filter((r) => r["msg"] === "re-announced")
          .length >=
        before + 10,
      "L re-announced the b- files",
      30_000,
    );
    await kill9(l.proc);
    await c.startL();
    await c.startC2();
    await assertAllOnce(c, counter, "sentinel-b.dat");
  },
);

test(
  "e2e/server-listen - a dataset from a posttroll publisher is re-announced whole; a remote file and a non-file message are not",
  { skip, timeout: 120_000 },
  async (t) => {
    requireBinary("/usr/bin/inotifywait", "inotify-tools");
    const c = await chain(t);
    const { upstream } = c;
    const counter = new DeliveryCounter(t, c.out);
    await counter.started();
    const l = await c.startL();
    await c.startC2();
    await warmUp(c);

    const files = new Map([
      ["ds-1.dat", randomBytes(5000)],
      ["ds-2.dat", randomBytes(7000)],
    ]);
    for (const [name, body] of files) await writeFile(join(c.mid, name), body);
    const dataset = new Message("/up/data/x", "dataset", {
      platform_name: "NOAA-20",
      dataset: [...files.keys()].map((name) => ({
        uri: `file://${join(c.mid, name)}`,
        uid: name,
      })),
      request_address: "10.9.9.9:9999",
    });
    const remote = new Message("/up/data/x", "file", {
      uri: "ssh://remote-host.invalid/data/r.dat",
      uid: "r.dat",
    });
    const beat = new Message("/up/data/x", "beat", { min_interval: 1 });
    // Published until L takes it (its subscription to this publisher may still be connecting).
    await waitFor(
      async () => {
        await upstream.publish(remote);
        await upstream.publish(beat);
        await upstream.publish(dataset);
        return (await logRecords(l.log)).some(
          (r) => r["msg"] === "re-announced" && r["type"] === "dataset",
        );
      },
      "L re-announced the dataset",
      30_000,
    );
    await waitFor(
      async () => {
        const have = new Set(await readdir(c.out));
        return [...files.keys()].every((n) => have.has(n));
      },
      "both dataset files delivered",
      30_000,
    );
    for (const [name, body] of files)
      assert.equal(sha256(await readFile(join(c.out, name))), sha256(body));
    const recs = await logRecords(l.log);
    assert.ok(
      recs.some(
        (r) =>
          r["msg"] ===
            "message names a file on another host: not re-announced" &&
          r["uri"] === "ssh://remote-host.invalid/data/r.dat",
      ),
    );
    assert.ok(
      !recs.some(
        (r) =>
          r["msg"] === "re-announced" &&
          Array.isArray(r["uids"]) &&
          (r["uids"] as string[]).includes("r.dat"),
      ),
    );
    assert.ok(
      !recs.some((r) => r["msg"] === "re-announced" && r["type"] === "beat"),
    );
    // A second delivery of a dataset file would show before a file dropped later is through.
    await c.drop("sentinel.dat");
    await waitInOut(c, ["sentinel.dat"], "the sentinel in out/");
    await waitFor(
      () =>
        [...files.keys(), "sentinel.dat"].every((n) => counter.counts.has(n)),
      "every rename seen",
      10_000,
    );
    assert.deepEqual(counter.twice(), [], "delivered more than once");
  },
);
