import assert from "node:assert/strict";
import { test } from "node:test";
import { deferred } from "../../../src/util/abort.js";
import { Semaphore } from "../../../src/util/serial.js";

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Start `n` tasks on `sem`, each held until its gate opens; counts how many run. */
function hold(
  sem: Semaphore,
  n: number,
): {
  gates: Array<ReturnType<typeof deferred<void>>>;
  running: () => number;
  peak: () => number;
  all: Promise<unknown>;
} {
  let running = 0;
  let peak = 0;
  const gates = Array.from({ length: n }, () => deferred<void>());
  const all = Promise.all(
    gates.map((g) =>
      sem.use(async () => {
        running++;
        peak = Math.max(peak, running);
        await g.promise;
        running--;
      }),
    ),
  );
  return { gates, running: () => running, peak: () => peak, all };
}

test("util/serial - Semaphore: at most the limit at once, first come first served, a freed slot not taken over by a newcomer", async () => {
  const sem = new Semaphore(2);
  const h = hold(sem, 4);
  await turn();
  assert.equal(h.running(), 2);
  assert.equal(sem.waiting, 2);
  h.gates[0]!.resolve();
  // A newcomer in the same turn as the release queues behind the waiters.
  const late = sem.use(async () => "late");
  await turn();
  assert.equal(h.running(), 2);
  for (const g of h.gates) g.resolve();
  await h.all;
  assert.equal(await late, "late");
  assert.equal(h.peak(), 2);
});

test("util/serial - Semaphore.resize: a larger limit starts waiting tasks at once, a smaller one lets running tasks finish first", async () => {
  const sem = new Semaphore(1);
  const h = hold(sem, 6);
  await turn();
  assert.equal(h.running(), 1);
  sem.resize(3);
  await turn();
  assert.equal(h.running(), 3);
  sem.resize(1);
  h.gates[0]!.resolve();
  h.gates[1]!.resolve();
  await turn();
  assert.equal(
    h.running(),
    1,
    "two finished, the third still runs: none started",
  );
  h.gates[2]!.resolve();
  await turn();
  assert.equal(h.running(), 1, "one at a time from now on");
  for (const g of h.gates) g.resolve();
  await h.all;
  assert.equal(h.peak(), 3);
});
