import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import {
  Coordinator,
  type CoordinatorOptions,
} from "../../../src/client/coordinator.js";
import { ClientLedger } from "../../../src/client/ledger.js";
import { nullLogger } from "../../../src/log.js";
import { Message } from "../../../src/message/index.js";
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
  serverReply,
  type Call,
} from "../../helpers/client-fakes.js";

const A = "10.0.0.1:9201";
const D = "10.0.0.9:9201";

function setup(
  t: TestContext,
  requester: FakeRequester,
  extra: Partial<CoordinatorOptions> = {},
  ledger = ClientLedger.open(":memory:"),
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
    book: ledger.book("c"),
    ...extra,
  });
  t.after(async () => {
    await coordinator.destroy();
    ledger.close();
  });
  return { hooks, coordinator, ledger, book: ledger.book("c") };
}

function pong(call: Call, extra: Record<string, unknown>): Message {
  return new Message(
    call.msg.subject,
    "pong",
    { station: "test", ...extra },
    { sender: "root@vm" },
  );
}

test("client/coordinator retry - a file every provider refused is retried with backoff until delivered", async (t) => {
  mockTime(t);
  let refusals = 2;
  const requester = new FakeRequester((call) =>
    call.msg.type === "push" && refusals-- > 0
      ? errReply(call, "no space left on device")
      : serverReply(call),
  );
  const { coordinator, book } = setup(t, requester);
  coordinator.handle(announce("f.dat", A), "p1");
  await flush();
  assert.equal(coordinator.stats.failed, 1);
  assert.equal(requester.of("push").length, 1);
  await advance(t, 30_000, 250);
  assert.equal(requester.of("push").length, 3);
  assert.equal(coordinator.stats.received, 1);
  assert.equal(coordinator.stats.retries, 2);
  assert.equal(book.get("f.dat")?.state, "delivered");
  await advance(t, 60_000, 1000);
  assert.equal(requester.of("push").length, 3, "nothing more once delivered");
});

test("client/coordinator retry - past max_retry_age a file is given up, counted, and left alone", async (t) => {
  mockTime(t);
  const requester = new FakeRequester((call) =>
    call.msg.type === "push" ? errReply(call) : serverReply(call),
  );
  const { coordinator, book } = setup(t, requester, { maxRetryAgeMs: 20_000 });
  coordinator.handle(announce("f.dat", A), "p1");
  await advance(t, 60_000, 250);
  assert.equal(coordinator.stats.givenUp, 1);
  assert.equal(book.get("f.dat")?.state, "given_up");
  const pushes = requester.of("push").length;
  assert.ok(pushes >= 3, `retried until the age passed (${pushes} pushes)`);
  await advance(t, 600_000, 5000);
  assert.equal(requester.of("push").length, pushes);
});

test("client/coordinator retry - after a restart a delivered file is acked, not fetched; a pending one is resumed", async (t) => {
  const ledger = ClientLedger.open(":memory:");
  const requester = new FakeRequester((call) =>
    call.msg.type === "push" && call.msg.dataObject["uid"] === "p.dat"
      ? pending()
      : serverReply(call),
  );
  const first = new Coordinator({
    requester,
    hooks: new RecordingHooks(),
    log: nullLogger,
    reqTimeoutMs: 1000,
    transferReqTimeoutMs: 10_000,
    maxConcurrent: 8,
    drainMs: 0,
    book: ledger.book("c"),
  });
  first.handle(announce("d.dat", A), "p1");
  first.handle(announce("p.dat", A), "p1");
  await flush();
  assert.equal(first.stats.received, 1);
  await first.destroy(); // the process died with p.dat in flight
  const second = new FakeRequester();
  const { coordinator, hooks } = setup(t, second, {}, ledger);
  coordinator.resume();
  await flush();
  assert.deepEqual(
    second.of("ping").map((c) => c.msg.dataObject["push_uid"]),
    ["p.dat"],
    "asks whether the earlier push still runs",
  );
  assert.deepEqual(
    second.of("push").map((c) => c.msg.dataObject["uid"]),
    ["p.dat"],
  );
  assert.deepEqual(
    hooks.cleaned,
    ["p.dat"],
    "leftovers of the crashed push are removed first",
  );
  coordinator.handle(announce("d.dat", A), "p1");
  await flush();
  assert.equal(second.of("push").length, 1, "d.dat is not fetched again");
  assert.equal(second.of("ack").length, 1);
  assert.equal(coordinator.stats.alreadyReceived, 1);
});

