import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import {
  Coordinator,
  type CoordinatorOptions,
} from "../../../src/client/coordinator.js";
import { Message } from "../../../src/message/index.js";
import { deferred } from "../../../src/util/abort.js";
import { nullLogger } from "../../../src/log.js";
import {
  FakeRequester,
  RecordingHooks,
  advance,
  announce,
  errReply,
  flush,
  mockTime,
  noReply,
  pending,
  pythonReply,
  serverReply,
} from "../../helpers/client-fakes.js";
import { captureLogger } from "../../helpers/log.js";
import { waitFor } from "../../helpers/wait.js";
import { ClientLedger } from "../../../src/client/ledger.js";
import type { ChainEvent } from "../../../src/client/events.js";

const A = "10.0.0.1:9201";
const B = "10.0.0.2:9211";
const C = "10.0.0.3:9221";

function setup(
  t: TestContext,
  requester: FakeRequester,
  extra: Partial<CoordinatorOptions> = {},
) {
  const hooks = new RecordingHooks();
  const coordinator = new Coordinator({
    requester,
    hooks,
    log: nullLogger,
    reqTimeoutMs: 1000,
    transferReqTimeoutMs: 10_000,
    maxConcurrent: 8,
    drainMs: 0,
    ...extra,
  });
  t.after(() => coordinator.destroy());
  return { hooks, coordinator };
}

/** A requester whose pushes are each held until the test resolves their gate (by uid); other requests answered at once. */
function gatedPushes(): {
  gates: Map<string, ReturnType<typeof deferred<void>>>;
  requester: FakeRequester;
} {
  const gates = new Map<string, ReturnType<typeof deferred<void>>>();
  const requester = new FakeRequester(async (call) => {
    if (call.msg.type !== "push") return serverReply(call);
    const gate = deferred<void>();
    gates.set(String(call.msg.dataObject["uid"]), gate);
    await gate.promise;
    return serverReply(call);
  });
  return { gates, requester };
}

test("client/coordinator - the first announcement wins; the other provider is acked after success", async (t) => {
  const requester = new FakeRequester();
  const { hooks, coordinator } = setup(t, requester);
  coordinator.handle(announce("dup.dat", A), "p1");
  coordinator.handle(announce("dup.dat", B), "p2");
  await flush();
  assert.equal(requester.of("push").length, 1);
  assert.equal(requester.of("push")[0]!.address, A);
  assert.deepEqual(
    requester.of("push")[0]!.msg.dataObject["destination"],
    "file://vm/out/",
  );
  assert.deepEqual(
    requester.of("ack").map((c) => c.address),
    [B],
  );
  assert.deepEqual(
    requester.of("ack")[0]!.msg.dataObject,
    announce("dup.dat", B).dataObject,
  );
  assert.deepEqual(hooks.types(), ["push", "ack"]);
  assert.equal(hooks.completed.length, 1);
  assert.equal(coordinator.stats.received, 1);
  assert.equal(coordinator.stats.duplicates, 1);
});

test("client/coordinator - a uid already received is acked, not fetched again", async (t) => {
  const requester = new FakeRequester();
  const { coordinator } = setup(t, requester);
  coordinator.handle(announce("test2.dat", A), "p1");
  await flush();
  coordinator.handle(announce("test2.dat", A), "p1");
  await flush();
  assert.equal(requester.of("push").length, 1);
  assert.equal(requester.of("ack", A).length, 1);
  assert.equal(coordinator.stats.alreadyReceived, 1);
  assert.equal(coordinator.stats.acks, 1);
});

test("client/coordinator - an err reply fails over to the next provider, which then wins", async (t) => {
  const requester = new FakeRequester((call) =>
    call.address === A && call.msg.type === "push"
      ? errReply(call)
      : serverReply(call),
  );
  const { hooks, coordinator } = setup(t, requester);
  coordinator.handle(announce("f.dat", A), "p1");
  coordinator.handle(announce("f.dat", B), "p2");
  await flush();
  assert.deepEqual(
    requester.of("push").map((c) => c.address),
    [A, B],
  );
  assert.deepEqual(
    requester.of("ack").map((c) => c.address),
    [A],
    "the refusing server still answers: it is acked",
  );
  assert.equal(coordinator.stats.failovers, 1);
  assert.equal(coordinator.stats.received, 1);
  assert.equal(hooks.completed[0]!.address, B);
});

