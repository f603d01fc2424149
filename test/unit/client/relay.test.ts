import assert from "node:assert/strict";
import { test } from "node:test";
import type { Announcement } from "../../../src/client/coordinator.js";
import { RelayRegistry } from "../../../src/client/relay.js";
import { Message } from "../../../src/message/index.js";

function ann(key: string, address: string): Announcement {
  return { msg: new Message("/t", "file", { uid: key }), address, key, provider: address };
}

test("client/relay - remembers every server that announced a file, first first", () => {
  const r = new RelayRegistry(10, 60_000);
  assert.equal(r.add(ann("a", "s1:1")), true);
  assert.equal(r.add(ann("a", "s2:1")), false);
  assert.equal(r.add(ann("a", "s1:1")), false);
  assert.deepEqual(r.candidates("a")?.map((c) => c.address), ["s1:1", "s2:1"]);
  assert.equal(r.candidates("b"), undefined);
});

test("client/relay - bounded: the oldest entries go beyond capacity", () => {
  const r = new RelayRegistry(3, 60_000);
  for (const k of ["a", "b", "c", "d", "e"]) r.add(ann(k, "s:1"));
  assert.equal(r.size, 3);
  assert.equal(r.candidates("a"), undefined);
  assert.ok(r.candidates("e"));
});

test("client/relay - entries nobody asked for expire after the TTL", (t) => {
  t.mock.timers.enable({ apis: ["Date"], now: 0 });
  const r = new RelayRegistry(100, 1000);
  r.add(ann("old", "s:1"));
  t.mock.timers.tick(1500);
  r.add(ann("new", "s:1"));
  assert.equal(r.candidates("old"), undefined);
  assert.ok(r.candidates("new"));
});
