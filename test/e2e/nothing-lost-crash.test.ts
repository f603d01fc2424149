/**
 * Issue 10's fault table, the crash rows: the server killed with SIGKILL
 * during a big push, and both sides killed during a stream. Apart from the
 * other rows so that each file stays well inside the runner's time bound on
 * a busy machine.
 */
import assert from "node:assert/strict";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { assertExactlyOnce, runningFleet } from "../helpers/fleet.js";
import { inCi } from "../helpers/daemon.js";
import { seededRandom } from "../helpers/seeded.js";
import { tmpfs } from "../helpers/tmp.js";
import { delay, waitFor } from "../helpers/wait.js";

const NEED_ROOT = process.getuid?.() === 0 || inCi() ? undefined : "mounting a tmpfs needs root";

test("e2e/nothing-lost - server killed during a big push, restarted: the file arrives whole, once, no .part left", { skip: NEED_ROOT }, async (t) => {
  // A destination on another filesystem: the server copies (no hard link), so the push lasts.
  const out = await tmpfs(t, "1200m");
  const { fleet, counter } = await runningFleet(t, { out });
  await fleet.drop("huge.dat", 768 * 1024 * 1024);
  await waitFor(async () => (await readdir(out)).some((n) => n.endsWith(".part")), "the push started", 30_000);
  await fleet.kill9("server");
  const part = (await readdir(out)).find((n) => n.endsWith(".part"));
  assert.ok(part !== undefined && !(await readdir(out)).includes("huge.dat"), "killed mid-push");
  assert.ok((await stat(join(out, part))).size < 768 * 1024 * 1024);
  await fleet.startServer();
  // A bound, not a speed check: 768 MiB copied again on a busy machine.
  await fleet.waitAllDelivered(180_000);
  await assertExactlyOnce(fleet, counter);
});

test("e2e/nothing-lost - server and client each kill -9'd three times during a stream of 400 files", async (t) => {
  const { fleet, counter } = await runningFleet(t);
  const seed = Number(process.env["FUZZ_SEED"] ?? Date.now() % 2 ** 31);
  t.diagnostic(`kill times seeded with FUZZ_SEED=${seed}`);
  const random = seededRandom(seed);
  const total = 400;
  const kills = ["server", "client", "server", "client", "server", "client"] as const;
  const dropping = (async () => {
    for (let i = 0; i < total; i++) {
      await fleet.drop(`s${String(i).padStart(4, "0")}.dat`, 4096 + ((i * 7919) % 65536));
      await delay(20); // pacing: a stream, so that the kills land while files are in flight
    }
  })();
  for (const who of kills) {
    await delay(600 + Math.floor(random() * 1200)); // pacing: a kill at a random moment of the stream is the fault under test
    await fleet.kill9(who);
    if (who === "server") await fleet.startServer();
    else await fleet.startClient();
  }
  await dropping;
  await fleet.waitAllDelivered(120_000);
  await assertExactlyOnce(fleet, counter);
});
