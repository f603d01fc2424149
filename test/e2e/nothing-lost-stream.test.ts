/**
 * Issue 10's fault table, a crash row: server and client each killed with
 * SIGKILL three times, at seeded random moments (FUZZ_SEED=n replays), while
 * 400 files stream in. Every file arrives, intact, once.
 */
import { test } from "node:test";
import { assertExactlyOnce, runningFleet } from "../helpers/fleet.js";
import { seededRandom } from "../helpers/seeded.js";
import { delay } from "../helpers/wait.js";

test("e2e/nothing-lost - server and client each kill -9'd three times during a stream of 400 files", async (t) => {
  const { fleet, counter } = await runningFleet(t);
  const seed = Number(process.env["FUZZ_SEED"] ?? Date.now() % 2 ** 31);
  t.diagnostic(`kill times seeded with FUZZ_SEED=${seed}`);
  const random = seededRandom(seed);
  const total = 400;
  const kills = [
    "server",
    "client",
    "server",
    "client",
    "server",
    "client",
  ] as const;
  const dropping = (async () => {
    for (let i = 0; i < total; i++) {
      await fleet.drop(
        `s${String(i).padStart(4, "0")}.dat`,
        4096 + ((i * 7919) % 65536),
      );
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
