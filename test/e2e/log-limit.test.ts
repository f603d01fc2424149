import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import * as zmq from "zeromq";
import { Message } from "../../src/message/index.js";
import { logRecords, runCommand, waitForLog } from "../helpers/procs.js";
import { boundPorts } from "../helpers/server-proc.js";
import { tempDir } from "../helpers/tmp.js";
import { request } from "../helpers/zmq.js";

test("e2e/log-limit - a flood of malformed requests is answered in full but logged 5 times plus one count", async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, "in"));
  const ini = join(dir, "server.ini");
  await writeFile(
    ini,
    `[flood]\norigin = ${dir}/in/{name}.dat\ntopic = /flood\nrequest_port = 0\nrequest_address = 127.0.0.1\n`,
  );
  const log = join(dir, "server.log");
  const server = runCommand(t, "move_it_server", [
    ini,
    "-p",
    "0",
    "--host",
    "127.0.0.1",
    "-l",
    log,
  ]);
  await waitForLog(log, "server started");
  const reqPort =
    boundPorts(await logRecords(log)).ports["flood"] ??
    assert.fail("no request port of [flood] in the log");
  const n = 2000;
  const sock = new zmq.Dealer({ linger: 0, receiveTimeout: 20_000 });
  t.after(() => sock.close());
  sock.connect(`tcp://127.0.0.1:${reqPort}`);
  for (let i = 0; i < n; i++) await sock.send(["", `garbage ${i}`]);
  let errors = 0;
  for (let i = 0; i < n; i++) {
    const [, reply] = await sock.receive();
    if (Message.decode(reply!.toString()).type === "error") errors++;
  }
  assert.equal(errors, n, "every malformed request gets its error reply");
  assert.equal(
    (await request(reqPort, new Message("/flood", "ping"))).type,
    "pong",
  );
  server.child.kill("SIGTERM");
  assert.equal(await server.exited, 0);
  const malformed = (await logRecords(log)).filter(
    (r) => r["msg"] === "malformed request",
  );
  assert.equal(
    malformed.length,
    6,
    `5 records and one summary, got ${malformed.length}`,
  );
  assert.equal(malformed[5]!["suppressed"], n - 5);
});