test("client/coordinator - a slow push is never resent while its server answers ping", async (t) => {
  mockTime(t);
  const reply = deferred<Message>();
  const requester = new FakeRequester((call) =>
    call.msg.type === "push" ? reply.promise : serverReply(call),
  );
  const { coordinator } = setup(t, requester);
  coordinator.handle(announce("big.dat", A), "p1");
  await advance(t, 35_000, 500);
  assert.equal(requester.of("push").length, 1);
  assert.equal(requester.of("ping", A).length, 3);
  assert.equal(requester.of("ping")[0]!.msg.subject, "/ref/test");
  reply.resolve(serverReply(requester.of("push")[0]!));
  await flush();
  assert.equal(coordinator.stats.received, 1);
  assert.equal(requester.of("push").length, 1);
});

test("client/coordinator - a server that stops answering ping is abandoned for the next provider, and not acked", async (t) => {
  mockTime(t);
  const requester = new FakeRequester((call) => {
    if (call.address !== A) return serverReply(call);
    return call.msg.type === "push" ? pending() : noReply(call);
  });
  const { coordinator } = setup(t, requester);
  coordinator.handle(announce("f.dat", A), "p1");
  coordinator.handle(announce("f.dat", B), "p2");
  await advance(t, 11_500, 250);
  assert.deepEqual(
    requester.of("push").map((c) => c.address),
    [A, B],
  );
  assert.equal(requester.of("ping", A).length, 1);
  assert.equal(requester.of("ack").length, 0);
  assert.equal(coordinator.stats.received, 1);
  assert.equal(coordinator.stats.failovers, 1);
});

test("client/coordinator - a busy server (no pong, heartbeats still heard) is waited for when it is the only provider", async (t) => {
  mockTime(t);
  const reply = deferred<Message>();
  const requester = new FakeRequester((call) => {
    if (call.msg.type !== "push") return noReply(call);
    return call.msg.dataObject["uid"] === "dead.dat"
      ? pending()
      : reply.promise;
  });
  let heard = true;
  const { coordinator } = setup(t, requester, {
    providerAlive: (p) => p === "p1" && heard,
  });
  coordinator.handle(announce("busy.dat", A), "p1");
  await advance(t, 35_000, 500);
  assert.equal(requester.of("push").length, 1);
  assert.equal(
    requester.of("ping", A).length,
    3,
    "pinged each transfer_req_timeout",
  );
  assert.equal(
    coordinator.stats.failed,
    0,
    "given up on a busy server: the file would be lost",
  );
  reply.resolve(serverReply(requester.of("push")[0]!));
  await flush();
  assert.equal(coordinator.stats.received, 1);
  // once its publisher falls silent too, it is dead: given up
  heard = false;
  coordinator.handle(announce("dead.dat", A), "p1");
  await advance(t, 12_000, 500);
  assert.ok(
    coordinator.stats.failed >= 1,
    "a dead server is left (and its file retried later)",
  );
  assert.equal(coordinator.stats.received, 1);
});

test("client/coordinator - with another provider to try, a server without pong is left even if heard", async (t) => {
  mockTime(t);
  const requester = new FakeRequester((call) => {
    if (call.address !== A) return serverReply(call);
    return call.msg.type === "push" ? pending() : noReply(call);
  });
  const { coordinator } = setup(t, requester, { providerAlive: () => true });
  coordinator.handle(announce("f.dat", A), "p1");
  coordinator.handle(announce("f.dat", B), "p2");
  await advance(t, 11_500, 250);
  assert.deepEqual(
    requester.of("push").map((c) => c.address),
    [A, B],
  );
  assert.equal(coordinator.stats.received, 1);
});

