/**
 * A server killed (-9) and restarted within its heartbeat interval, with
 * bin/ processes on 127.0.0.1: the client never hears it silent for long
 * (its beats come every 30 s), so nothing says it resumed, and its
 * subscriber reconnects on its own backoff (up to 5 s), after the server is
 * back. A file the restarted server announced before that is not heard
 * live; the client must catch up on it once its subscription is back. (Seen
 * as a restarted mirror's relayed file that never reached its client.)
 */
import assert from "node:assert/strict";
import { mkdir, readdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { probeUntil } from "../helpers/lab.js";
import { logRecords, runCommand, waitForLog } from "../helpers/procs.js";
import { serverProc } from "../helpers/server-proc.js";
import { tempDir } from "../helpers/tmp.js";
import { delay, waitFor } from "../helpers/wait.js";

test(
  "e2e/reconnect-catchup - a file announced by a restarted server before the client's subscription is back is caught up and delivered once",
  { timeout: 180_000 },
  async (t) => {
    const dir = await tempDir(t, "move_it-reconnect-");
    const [inDir, aside, out] = ["in", "aside", "out"].map((d) =>
      join(dir, d),
    ) as [string, string, string];
    for (const d of [inDir, aside, out]) await mkdir(d);
    const drop = async (name: string): Promise<string> => {
      await writeFile(join(aside, name), `${name}\n`);
      await rename(join(aside, name), join(inDir, name));
      return name;
    };
    const delivered = async (): Promise<string[]> =>
      (await readdir(out)).filter((n) => !n.startsWith("."));
    // No backlog: a file dropped once the restarted server runs is announced at once.
    const srv = await serverProc(
      t,
      dir,
      [{ name: "r", origin: `${inDir}/{name}.dat`, topic: "/reconnect/data" }],
      { args: ["--disable-backlog"] },
    );
    await srv.start();
    const cIni = join(dir, "c.ini");
    await writeFile(
      cIni,
      `[c]\nproviders = 127.0.0.1:${srv.publishPort}\ndestination = file://${out}/\ntopic = /reconnect/data\npublish_port = 0\nnameservers = false\ntransfer_req_timeout = 5\n`,
    );
    const cLog = join(dir, "client.log");
    runCommand(t, "move_it_client", [
      cIni,
      "--host",
      "127.0.0.1",
      "-v",
      "-l",
      cLog,
      "--state-dir",
      join(dir, "c-state"),
    ]);
    await waitForLog(cLog, "chain started");
    // The client hears the server, and knows its request address (catch-up asks it), once a probe arrived.
    await probeUntil(
      (i) => drop(`probe-${i}.dat`),
      async (name) => (await delivered()).includes(name),
    );

    await srv.kill9();
    // The downtime is what is under test: long enough for the subscriber's reconnect interval to grow to its 5 s cap.
    await delay(8000);
    await srv.start();
    const gap = await drop("gap.dat");
    await waitFor(
      async () =>
        (await srv.records()).some(
          (r) => r["msg"] === "announced" && r["uid"] === gap,
        ),
      "gap.dat announced by the restarted server",
      30_000,
    );
    await waitFor(
      async () => (await delivered()).includes(gap),
      "gap.dat delivered",
      60_000,
    );
    const reconnected = (await logRecords(cLog)).filter(
      (r) => r["msg"] === "provider reconnected, catching up",
    );
    assert.ok(
      reconnected.length >= 1,
      "the client caught up on its reconnection",
    );
    // A second delivery would show before a later file is through.
    const later = await drop("later.dat");
    await waitFor(
      async () => (await delivered()).includes(later),
      "later.dat delivered",
      60_000,
    );
    const pushes = (await logRecords(cLog)).filter(
      (r) => r["msg"] === "push completed" && r["uid"] === gap,
    );
    assert.equal(pushes.length, 1, "gap.dat pushed once");
  },
);
