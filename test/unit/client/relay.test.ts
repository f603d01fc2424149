import assert from "node:assert/strict";
import { test } from "node:test";
import type { Announcement } from "../../../src/client/coordinator.js";
import {
  Relay,
  RelayRegistry,
  type Fetched,
  type Transfers,
} from "../../../src/client/relay.js";
import { RefusedError } from "../../../src/errors.js";
import { Message } from "../../../src/message/index.js";

function ann(key: string, address: string): Announcement {
  return {
    msg: new Message("/t", "file", { uid: key }),
    address,
    key,
    provider: address,
  };
}

test("client/relay - remembers every server that announced a file, first first", () => {
  const r = new RelayRegistry(10, 60_000);
  assert.equal(r.add(ann("a", "s1:1")), true);
  assert.equal(r.add(ann("a", "s2:1")), false);
  assert.equal(r.add(ann("a", "s1:1")), false);
  assert.deepEqual(
    r.candidates("a")?.map((c) => c.address),
    ["s1:1", "s2:1"],
  );
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

test("client/relay - Relay: the first announcement of a file is reported, later ones join its transfer; fetch joins, else starts from the servers that announced it", async () => {
  const reported: string[] = [];
  const offers: string[] = [];
  const begun: Array<[string, string[]]> = [];
  const joined = new Map<string, Promise<Fetched>>();
  const transfers: Transfers = {
    joinTransfer: (key) => joined.get(key),
    beginTransfer: (key, candidates) => {
      begun.push([key, candidates.map((c) => c.address)]);
      return Promise.resolve({
        ann: candidates[0]!,
        dest: {} as Fetched["dest"],
      });
    },
    addOffer: (a) => {
      offers.push(`${a.key}@${a.address}`);
      return true;
    },
    storedOffers: (key) =>
      key === "stored" ? [ann("stored", "ledger:1")] : [],
  };
  const relay = new Relay(
    {
      prefetch: false,
      onAnnounced: (msg) => reported.push(String(msg.dataObject["uid"])),
    },
    transfers,
  );
  assert.equal(relay.heard(ann("a", "s1:1")), true);
  assert.equal(relay.heard(ann("a", "s2:1")), false);
  assert.deepEqual(reported, ["a"]);
  assert.deepEqual(offers, ["a@s2:1"]);
  await relay.fetch("a");
  assert.deepEqual(
    begun,
    [["a", ["s1:1", "s2:1"]]],
    "from every server that announced it, first first",
  );
  const running = Promise.resolve({
    ann: ann("a", "s1:1"),
    dest: {} as Fetched["dest"],
  });
  joined.set("a", running);
  assert.equal(relay.fetch("a"), running, "a running transfer is joined");
  await relay.fetch("stored");
  assert.deepEqual(
    begun[1],
    ["stored", ["ledger:1"]],
    "after a restart: the offers stored in the ledger",
  );
  await assert.rejects(relay.fetch("never"), RefusedError);
});
