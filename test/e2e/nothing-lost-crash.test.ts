/**
 * Issue 10's fault table, a crash row: the server killed with SIGKILL during
 * a big push. In a file of its own (as the stream row, in
 * nothing-lost-stream), so that each file stays inside the runner's time
 * bound on a busy machine: the 768 MiB push alone took 160 s at load 20.
 */
import assert from "node:assert/strict";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { assertExactlyOnce, runningFleet } from "../helpers/fleet.js";
import { inCi } from "../helpers/daemon.js";
import { tmpfs } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

const NEED_ROOT =
  process.getuid?.() === 0 || inCi()
    ? undefined
    : "mounting a tmpfs needs root";

test(
  "e2e/nothing-lost - server killed during a big push, restarted: the file arrives whole, once, no .part left",
  { skip: NEED_ROOT },
  async (t) => {
    // A destination on another filesystem: the server copies (no hard link), so the push lasts.
    const out = await tmpfs(t, "1200m");
    const { fleet, counter } = await runningFleet(t, { out });
    await fleet.drop("huge.dat", 768 * 1024 * 1024);
    await waitFor(
      async () => (await readdir(out)).some((n) => n.endsWith(".part")),
      "the push started",
      30_000,
    );
    await fleet.kill9("server");
    const part = (await readdir(out)).find((n) => n.endsWith(".part"));
    assert.ok(
      part !== undefined && !(await readdir(out)).includes("huge.dat"),
      "killed mid-push",
    );
    assert.ok((await stat(join(out, part))).size < 768 * 1024 * 1024);
    await fleet.startServer();
    // A bound, not a speed check: 768 MiB copied again on a busy machine.
    await fleet.waitAllDelivered(180_000);
    await assertExactlyOnce(fleet, counter);
  },
);