test("client/coordinator - a push is given up after the cap even when pings answer", async (t) => {
  mockTime(t);
  const requester = new FakeRequester((call) =>
    call.msg.type === "push" ? pending() : serverReply(call),
  );
  const { coordinator } = setup(t, requester, { maxWaitMs: 30_000 });
  coordinator.handle(announce("f.dat", A), "p1");
  await advance(t, 31_000, 500);
  assert.equal(requester.of("push").length, 1);
  assert.equal(requester.of("ping").length, 2);
  assert.equal(coordinator.stats.failed, 1);
  assert.equal(coordinator.stats.pending, 0);
});

test("client/coordinator - file messages without request_address (other clients) and other types are ignored", async (t) => {
  const requester = new FakeRequester();
  const { coordinator } = setup(t, requester);
  coordinator.handle(
    new Message("/ref/test", "file", {
      uri: "/data/out/x",
      uid: "x",
      origin: A,
    }),
    "p1",
  );
  coordinator.handle(
    new Message("/ref/test", "del", { uid: "x", request_address: A }),
    "p1",
  );
  coordinator.handle(
    new Message("/ref/test", "file", { uri: "/x", request_address: A }),
    "p1",
  );
  await flush();
  assert.equal(requester.calls.length, 0);
  assert.equal(coordinator.stats.announcements, 0);
});

test("client/coordinator - a hot spare stands down when the primary's push is heard during the delay", async (t) => {
  mockTime(t);
  const requester = new FakeRequester();
  const { coordinator } = setup(t, requester, { processingDelayMs: 5000 });
  coordinator.handle(announce("a.dat", A), "server");
  coordinator.handle(announce("b.dat", A), "server");
  await advance(t, 1000);
  const primaryPush = new Message("/ref/test", "push", {
    ...announce("a.dat", A).dataObject,
    destination: "file://other/out/",
  });
  coordinator.handle(primaryPush, "primary");
  await advance(t, 5000);
  assert.deepEqual(
    requester.of("push").map((c) => c.msg.dataObject["uid"]),
    ["b.dat"],
    "only the unclaimed file is fetched",
  );
  assert.equal(coordinator.stats.stoodDown, 1);
  assert.equal(requester.of("ack").length, 0);
});

test("client/coordinator - a hot spare also stands down on the primary's ack, heard before the announcement", async (t) => {
  mockTime(t);
  const requester = new FakeRequester();
  const { coordinator } = setup(t, requester, { processingDelayMs: 2000 });
  coordinator.handle(
    new Message("/ref/test", "ack", announce("a.dat", A).dataObject),
    "primary",
  );
  coordinator.handle(announce("a.dat", B), "server");
  await advance(t, 3000);
  assert.equal(requester.calls.length, 0);
  assert.equal(coordinator.stats.stoodDown, 1);
});

test("client/coordinator - transfers run concurrently up to the bound while announcements keep coming", async (t) => {
  const { gates, requester } = gatedPushes();
  const { coordinator } = setup(t, requester, { maxConcurrent: 3 });
  for (let i = 0; i < 7; i++)
    coordinator.handle(announce(`f${i}.dat`, A), "p1");
  await flush();
  assert.equal(coordinator.stats.announcements, 7);
  assert.equal(coordinator.stats.active, 3);
  assert.equal(requester.of("push").length, 3);
  for (let i = 0; i < 7; i++) {
    gates.get(`f${i}.dat`)?.resolve();
    await flush();
    assert.ok(coordinator.stats.active <= 3);
  }
  for (const gate of gates.values()) gate.resolve();
  await flush();
  assert.equal(coordinator.stats.received, 7);
  assert.equal(coordinator.stats.peakActive, 3);
});

