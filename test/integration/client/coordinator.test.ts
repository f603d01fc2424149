import assert from "node:assert/strict";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { FileMover } from "../../../src/movers/file.js";
import { MoverRegistry } from "../../../src/movers/registry.js";
import { clientIni, dropFile, outDir, startClient, testServer, waitConnected } from "../../helpers/client-setup.js";
import { freePort } from "../../helpers/net.js";
import { SlowMover } from "../../helpers/slow-mover.js";
import { delay, waitFor } from "../../helpers/wait.js";

test("client/coordinator - a hot spare stands down while its primary works, and takes over when it is gone", async (t) => {
  const srv = await testServer(t, "/t");
  const provider = `127.0.0.1:${srv.publishPort}`;
  const primaryPort = await freePort();
  const primaryOut = await outDir(t);
  const spareOut = await outDir(t);
  const primary = await startClient(t, clientIni("ref", [provider], "/t", primaryOut).replace("publish_port = 0", `publish_port = ${primaryPort}`));
  const spareIni = clientIni("ref", [provider, `127.0.0.1:${primaryPort}`], "/t", spareOut, "processing_delay = 1\n");
  const spare = await startClient(t, spareIni);
  await waitConnected(primary.client, "ref", 1);
  await waitConnected(spare.client, "ref", 2);

  await dropFile(srv.inDir, "p.dat", "p");
  await waitFor(() => primary.received.length === 1, "primary reception");
  await waitFor(() => spare.client.stats().chains["ref"]!.coordinator.stoodDown === 1, "spare stood down");
  assert.deepEqual(await readdir(spareOut), []);
  assert.equal(srv.server.stats()["s"]!.requests["push"], 1);

  await primary.client.close();
  await dropFile(srv.inDir, "q.dat", "q");
  await delay(500);
  assert.equal(spare.received.length, 0, "the spare waits its processing delay first");
  await waitFor(() => spare.received.length === 1, "spare reception");
  assert.equal(await readFile(join(spareOut, "q.dat"), "utf8"), "q");
  assert.equal(spare.client.stats().chains["ref"]!.coordinator.stoodDown, 1);
});

test("client/coordinator - transfers run concurrently up to the bound while announcements are still read", async (t) => {
  const slow = new SlowMover();
  const srv = await testServer(t, "/t", { movers: new MoverRegistry([new FileMover(), slow]) });
  const out = await outDir(t);
  const ini = clientIni("ref", [`127.0.0.1:${srv.publishPort}`], "/t", `ftp://127.0.0.1${out}`, "max_concurrent_transfers = 3\n");
  const { client, received } = await startClient(t, ini);
  await waitConnected(client, "ref", 1);
  for (let i = 0; i < 6; i++) await dropFile(srv.inDir, `c${i}.dat`, `content ${i}`);
  const stats = () => client.stats().chains["ref"]!.coordinator;
  await waitFor(() => slow.calls === 3 && stats().announcements === 6, "three pushes in flight, all six announcements read");
  assert.equal(stats().active, 3);
  assert.equal(stats().pending, 6);
  await delay(300);
  assert.equal(slow.calls, 3, "the bound holds");
  slow.release();
  await waitFor(() => received.length === 6, "all six received");
  assert.equal(stats().peakActive, 3);
  assert.equal((await readdir(out)).filter((n) => n.endsWith(".dat")).length, 6);
  assert.equal(srv.server.stats()["s"]!.requests["push"], 6);
});
