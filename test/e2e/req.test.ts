import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { silentServer } from "../helpers/daemon.js";
import { freePort } from "../helpers/net.js";
import { logRecords, runCommand, waitForLog } from "../helpers/procs.js";
import { boundPorts } from "../helpers/server-proc.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

async function req(
  t: TestContext,
  args: string[],
): Promise<{ code: number | null; out: string; err: string }> {
  const p = runCommand(t, "move_it_req", args);
  const code = await p.exited;
  return { code, out: p.stdout(), err: p.stderr() };
}

test("e2e/req - ping, info, catchup against a running move_it_server: text and --json, exit 0", async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, "in"));
  const ini = join(dir, "s.ini");
  await writeFile(
    ini,
    `[a]\norigin = ${dir}/in/{name}.dat\ntopic = /req/a\nrequest_port = 0\nrequest_address = 127.0.0.1\nstation = lab1\n`,
  );
  const log = join(dir, "s.log");
  runCommand(t, "move_it_server", [
    ini,
    "-p",
    "0",
    "--host",
    "127.0.0.1",
    "--state-dir",
    join(dir, "state"),
    "-l",
    log,
    "-v",
  ]);
  await waitForLog(log, "server started", 60_000);
  const port =
    boundPorts(await logRecords(log)).ports["a"] ??
    assert.fail("no request port of [a] in the log");
  // One after the other: the catch-up listing below is in announcement order, and two files
  // written together may be announced in either order.
  await writeFile(join(dir, "in", "one.dat"), "1");
  await waitFor(
    async () =>
      (await logRecords(log)).filter((r) => r["msg"] === "announced").length >=
      1,
    "one announcement",
    30_000,
  );
  await writeFile(join(dir, "in", "two.dat"), "22");
  await waitFor(
    async () =>
      (await logRecords(log)).filter((r) => r["msg"] === "announced").length >=
      2,
    "two announcements",
    30_000,
  );
  const server = `127.0.0.1:${port}`;

  const ping = await req(t, ["ping", server]);
  assert.equal(ping.code, 0, ping.err);
  assert.match(
    ping.out,
    new RegExp(
      `^pong from tcp://127\\.0\\.0\\.1:${port} in \\d+ ms: station lab1, move_it \\(catch-up supported\\)`,
    ),
  );

  const pingJson = await req(t, ["ping", server, "--json"]);
  assert.equal(pingJson.code, 0);
  const pj = JSON.parse(pingJson.out) as {
    ok: boolean;
    moveIt: boolean;
    reply: { type: string; data: { station: string } };
  };
  assert.deepEqual(
    [pj.ok, pj.moveIt, pj.reply.type, pj.reply.data.station],
    [true, true, "pong", "lab1"],
  );

  const info = await req(t, ["info", "/req/a", server, "-v"]);
  assert.equal(info.code, 0, info.err);
  assert.match(
    info.out,
    /^info from tcp:\/\/127\.0\.0\.1:\d+ on \/req\/a: 2 file\(s\), max_count 2256, uptime \d+:\d\d:\d\d/,
  );
  assert.ok(
    info.out.includes("  /req/a/one.dat") &&
      info.out.includes("  /req/a/two.dat"),
    info.out,
  );

  const python = await req(t, ["--info", "/req/a", server, "--json"]);
  assert.equal(python.code, 0, `Python's spelling --info TOPIC: ${python.err}`);
  assert.equal((JSON.parse(python.out) as { fileCount: number }).fileCount, 2);

  const cu = await req(t, [
    "catchup",
    "/req",
    server,
    "--since",
    "1h",
    "--limit",
    "1",
  ]);
  assert.equal(cu.code, 0, cu.err);
  const lines = cu.out.trim().split("\n");
  assert.equal(lines.length, 3, cu.out);
  assert.match(lines[0]!, /\/req\/a {2}file {2}one\.dat$/);
  assert.match(lines[1]!, /\/req\/a {2}file {2}two\.dat$/);
  assert.match(
    lines[2]!,
    /^2 announcement\(s\) on \/req since .* \(2 page\(s\)\)$/,
    "--limit 1: a page per announcement",
  );
  const cuJson = JSON.parse(
    (
      await req(t, [
        "catchup",
        "/req/a",
        server,
        "--since",
        "2026-01-01T00:00:00",
        "--json",
      ])
    ).out,
  ) as { messages: Array<{ data: { uid: string } }> };
  assert.deepEqual(
    cuJson.messages.map((m) => m.data.uid),
    ["one.dat", "two.dat"],
  );
  const none = await req(t, ["catchup", "/other", server, "--since", "1h"]);
  assert.equal(none.code, 0);
  assert.match(none.out, /^0 announcement\(s\) on \/other/);
});

test("e2e/req - no answer within --timeout (nothing listening, or a port that never replies): exit 1, one line", async (t) => {
  const closed = await freePort();
  const started = Date.now();
  const r = await req(t, ["ping", `127.0.0.1:${closed}`, "--timeout", "1"]);
  assert.equal(r.code, 1);
  assert.equal(r.err, `no answer from tcp://127.0.0.1:${closed} within 1 s\n`);
  assert.ok(Date.now() - started < 30_000);
  const silent = await silentServer();
  t.after(() => silent.close());
  const s = await req(t, [
    "info",
    "/x",
    `127.0.0.1:${silent.port}`,
    "--timeout",
    "0.5",
    "--json",
  ]);
  assert.equal(s.code, 1);
  assert.deepEqual(JSON.parse(s.out), {
    server: `tcp://127.0.0.1:${silent.port}`,
    ok: false,
    error: `no answer from tcp://127.0.0.1:${silent.port} within 0.5 s`,
  });
});

test("e2e/req - usage mistakes exit 2 with one line and a pointer to --help", async (t) => {
  for (const [args, line] of [
    [
      [],
      "move_it_req: give a request: ping, info TOPIC or catchup TOPIC --since TIME",
    ],
    [["pong"], "move_it_req: Unknown argument: pong"],
    [
      ["catchup", "/x", "127.0.0.1:1"],
      "move_it_req: Missing required argument: since",
    ],
    [
      ["catchup", "/x", "127.0.0.1:1", "--since", "yesterday"],
      'move_it_req: --since "yesterday": give a duration such as 90s, 30m, 6h, 2d, 1w, or an ISO time such as 2026-12-01T10:00:00',
    ],
    [
      ["ping", "--timeout", "0"],
      "move_it_req: --timeout 0: give a number of seconds above 0",
    ],
  ] as const) {
    const r = await req(t, [...args]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
    assert.equal(
      r.err,
      `${line}\nTry 'move_it_req --help' for the options.\n`,
      args.join(" "),
    );
  }
  const h = await req(t, ["--help"]);
  assert.equal(h.code, 0);
  assert.match(h.out, /move_it_req ping\|info\|catchup/);
});
