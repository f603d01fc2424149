import assert from "node:assert/strict";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { FileMover } from "../../../src/movers/file.js";
import { MoverRegistry } from "../../../src/movers/registry.js";
import {
  clientIni,
  dropFile,
  outDir,
  startClient,
  testServer,
  waitConnected,
} from "../../helpers/client-setup.js";
import { SlowMover } from "../../helpers/slow-mover.js";
import { waitFor } from "../../helpers/wait.js";

test("client/coordinator - a hot spare stands down while its primary works, and takes over when it is gone", async (t) => {
  const srv = await testServer(t, "/t");
  const provider = `127.0.0.1:${srv.publishPort}`;
  const primaryOut = await outDir(t);
  const spareOut = await outDir(t);
  const primary = await startClient(
    t,
    clientIni("ref", [provider], "/t", primaryOut),
  );
  const primaryPort = primary.client.publishPort("ref")!;
  const spareIni = clientIni(
    "ref",
    [provider, `127.0.0.1:${primaryPort}`],
    "/t",
    spareOut,
    "processing_delay = 1\n",
  );
  const spare = await startClient(t, spareIni);
  await waitConnected(primary.client, "ref", 1);
  await waitConnected(spare.client, "ref", 2);

  await dropFile(srv.inDir, "p.dat", "p");
  await waitFor(() => primary.received.length === 1, "primary reception");
  await waitFor(
    () => spare.client.stats().chains["ref"]!.coordinator.stoodDown === 1,
    "spare stood down",
  );
  assert.deepEqual(await readdir(spareOut), []);
  assert.equal(srv.server.stats()["s"]!.requests["push"], 1);

  await primary.client.close();
  const dropped = Date.now();
  await dropFile(srv.inDir, "q.dat", "q");
  await waitFor(() => spare.received.length === 1, "spare reception");
  // Announced after the drop, fetched no sooner than processing_delay (1 s) after the announcement.
  const waited = spare.received[0]!.at - dropped;
  assert.ok(
    waited >= 1000,
    `the spare fetched ${waited} ms after the file was dropped, before its processing delay`,
  );
  assert.equal(await readFile(join(spareOut, "q.dat"), "utf8"), "q");
  assert.equal(spare.client.stats().chains["ref"]!.coordinator.stoodDown, 1);
});

test("client/coordinator - transfers run concurrently up to the bound while announcements are still read", async (t) => {
  const slow = new SlowMover();
  const srv = await testServer(t, "/t", {
    movers: new MoverRegistry([new FileMover(), slow]),
  });
  const out = await outDir(t);
  const ini = clientIni(
    "ref",
    [`127.0.0.1:${srv.publishPort}`],
    "/t",
    `ftp://127.0.0.1${out}`,
    "max_concurrent_transfers = 3\n",
  );
  const { client, received } = await startClient(t, ini);
  await waitConnected(client, "ref", 1);
  for (let i = 0; i < 6; i++)
    await dropFile(srv.inDir, `c${i}.dat`, `content ${i}`);
  const stats = () => client.stats().chains["ref"]!.coordinator;
  await waitFor(
    () => slow.calls === 3 && stats().announcements === 6,
    "three pushes in flight, all six announcements read",
  );
  assert.equal(stats().active, 3);
  assert.equal(stats().pending, 6);
  // One push ends: one more starts, no more. A push sent beyond the bound, when the six were announced, is in by the
  // time a whole push has gone back and forth and the next has come.
  slow.releaseOne();
  await waitFor(
    () => received.length === 1 && slow.calls >= 4,
    "one push done, the next started",
  );
  assert.equal(
    slow.peak,
    3,
    "more pushes than the bound in flight at the server",
  );
  assert.equal(slow.calls, 4, "more than one push started when one ended");
  slow.release();
  await waitFor(() => received.length === 6, "all six received");
  assert.equal(stats().peakActive, 3);
  assert.equal(
    slow.peak,
    3,
    "more pushes than the bound in flight at the server",
  );
  assert.equal(
    (await readdir(out)).filter((n) => n.endsWith(".dat")).length,
    6,
  );
  assert.equal(srv.server.stats()["s"]!.requests["push"], 6);
});