test("client/coordinator - a reload resizes the transfer bound in place: more start at once when it grows, never more than it allows", async (t) => {
  const { gates, requester } = gatedPushes();
  const settings = { reqTimeoutMs: 1000, transferReqTimeoutMs: 10_000 };
  const { coordinator } = setup(t, requester, {
    ...settings,
    maxConcurrent: 2,
  });
  for (let i = 0; i < 4; i++)
    coordinator.handle(announce(`f${i}.dat`, A), "p1");
  await flush();
  assert.equal(coordinator.stats.active, 2);
  coordinator.update({ ...settings, maxConcurrent: 3 });
  await flush();
  assert.equal(
    coordinator.stats.active,
    3,
    "a waiting transfer starts when the bound grows",
  );
  for (let i = 4; i < 8; i++)
    coordinator.handle(announce(`f${i}.dat`, A), "p1");
  await flush();
  assert.equal(
    coordinator.stats.active,
    3,
    "files announced after the reload share the same bound",
  );
  assert.equal(coordinator.stats.peakActive, 3);
  coordinator.update({ ...settings, maxConcurrent: 1 });
  const running = [...gates.keys()];
  for (const uid of running) {
    gates.get(uid)!.resolve();
    await flush();
  }
  assert.equal(
    coordinator.stats.active,
    1,
    "running transfers finish; then one at a time",
  );
  for (let i = 0; i < 8; i++) {
    for (const gate of gates.values()) gate.resolve();
    await flush();
    assert.ok(coordinator.stats.active <= 1);
  }
  assert.equal(coordinator.stats.received, 8);
  assert.equal(coordinator.stats.peakActive, 3);
});

test("client/coordinator - a server whose pong says nothing (Python) gets one push at a time, another its advertised share", async (t) => {
  const held: (() => void)[] = [];
  const running = new Map<string, number>();
  const peak = new Map<string, number>();
  const requester = new FakeRequester(async (call) => {
    const reply = call.address === A ? pythonReply : serverReply;
    if (call.msg.type !== "push") return reply(call);
    running.set(call.address, (running.get(call.address) ?? 0) + 1);
    peak.set(
      call.address,
      Math.max(peak.get(call.address) ?? 0, running.get(call.address)!),
    );
    await new Promise<void>((resolve) => held.push(resolve));
    running.set(call.address, running.get(call.address)! - 1);
    return reply(call);
  });
  const { coordinator } = setup(t, requester, { maxConcurrent: 8 });
  for (let i = 0; i < 3; i++)
    coordinator.handle(announce(`py${i}.dat`, A), "p1");
  for (let i = 0; i < 3; i++)
    coordinator.handle(announce(`ts${i}.dat`, B), "p2");
  await flush();
  // Python's lane: one push out; ours: all three (its pong advertises 32).
  assert.equal(running.get(A), 1);
  assert.equal(running.get(B), 3);
  while (coordinator.stats.received < 6) {
    held.splice(0).forEach((r) => r());
    await flush();
  }
  assert.equal(
    peak.get(A),
    1,
    "never two pushes at once toward the Python server",
  );
  assert.equal(peak.get(B), 3);
});

test("client/coordinator - when every provider fails the file is counted failed and a later announcement retries", async (t) => {
  let refuse = true;
  const requester = new FakeRequester((call) =>
    refuse && call.msg.type === "push" ? errReply(call) : serverReply(call),
  );
  const { coordinator } = setup(t, requester);
  coordinator.handle(announce("f.dat", A), "p1");
  await flush();
  assert.equal(coordinator.stats.failed, 1);
  refuse = false;
  coordinator.handle(announce("f.dat", A), "p1");
  await flush();
  assert.equal(coordinator.stats.received, 1);
  assert.equal(requester.of("push").length, 2);
});

test("client/coordinator - a delivery rejected by verify (checksum) fails over", async (t) => {
  const requester = new FakeRequester();
  const { hooks, coordinator } = setup(t, requester);
  hooks.verifyFailures = 1;
  coordinator.handle(announce("f.dat", A), "p1");
  coordinator.handle(announce("f.dat", C), "p3");
  await flush();
  assert.deepEqual(
    requester.of("push").map((c) => c.address),
    [A, C],
  );
  assert.equal(coordinator.stats.received, 1);
});

