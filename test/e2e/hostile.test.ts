/**
 * Hostile traffic through the real commands (issue 14 item 4): a seeded
 * storm of malformed frames at the server's request port, and at the
 * client's subscriber from a publisher it was told to trust. Meanwhile a
 * good peer is served and real files are delivered, exactly once; memory
 * returns near where it started and the log stays short. The seed is
 * printed; FUZZ_SEED=n replays a run.
 */
import assert from "node:assert/strict";
import { readFile, stat } from "node:fs/promises";
import { test, type TestContext } from "node:test";
import * as zmq from "zeromq";
import { Message } from "../../src/message/index.js";
import { assertExactlyOnce, runningFleet } from "../helpers/fleet.js";
import { logRecords } from "../helpers/procs.js";
import { delay, waitFor } from "../helpers/wait.js";
import { seededRandom } from "../helpers/seeded.js";

function seedOf(t: TestContext): number {
  const seed =
    process.env["FUZZ_SEED"] !== undefined
      ? Number(process.env["FUZZ_SEED"])
      : Math.floor(Math.random() * 2 ** 31);
  t.diagnostic(`FUZZ_SEED=${seed}`);
  return seed;
}

/** One malformed posttroll frame starting with `prefix`: broken headers, broken JSON, junk bytes. */
function junk(rand: () => number, prefix: string): Buffer {
  const bytes = (n: number): Buffer =>
    Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));
  const stamp = "2026-12-01T00:00:00.000000";
  switch (Math.floor(rand() * 7)) {
    case 0:
      return Buffer.concat([
        Buffer.from(prefix),
        bytes(Math.floor(rand() * 300)),
      ]);
    case 1:
      return Buffer.from(
        `${prefix} push user@host ${stamp} v1.01 application/json {"uri": "/x`,
      );
    case 2:
      return Buffer.from(
        `${prefix} file user@host not-a-date v1.01 application/json {}`,
      );
    case 3:
      return Buffer.from(
        `${prefix} file user@host ${stamp} v9.99 text/ascii ${"x".repeat(Math.floor(rand() * 4000))}`,
      );
    case 4:
      return Buffer.from(`${prefix}\0\0\0 ack`);
    case 5:
      return Buffer.from(`${prefix} file`);
    default:
      return Buffer.from(`${prefix} ${"{".repeat(Math.floor(rand() * 2000))}`);
  }
}

/** Resident memory of a process, MiB. */
async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1]) / 1024;
}

const STORM = 40_000;
const FILES = 60;

