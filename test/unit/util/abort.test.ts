import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { test } from "node:test";
import { childController } from "../../../src/util/abort.js";

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