test("client/coordinator retry - a resumed file its server still pushes is waited for, then found complete: no second push", async (t) => {
  mockTime(t);
  const ledger = ClientLedger.open(":memory:");
  const book = ledger.book("c");
  void book.offer("f.dat", announce("f.dat", A), A, "p1");
  void book.sent("f.dat", A);
  await ledger.ledger.write(() => undefined);
  let running = 2;
  const requester = new FakeRequester((call) =>
    call.msg.type === "ping"
      ? pong(call, { push_running: running-- > 0 })
      : serverReply(call),
  );
  const { coordinator, hooks } = setup(t, requester, {}, ledger);
  hooks.isPresent = true;
  coordinator.resume();
  await advance(t, 25_000, 500);
  assert.equal(requester.of("ping").length, 3);
  assert.equal(requester.of("push").length, 0);
  assert.equal(coordinator.stats.foundPresent, 1);
  assert.equal(coordinator.stats.received, 1);
  assert.equal(book.get("f.dat")?.state, "delivered");
});

for (const [what, answer] of [
  [
    "says push_running false",
    { push_running: false, move_it: { instance: "aaa" } },
  ],
  [
    "restarted (another instance)",
    { push_running: true, move_it: { instance: "bbb" } },
  ],
] as const) {
  test(`client/coordinator retry - a push is abandoned at once when its server ${what}, and sent again`, async (t) => {
    mockTime(t);
    let pushes = 0;
    let pings = 0;
    const requester = new FakeRequester((call) => {
      if (call.msg.type === "ping")
        return pong(
          call,
          pings++ === 0 ? { move_it: { instance: "aaa" } } : answer,
        );
      if (call.msg.type === "push" && pushes++ === 1) return pending();
      return serverReply(call);
    });
    const { coordinator } = setup(t, requester);
    // learn the instance first: one delivered file and a ping
    coordinator.handle(announce("first.dat", A), "p1");
    await flush();
    coordinator.handle(announce("big.dat", A), "p1");
    await advance(t, 10_500, 500);
    await advance(t, 12_000, 500);
    assert.equal(coordinator.stats.lostPushes, 1);
    assert.equal(coordinator.stats.received, 2);
    assert.equal(
      requester.of("push").filter((c) => c.msg.dataObject["uid"] === "big.dat")
        .length,
      2,
    );
  });
}

test("client/coordinator retry - files of a request address that never answers do not hold up others", async (t) => {
  mockTime(t);
  const requester = new FakeRequester((call) => {
    if (call.address !== D) return serverReply(call);
    return call.msg.type === "push" ? pending() : noReply(call);
  });
  const { coordinator } = setup(t, requester, {
    maxConcurrent: 3,
    providerAlive: () => true,
  });
  for (let i = 0; i < 8; i++)
    coordinator.handle(announce(`dead${i}.dat`, D), "p1");
  for (let i = 0; i < 20; i++)
    coordinator.handle(announce(`good${i}.dat`, A), "p1");
  await advance(t, 2_000, 100);
  assert.equal(coordinator.stats.received, 20);
  assert.equal(
    requester.of("push", D).length,
    1,
    "one push at a time to an address that never answered",
  );
  assert.ok(requester.of("ping", D).length >= 1);
  await advance(t, 60_000, 1000);
  assert.equal(
    requester.of("push", D).length,
    1,
    "a dead address gets pings, not more pushes",
  );
});