test("e2e/hostile - a storm of malformed requests: every good request served, files delivered once, memory and log bounded", async (t) => {
  const rand = seededRandom(seedOf(t));
  const { fleet, counter } = await runningFleet(t);
  const server = fleet.proc("server");
  const pid = server.child.pid!;
  const before = await rssMiB(pid);

  const bad = new zmq.Dealer({ linger: 0, sendHighWaterMark: 0 });
  const good = new zmq.Request({ linger: 0, receiveTimeout: 30_000 });
  t.after(() => {
    bad.close();
    good.close();
  });
  bad.connect(`tcp://127.0.0.1:${fleet.reqPort}`);
  good.connect(`tcp://127.0.0.1:${fleet.reqPort}`);
  let replies = 0;
  const replyTypes = new Set<string>();
  const reading = (async () => {
    for (;;) {
      const frames = await bad.receive();
      replies++;
      replyTypes.add(Message.decode(frames.at(-1)!).type);
    }
  })().catch(() => undefined);
  let storming = true;
  let pongs = 0;
  const pinging = (async () => {
    while (storming) {
      await good.send(new Message("/nl/data", "ping").encode());
      const [reply] = await good.receive();
      assert.equal(Message.decode(reply!).type, "pong");
      pongs++;
      await delay(20); // pacing: a good peer asking now and then during the storm
    }
  })();
  const dropping = (async () => {
    for (let i = 0; i < FILES; i++) {
      await fleet.drop(`h${i}.dat`, 2048 + i);
      await delay(30); // pacing: files keep coming during the storm
    }
  })();
  for (let i = 0; i < STORM; i++) {
    const frame = junk(rand, "pytroll://nl/data");
    // REQ-style envelopes, bare frames and extra frames.
    const shape = i % 3;
    await bad.send(
      shape === 0 ? ["", frame] : shape === 1 ? [frame] : ["", frame, frame],
    );
  }
  await dropping;
  await fleet.waitAllDelivered(120_000);
  // Replies beyond the sockets' queues are dropped (ZeroMQ's high-water marks): most must come.
  await waitFor(
    () => replies >= STORM / 2,
    `most of the storm answered (${STORM / 2} of ${STORM})`,
    120_000,
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}: ${replies} replies`);
  });
  storming = false;
  await pinging;
  void reading;

  assert.ok(pongs > 0, "the good peer was answered during the storm");
  assert.deepEqual(
    [...replyTypes],
    ["error"],
    "every malformed request answered error",
  );
  await assertExactlyOnce(fleet, counter);
  assert.equal(server.child.exitCode, null, "the server still runs");
  const malformed = (await logRecords(fleet.serverLog)).filter(
    (r) => r["msg"] === "malformed request",
  );
  assert.ok(
    malformed.length <= 20,
    `malformed requests rate-limited in the log (${malformed.length} records)`,
  );
  assert.ok(
    (await stat(fleet.serverLog)).size < 1024 * 1024,
    "the log stays small",
  );
  // The storm's buffers are garbage once answered: memory comes back near its start.
  await waitFor(
    async () => (await rssMiB(pid)) < before + 48,
    `server RSS back near ${before.toFixed(0)} MiB`,
    90_000,
  );
});

test("e2e/hostile - a publisher sending junk to the client: dropped, logged a few times, real files still delivered once", async (t) => {
  const rand = seededRandom(seedOf(t));
  // An XPUB hears the client's subscription: the junk goes out only once it would reach the client.
  const pub = new zmq.XPublisher({ linger: 0, sendHighWaterMark: 0 });
  t.after(() => pub.close());
  await pub.bind("tcp://127.0.0.1:0");
  const junkPort = new URL(pub.lastEndpoint ?? "").port;
  const subscribed = (async () => {
    for (;;) {
      const [sub] = await pub.receive();
      if (
        sub !== undefined &&
        sub[0] === 1 &&
        "pytroll://nl/data".startsWith(sub.subarray(1).toString())
      )
        return;
    }
  })();
  const { fleet, counter } = await runningFleet(t, {
    extraProviders: [`127.0.0.1:${junkPort}`],
  });
  const client = fleet.proc("client");
  await subscribed;
  const dropping = (async () => {
    for (let i = 0; i < FILES; i++) {
      await fleet.drop(`j${i}.dat`, 1024 + i);
      await delay(30); // pacing: files keep coming during the junk
    }
  })();
  for (let i = 0; i < STORM; i++) {
    await pub.send(
      i % 2 === 0
        ? junk(rand, "pytroll://nl/data")
        : [junk(rand, "pytroll://nl"), Buffer.from("extra frame")],
    );
    if (i % 1000 === 0) await delay(1); // pacing: let the client read between bursts
  }
  await dropping;
  await fleet.waitAllDelivered(120_000);
  await assertExactlyOnce(fleet, counter);
  assert.equal(client.child.exitCode, null, "the client still runs");
  await waitFor(
    async () =>
      (await logRecords(fleet.clientLog)).some(
        (r) => r["msg"] === "malformed frame dropped",
      ),
    "the junk was seen",
  );
  const dropped = (await logRecords(fleet.clientLog)).filter(
    (r) => r["msg"] === "malformed frame dropped",
  );
  assert.ok(
    dropped.length <= 20,
    `malformed frames rate-limited in the log (${dropped.length} records)`,
  );
  assert.ok(
    (await stat(fleet.clientLog)).size < 1024 * 1024,
    "the log stays small",
  );
});
