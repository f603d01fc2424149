import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { Ledger, ledgerPath } from "../../src/ledger/sqlite.js";
import { Message } from "../../src/message/index.js";
import { SERVER_LEDGER_SCHEMA } from "../../src/server/ledger.js";
import { DateTime } from "../../src/util/datetime.js";
import { waitForLog } from "../helpers/procs.js";
import { serverProc } from "../helpers/server-proc.js";
import { tempDir } from "../helpers/tmp.js";
import { collectAnnounced } from "../helpers/lab.js";
import { waitFor } from "../helpers/wait.js";
import { request } from "../helpers/zmq.js";

const run = promisify(execFile);

test("e2e/server-ledger-faults - a corrupt ledger stops the start with an error naming the file and what to do", async (t) => {
  const dir = await tempDir(t);
  const origin = join(dir, "in");
  await mkdir(origin);
  const srv = await serverProc(
    t,
    dir,
    [{ name: "c", origin: `${origin}/{name}.dat`, topic: "/f/c" }],
    { args: ["--disable-backlog"] },
  );
  await mkdir(srv.stateDir);
  const file = ledgerPath(srv.stateDir, "server");
  await writeFile(file, Buffer.alloc(8192, 0x5a));
  await assert.rejects(srv.start(), (err: Error) => {
    assert.match(err.message, /server exited 2/);
    assert.ok(
      err.message.includes(file),
      `error does not name ${file}: ${err.message}`,
    );
    assert.match(
      err.message,
      /move|remove|restore/i,
      "the error does not say what to do",
    );
    return true;
  });
});

test("e2e/server-ledger-faults - a ledger of a newer schema is refused, not overwritten", async (t) => {
  const dir = await tempDir(t);
  const origin = join(dir, "in");
  await mkdir(origin);
  const srv = await serverProc(
    t,
    dir,
    [{ name: "n", origin: `${origin}/{name}.dat`, topic: "/f/n" }],
    { args: ["--disable-backlog"] },
  );
  const file = ledgerPath(srv.stateDir, "server");
  // A later move_it with one more migration wrote it.
  const newer = Ledger.open(file, {
    kind: "server",
    migrations: [...SERVER_LEDGER_SCHEMA.migrations, "CREATE TABLE future (x)"],
  });
  newer.close();
  await assert.rejects(srv.start(), (err: Error) => {
    assert.ok(err.message.includes(file), err.message);
    assert.match(err.message, /newer|version/i);
    return true;
  });
  const again = Ledger.open(file, {
    kind: "server",
    migrations: [...SERVER_LEDGER_SCHEMA.migrations, "CREATE TABLE future (x)"],
  });
  again.close(); // still the newer version: the refused start did not touch it
});

test("e2e/server-ledger-faults - state directory full: logged and counted, announcements and pushes go on, the ledger catches up", async (t) => {
  const dir = await tempDir(t);
  const [origin, out, state] = [
    join(dir, "in"),
    join(dir, "out"),
    join(dir, "state"),
  ];
  await mkdir(origin);
  await mkdir(out);
  await mkdir(state);
  await run("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", state]);
  const srv = await serverProc(
    t,
    dir,
    [{ name: "full", origin: `${origin}/{name}.dat`, topic: "/f/full" }],
    { args: ["--disable-backlog", "--status-port", "0"] },
  );
  try {
    await srv.start();
    const status = Number(
      (await waitForLog(srv.log, "status server listening"))["port"],
    );
    const got = await collectAnnounced(
      t,
      srv.publishPort,
      ["/f/full"],
      origin,
      "p",
    );
    const since = DateTime.fromDate(new Date(Date.now() - 60_000)).isoformat();
    // Fill the state filesystem to the last byte.
    await run("dd", [
      "if=/dev/zero",
      `of=${join(state, "filler")}`,
      "bs=64k",
    ]).catch(() => undefined);
    const N = 100;
    const names: string[] = [];
    for (let i = 0; i < N; i++) {
      const name = `full${i}.dat`;
      await writeFile(join(dir, ".t"), `${"payload ".repeat(200)}${i}`);
      await rename(join(dir, ".t"), join(origin, name));
      names.push(name);
    }
    await waitFor(
      () => names.every((n) => got.some((m) => m.dataObject["uid"] === n)),
      "all announced with the state dir full",
      30_000,
    );
    const port = srv.ports["full"]!;
    for (const n of names.slice(0, 20)) {
      const reply = await request(
        port,
        new Message("/f/full", "push", {
          uri: join(origin, n),
          uid: n,
          destination: `file://${out}/`,
        }),
      );
      assert.equal(
        reply.type,
        "file",
        `push with the state dir full answered ${reply.encode()}`,
      );
    }
    await waitFor(
      async () =>
        (await srv.records()).some(
          (r) => r["msg"] === "ledger write failed, retrying",
        ),
      "the failure logged",
    );
    const metrics = await (
      await fetch(`http://127.0.0.1:${status}/metrics`)
    ).text();
    const errors = Number(
      /move_it_server_ledger_write_errors\S* (\d+)/.exec(metrics)?.[1] ?? "0",
    );
    assert.ok(
      errors > 0,
      `write errors not counted: ${metrics
        .split("\n")
        .filter((l) => l.includes("ledger"))
        .join("; ")}`,
    );
    assert.equal(srv.proc.child.exitCode, null, "the server died");
    // Room again: the queued rows are committed, catch-up knows every file.
    await rm(join(state, "filler"));
    const pages = await waitFor(
      async () => {
        const reply = await request(
          port,
          new Message("/f/full", "catchup", { since, limit: 1000 }),
        );
        const msgs = (reply.data as unknown as { messages: string[] }).messages;
        return names.every((n) => msgs.some((m) => m.includes(`"uid": "${n}"`)))
          ? msgs
          : undefined;
      },
      "the ledger caught up",
      20_000,
    );
    assert.ok(pages.length >= N);
  } finally {
    await srv.kill9();
    await run("umount", ["-l", state]);
  }
});