test("client/coordinator - datasets are identified by their sorted item uids", async (t) => {
  const requester = new FakeRequester();
  const { coordinator } = setup(t, requester);
  const items = (order: string[]) =>
    order.map((uid) => ({ uri: `/in/${uid}`, uid }));
  coordinator.handle(
    new Message("/ref/test", "dataset", {
      dataset: items(["a", "b"]),
      request_address: A,
    }),
    "p1",
  );
  coordinator.handle(
    new Message("/ref/test", "dataset", {
      dataset: items(["b", "a"]),
      request_address: B,
    }),
    "p2",
  );
  await flush();
  assert.equal(requester.of("push").length, 1);
  assert.deepEqual(
    requester.of("ack").map((c) => c.address),
    [B],
  );
});

test("client/coordinator - no password reaches a log record or a publication", async (t) => {
  const { log, records } = captureLogger();
  const requester = new FakeRequester((call) =>
    call.msg.type === "push"
      ? errReply(call, `cannot write to ftp://user:secret@vm/out/`)
      : serverReply(call),
  );
  const hooks = new RecordingHooks("ftp://vm/out/", "user:secret");
  const coordinator = new Coordinator({
    requester,
    hooks,
    log,
    reqTimeoutMs: 1000,
    transferReqTimeoutMs: 10_000,
    maxConcurrent: 2,
    drainMs: 0,
  });
  t.after(() => coordinator.destroy());
  coordinator.handle(announce("f.dat", A), "p1");
  await flush();
  assert.equal(
    requester.of("push")[0]!.msg.dataObject["destination"],
    "ftp://user:secret@vm/out/",
  );
  assert.ok(records.some((r) => r.msg === "push failed"));
  assert.ok(records.some((r) => r.msg === "transfer failed"));
  assert.doesNotMatch(JSON.stringify(records), /secret/);
  assert.doesNotMatch(
    hooks.published.map((m) => m.encode()).join("\n"),
    /secret/,
  );
});

test("client/coordinator - an error made on the client is stored and reported without the password it quotes", async (t) => {
  // A failure of the client's own making (here its check of the delivered file) whose text quotes the destination.
  class Quoting extends RecordingHooks {
    override async verify(): Promise<void> {
      throw new Error("cannot check ftp://user:secret@vm/out/f.dat");
    }
  }
  const ledger = ClientLedger.open(":memory:");
  t.after(() => ledger.close());
  const events: ChainEvent[] = [];
  const coordinator = new Coordinator({
    requester: new FakeRequester(serverReply),
    hooks: new Quoting("ftp://vm/out/", "user:secret"),
    log: nullLogger,
    book: ledger.book("c"),
    onEvent: (ev) => events.push(ev),
    reqTimeoutMs: 1000,
    transferReqTimeoutMs: 10_000,
    maxConcurrent: 2,
    drainMs: 0,
  });
  t.after(() => coordinator.destroy());
  coordinator.handle(announce("f.dat", A), "p1");
  await waitFor(
    () => events.find((e) => e.type === "failed"),
    "the transfer failed",
  );
  const failed = events.find((e) => e.type === "failed");
  assert.ok(failed?.type === "failed");
  assert.match(failed.error, /cannot check ftp:\/\/vm\/out\/f\.dat/);
  await waitFor(
    () =>
      (
        ledger.ledger.db
          .prepare("SELECT last_error FROM client_files")
          .get() as { last_error: string | null } | undefined
      )?.last_error,
    "the failure stored",
  );
  const row = ledger.ledger.db
    .prepare("SELECT last_error FROM client_files")
    .get() as { last_error: string };
  assert.doesNotMatch(row.last_error, /secret/);
  assert.match(row.last_error, /cannot check/);
});

test("client/coordinator - close lets a transfer in flight finish, then takes nothing more", async (t) => {
  const gate = deferred<void>();
  const requester = new FakeRequester(async (call) => {
    if (call.msg.type === "push") await gate.promise;
    return serverReply(call);
  });
  const { coordinator } = setup(t, requester, { drainMs: 5000 });
  coordinator.handle(announce("f.dat", A), "p1");
  await flush();
  const closing = coordinator.close();
  coordinator.handle(announce("g.dat", A), "p1");
  gate.resolve();
  await closing;
  assert.equal(coordinator.stats.received, 1);
  assert.equal(requester.of("push").length, 1);
});
