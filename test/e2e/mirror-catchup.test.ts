/**
 * Catch-up through a mirror across a kill -9 of the mirror, with bin/
 * processes on 127.0.0.1:
 *
 *   move_it_server → move_it_mirror (local staging) → move_it_client
 *
 * The downstream client is stopped; files are announced upstream and relayed
 * by the mirror (its server half records them in its ledger: move_it_req
 * catchup against the mirror lists them); the mirror is killed with SIGKILL
 * and restarted; then the client starts again. It must catch up from the
 * restarted mirror and get every file once and intact, and the mirror must
 * delete every staged copy after its push.
 */
import assert from "node:assert/strict";
import { mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { MirrorRelay } from "../helpers/mirror-relay.js";
import { runCommand } from "../helpers/procs.js";
import { waitFor } from "../helpers/wait.js";
import { requireBinary, skipUnless } from "../helpers/daemon.js";

const INOTIFYWAIT = "/usr/bin/inotifywait";
const skip = skipUnless(INOTIFYWAIT, "inotify-tools");
const FILES = 6;

/** The uids move_it_req catchup lists for `topic` at `server` (empty when it does not answer). */
async function caughtUp(
  t: TestContext,
  server: string,
  topic: string,
): Promise<string[]> {
  const p = runCommand(t, "move_it_req", [
    "catchup",
    topic,
    server,
    "--since",
    "1h",
    "--json",
    "--timeout",
    "5",
  ]);
  if ((await p.exited) !== 0) return [];
  const reply = JSON.parse(p.stdout()) as {
    messages: Array<{ data: { uid?: string } }>;
  };
  return reply.messages.map((m) => m.data.uid ?? "");
}

test(
  "e2e/mirror-catchup - a client that was down catches up from a mirror killed (-9) and restarted meanwhile: every file once, intact, staged copies deleted",
  { skip, timeout: 240_000 },
  async (t) => {
    requireBinary(INOTIFYWAIT, "inotify-tools");
    const relay = await MirrorRelay.create(
      t,
      "move_it-mcatch-",
      async (work) => {
        const dir = join(work, "stage");
        await mkdir(dir);
        return { destination: `${dir}/`, dir, extra: "", serverExtra: "" };
      },
    );
    const mirror = await relay.startMirror();
    const client = await relay.startClient();
    // Warm up: the client knows the mirror (its ledger keeps it as a server to catch up from) once a probe arrived.
    await relay.warmUp();
    client.child.kill("SIGTERM");
    assert.equal(await client.exited, 0, "the client stops cleanly");

    const names = Array.from({ length: FILES }, (_, i) => `f-${i}.dat`);
    for (const [i, name] of names.entries())
      await relay.drop(name, 200_000 + i * 10_007);
    // Relayed and recorded by the mirror's server half: its catch-up lists them (committed rows only).
    await waitFor(
      async () => {
        const listed = new Set(await caughtUp(t, relay.mirrorReq, "/gw/data"));
        return names.every((n) => listed.has(n));
      },
      "every file in the mirror's catch-up",
      60_000,
    );
    assert.deepEqual(
      (await readdir(relay.staging.dir)).filter((n) => n.startsWith("f-")),
      [],
      "nothing fetched before a downstream client asked",
    );

    mirror.child.kill("SIGKILL");
    await mirror.exited;
    await relay.startMirror();
    const listed = new Set(await caughtUp(t, relay.mirrorReq, "/gw/data"));
    assert.ok(
      names.every((n) => listed.has(n)),
      `the restarted mirror still offers every relayed file: ${[...listed].join(", ")}`,
    );

    await relay.startClient();
    await relay.waitAllDelivered(
      "every file delivered through the restarted mirror",
      120_000,
    );
    await relay.assertExactlyOnce();
    await relay.waitStagingEmpty();
  },
);
