import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { serverProc } from "../helpers/server-proc.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";
import { collect } from "../helpers/zmq.js";

test("e2e/server-backlog - a restarted server's backlog reaches a subscriber that reconnects after the start", async (t) => {
  const dir = await tempDir(t);
  const origin = join(dir, "in");
  await mkdir(origin);
  const N = 200;
  for (let i = 0; i < N; i++)
    await writeFile(join(origin, `b${i}.dat`), `backlog ${i}`);
  const srv = await serverProc(t, dir, [
    { name: "b", origin: `${origin}/{name}.dat`, topic: "/backlog/test" },
  ]);
  // A first run without backlog binds the ports (0: whatever is free) that the restart keeps.
  await srv.start(["--disable-backlog"]);
  await srv.stop();
  // The subscriber is there before the server, as a client left running is: it reconnects once the server binds.
  const got = collect(t, srv.publishPort, ["/backlog/test"]);
  await srv.start([]);
  const started = (await srv.records()).findLast(
    (r) => r["msg"] === "server started",
  )!;
  await waitFor(
    () => new Set(got.map((m) => m.dataObject["uid"])).size === N,
    `all ${N} backlog files heard`,
    30_000,
  );
  const first = (await srv.records()).find((r) => r["msg"] === "announced")!;
  const waited =
    Date.parse(String(first["time"])) - Date.parse(String(started["time"]));
  assert.ok(
    waited >= 2500,
    `backlog announced ${waited} ms after start: too soon for reconnecting subscribers`,
  );
});
