import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { test } from "node:test";
import { childController, onAbort, sleep } from "../../../src/util/abort.js";

test("util/abort - a child aborts with its parent", () => {
  const parent = new AbortController();
  const child = childController(parent.signal);
  const why = new Error("owner closed");
  parent.abort(why);
  assert.equal(child.signal.aborted, true);
  assert.equal(child.signal.reason, why);
});

test("util/abort - done() leaves nothing behind on a long-lived parent", () => {
  const parent = new AbortController();
  for (let i = 0; i < 10_000; i++) childController(parent.signal).done();
  assert.equal(getEventListeners(parent.signal, "abort").length, 0);
});

test("util/abort - a child of an aborted parent starts aborted", () => {
  const parent = new AbortController();
  parent.abort(new Error("gone"));
  assert.equal(childController(parent.signal).signal.aborted, true);
  assert.equal(childController(undefined).signal.aborted, false);
});

test("util/abort - 500 children and 500 sleeps in flight on one parent add one listener to it (no MaxListenersExceededWarning), all abort with it", async () => {
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => {
    warnings.push(w);
  };
  process.on("warning", onWarning);
  try {
    const parent = new AbortController();
    const children = Array.from({ length: 500 }, () =>
      childController(parent.signal),
    );
    const sleeps = Array.from({ length: 500 }, () =>
      sleep(60_000, parent.signal).then(
        () => "slept",
        (e: unknown) => e,
      ),
    );
    const waits = Array.from(
      { length: 20 },
      () => new Promise<void>((resolve) => onAbort(parent.signal, resolve)),
    );
    assert.equal(getEventListeners(parent.signal, "abort").length, 1);
    children[0]!.done();
    assert.equal(
      getEventListeners(parent.signal, "abort").length,
      1,
      "one child done: the others still listen",
    );
    const why = new Error("chain closed");
    parent.abort(why);
    assert.ok(children.slice(1).every((c) => c.signal.reason === why));
    assert.ok((await Promise.all(sleeps)).every((r) => r === why));
    await Promise.all(waits);
    for (const c of children) c.done();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(
      warnings.map((w) => w.name),
      [],
    );
  } finally {
    process.off("warning", onWarning);
  }
});

test("util/abort - the one listener goes when the last child or sleep is done, and comes back for the next", async () => {
  const parent = new AbortController();
  const a = childController(parent.signal);
  const b = childController(parent.signal);
  await sleep(1, parent.signal);
  a.done();
  assert.equal(getEventListeners(parent.signal, "abort").length, 1);
  b.done();
  assert.equal(getEventListeners(parent.signal, "abort").length, 0);
  const c = childController(parent.signal);
  assert.equal(getEventListeners(parent.signal, "abort").length, 1);
  parent.abort();
  assert.equal(c.signal.aborted, true);
});
