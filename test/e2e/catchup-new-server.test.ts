/**
 * Issue 10, catch-up from a server the client never heard: the server
 * announces 50 files while no client is up; a client started afterwards for
 * the first time (empty state dir) learns the server's request address from
 * its heartbeat, asks it for what it announced, and gets all 50 exactly once.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { DeliveryCounter, Fleet, assertExactlyOnce } from "../helpers/fleet.js";
import { logRecords } from "../helpers/procs.js";
import { waitFor } from "../helpers/wait.js";
import { collect } from "../helpers/zmq.js";

test(
  "e2e/catchup-new-server - a client started after a server announced 50 files, never having heard it, gets all 50 once",
  { timeout: 180_000 },
  async (t) => {
    const fleet = await Fleet.create(t);
    const counter = new DeliveryCounter(t, fleet.out);
    await counter.started();
    await fleet.startServer();
    const heard = collect(t, fleet.pubPort, [
      "/nl/data",
      "/heartbeat/move_it_server",
    ]);
    // Announced with no client up: only this bare subscriber hears them.
    for (let i = 0; i < 50; i++)
      await fleet.drop(`early${String(i).padStart(2, "0")}.dat`);
    await waitFor(
      () => heard.filter((m) => m.type === "file").length >= 50,
      "50 files announced",
      30_000,
    );
    const beat = await waitFor(
      () => heard.find((m) => m.type === "beat"),
      "a server heartbeat",
      40_000,
    );
    assert.deepEqual(
      beat.dataObject["catchup"],
      [{ topic: "/nl/data", request_address: `127.0.0.1:${fleet.reqPort}` }],
      "the beat names the chain's topic and request address",
    );
    assert.equal(beat.dataObject["min_interval"], 30);

    await fleet.startClient(); // empty state dir: it never heard this server
    // The server beats again a moment after the client's subscriber connects: the client learns of it then.
    await fleet.waitAllDelivered(90_000);
    await assertExactlyOnce(fleet, counter);
    assert.equal(counter.counts.size, 50);
    const records = await logRecords(fleet.clientLog);
    const caught = records.filter(
      (r) => r["msg"] === "new server, catching up",
    );
    assert.equal(caught.length, 1, "asked once");
    assert.equal(caught[0]?.["address"], `127.0.0.1:${fleet.reqPort}`);
    assert.ok(
      records.some(
        (r) => r["msg"] === "caught up" && r["announcements"] === 50,
      ),
      "the reply held the 50 announcements",
    );
    assert.equal(
      records.filter((r) => r["msg"] === "catch-up unavailable").length,
      0,
    );
  },
);
