import assert from "node:assert/strict";
import { test } from "node:test";
import { PushLanes } from "../../../src/client/push-lanes.js";
import { pongInfo } from "../../../src/client/push.js";
import { Message } from "../../../src/message/index.js";
import { deferred } from "../../../src/util/abort.js";

const ac = new AbortController();

/** Start `n` tasks on one address, each held until released; the peak of tasks running at once. */
async function peak(
  lanes: PushLanes,
  n: number,
  address = "h:1",
): Promise<number> {
  let running = 0;
  let top = 0;
  const release = deferred<void>();
  const all = Array.from({ length: n }, () =>
    lanes.use(address, "/t", async () => {
      running++;
      top = Math.max(top, running);
      await release.promise;
      running--;
    }),
  );
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  release.resolve();
  await Promise.all(all);
  return top;
}

test("push-lanes - what a pong advertises", () => {
  const pong = (data: Record<string, unknown>) =>
    pongInfo(new Message("/t", "pong", data as never)).maxPushes;
  assert.equal(pong({ station: "python" }), undefined);
  assert.equal(
    pong({
      station: "x",
      move_it: {
        instance: "0123456789abcdef",
        catchup: true,
        max_concurrent_pushes: 8,
      },
    }),
    8,
  );
  assert.equal(pong({ move_it: { max_concurrent_pushes: 0 } }), undefined);
  assert.equal(pong({ move_it: { max_concurrent_pushes: 2.5 } }), undefined);
  assert.equal(pong({ move_it: "yes" }), undefined);
});

test("push-lanes - a server advertising nothing (Python) gets one push at a time; it was asked once", async () => {
  const asked: string[] = [];
  const lanes = new PushLanes({
    signal: ac.signal,
    ask: async (a) => (asked.push(a), undefined),
  });
  assert.equal(await peak(lanes, 6), 1);
  assert.deepEqual(asked, ["h:1"]);
  assert.equal(lanes.limit("h:1"), 1);
});

test("push-lanes - a server advertising 3 gets up to 3 at once, never more; another address has its own lane", async () => {
  const lanes = new PushLanes({
    signal: ac.signal,
    ask: async (a) => (a === "h:1" ? 3 : undefined),
  });
  const [a, b] = await Promise.all([
    peak(lanes, 10, "h:1"),
    peak(lanes, 4, "h:2"),
  ]);
  assert.equal(a, 3);
  assert.equal(b, 1);
});

test("push-lanes - a limit told by any pong applies at once; a Python pong later brings it back to one", async () => {
  const asked: string[] = [];
  const lanes = new PushLanes({
    signal: ac.signal,
    ask: async (a) => (asked.push(a), undefined),
  });
  lanes.told("h:1", 5);
  assert.equal(await peak(lanes, 8), 5);
  assert.deepEqual(asked, [], "fresh limit: nothing asked");
  lanes.told("h:1", undefined);
  assert.equal(await peak(lanes, 8), 1);
});

test("push-lanes - an unanswered ask keeps one at a time, and is not repeated within retryMs", async () => {
  let asks = 0;
  const lanes = new PushLanes({
    signal: ac.signal,
    ask: async () => (asks++, Promise.reject(new Error("timeout"))),
  });
  assert.equal(await peak(lanes, 4), 1);
  assert.equal(asks, 1);
});

test("push-lanes - a stale limit is asked again when a push starts", async () => {
  let now = 1_000_000;
  let answer: number | undefined = 4;
  let asks = 0;
  const limits: number[] = [];
  const lanes = new PushLanes({
    signal: ac.signal,
    ask: async () => (asks++, answer),
    now: () => now,
    ttlMs: 60_000,
    onLimit: (_, l) => limits.push(l),
  });
  lanes.told("h:1", 4);
  await lanes.use("h:1", "/t", async () => undefined);
  assert.equal(asks, 0);
  now += 61_000;
  answer = undefined; // replaced by a Python server
  await lanes.use("h:1", "/t", async () => undefined);
  await new Promise((r) => setImmediate(r));
  assert.equal(asks, 1);
  assert.equal(lanes.limit("h:1"), 1);
  assert.deepEqual(limits, [4, 1], "each change told once");
});

test("push-lanes - a waiter leaves with the signal's reason", async () => {
  const hold = deferred<void>();
  const mine = new AbortController();
  const lanes = new PushLanes({
    signal: mine.signal,
    ask: async () => undefined,
  });
  const first = lanes.use("h:1", "/t", () => hold.promise);
  const second = lanes.use("h:1", "/t", async () => "ran");
  mine.abort(new Error("closing"));
  await assert.rejects(second, /closing/);
  hold.resolve();
  await first;
});

test("push-lanes - waiters start in the order they came, a newcomer does not jump the queue, and a push that ends lets exactly one more start", async () => {
  const lanes = new PushLanes({ signal: ac.signal, ask: async () => 2 });
  lanes.told("h:1", 2);
  const started: number[] = [];
  const holds = new Map<number, () => void>();
  const push = (i: number) =>
    lanes.use("h:1", "/t", () => {
      started.push(i);
      return new Promise<void>((resolve) => holds.set(i, resolve));
    });
  const settle = async () => {
    for (let k = 0; k < 5; k++) await new Promise((r) => setImmediate(r));
  };
  const all = [0, 1, 2, 3, 4, 5].map(push);
  await settle();
  assert.deepEqual(started, [0, 1]);
  holds.get(0)!();
  all.push(push(6)); // arrives as a slot frees: behind 2..5
  await settle();
  assert.deepEqual(started, [0, 1, 2]);
  for (const i of [1, 2, 3, 4, 5]) {
    holds.get(i)!();
    await settle();
  }
  holds.get(6)?.();
  await settle();
  assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6]);
  holds.get(6)!();
  await Promise.all(all);
});

test("push-lanes - a push that ends wakes one waiter, not all of them: 200 queued pushes cost linear work, not quadratic", async () => {
  let checks = 0;
  // Every waiter that wakes and looks for a slot reads the clock once (to decide whether to ask): count those.
  const lanes = new PushLanes({
    signal: ac.signal,
    ask: async () => 1,
    now: () => (checks++, 1_000),
  });
  lanes.told("h:1", 1);
  checks = 0;
  assert.equal(await peak(lanes, 200), 1);
  assert.ok(checks < 4 * 200, `${checks} slot checks for 200 pushes`);
});
