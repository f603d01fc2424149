/**
 * Issue 10's fault table, through the real bin/ commands: every file
 * arrives, intact, exactly once, with no operator action.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { assertExactlyOnce, runningFleet } from "../helpers/fleet.js";
import { inCi } from "../helpers/daemon.js";
import { tempDir, tmpfs } from "../helpers/tmp.js";
import { logRecords } from "../helpers/procs.js";
import { waitFor } from "../helpers/wait.js";

const run = promisify(execFile);

const ROOT = process.getuid?.() === 0;
const NEED_ROOT = ROOT || inCi() ? undefined : "mounting a tmpfs needs root";

test("e2e/nothing-lost - client stopped while 200 files are announced: all arrive once it is back", async (t) => {
  const { fleet, counter } = await runningFleet(t);
  await fleet.drop("before.dat");
  await fleet.waitAllDelivered(20_000);
  await fleet.stop("client");
  for (let i = 0; i < 200; i++)
    await fleet.drop(`down${String(i).padStart(3, "0")}.dat`);
  await fleet.startClient();
  await fleet.waitAllDelivered(60_000);
  await assertExactlyOnce(fleet, counter);
});

test("e2e/nothing-lost - one-off --catch-up pass fetches what was missed and prints a summary", async (t) => {
  const { fleet } = await runningFleet(t);
  await fleet.drop("seen.dat");
  await fleet.waitAllDelivered(20_000);
  await fleet.stop("client");
  // The probes the running client missed (the slow joiner) are fetched by the pass as well.
  const probesIn = (await fleet.probesDelivered()).length;
  const missedProbes = fleet.probes.size - probesIn;
  const missed = Array.from({ length: 30 }, (_, i) => `missed${i}.dat`);
  for (const name of missed) await fleet.drop(name);
  await fleet.waitAnnounced(missed, 20_000);
  const summary = await fleet.catchUpPass("1h");
  assert.equal(summary["servers"], 1);
  assert.equal(summary["fetched"], 30 + missedProbes);
  assert.equal(summary["alreadyDelivered"], 1 + probesIn);
  assert.equal(summary["failed"], 0);
  assert.deepEqual((await fleet.delivered()).length, 31);
  assert.equal((await fleet.probesDelivered()).length, fleet.probes.size);
  assert.deepEqual(await fleet.corrupted(), []);
});

test(
  "e2e/nothing-lost - destination full: files refused for lack of space arrive once space is freed",
  { skip: NEED_ROOT },
  async (t) => {
    const out = await tmpfs(t, "4m");
    const { fleet, counter } = await runningFleet(t, { out });
    for (let i = 0; i < 10; i++) await fleet.drop(`big${i}.dat`, 1024 * 1024);
    await waitFor(
      async () => (await fleet.delivered()).length >= 2,
      "a few files fit",
      20_000,
    );
    // A push refused for lack of space must have happened before space is freed, else nothing is tested.
    await waitFor(
      async () =>
        (await logRecords(fleet.clientLog)).some(
          (r) =>
            r["msg"] === "push failed" &&
            JSON.stringify(r).includes("no space left"),
        ),
      "a push refused for lack of space",
      30_000,
    );
    const fitted = (await fleet.delivered()).length;
    assert.ok(fitted < 10, `the tmpfs is full after ${fitted}`);
    await run("mount", ["-o", "remount,size=64m", out]);
    await fleet.waitAllDelivered(60_000);
    await assertExactlyOnce(fleet, counter);
  },
);

test("e2e/nothing-lost - 8 announcements with a dead request address do not hold up 20 good files", async (t) => {
  // Chain "dead" announces a request address nothing listens on (127.0.0.2), from the same publisher.
  const deadIn = join(await tempDir(t), "dead-in");
  await mkdir(deadIn);
  const dead = `[dead]\norigin = ${deadIn}/{name}.dat\ntopic = /nl/dead\nrequest_port = 0\nrequest_address = 127.0.0.2\n`;
  const { fleet } = await runningFleet(t, { serverSections: dead });
  const deadNames = Array.from({ length: 8 }, (_, i) => `dead${i}.dat`);
  for (const name of deadNames)
    await writeFile(join(deadIn, name), "never fetched");
  // Announced (and so published to the client) before the good ones.
  await fleet.waitAnnounced(deadNames, 20_000);
  for (let i = 0; i < 20; i++) await fleet.drop(`good${i}.dat`);
  await fleet.waitAllDelivered(60_000);
  assert.deepEqual(await fleet.corrupted(), []);
});
