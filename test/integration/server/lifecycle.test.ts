/**
 * The lifecycle contract (docs/lifecycle.md) on the real server, mirror and
 * transport: a failed start undoes itself and names section and port; one
 * close() promise; `closed`; ClosedError after close; a stop during a
 * compressed backlog keeps its deadline.
 */
import assert from "node:assert/strict";
import { access, chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import * as zmq from "zeromq";
import { loadConfig } from "../../../src/config/index.js";
import { ClosedError } from "../../../src/errors.js";
import { nullLogger } from "../../../src/log.js";
import { Message } from "../../../src/message/index.js";
import { MoveItMirror } from "../../../src/mirror/index.js";
import { Deleter } from "../../../src/server/deleter.js";
import { ServerLedger } from "../../../src/server/ledger.js";
import { MoveItServer } from "../../../src/server/server.js";
import { Publisher } from "../../../src/transport/publisher.js";
import { ZmqRequester } from "../../../src/transport/requester.js";
import { startServer } from "../../helpers/server.js";
import { tempDir } from "../../helpers/tmp.js";
import { request } from "../../helpers/zmq.js";

/** A ROUTER holding a port, so a server's bind of it fails. */
function occupy(t: { after(fn: () => unknown): void }): number {
  const sock = new zmq.Router({ linger: 0 });
  sock.bindSync("tcp://127.0.0.1:*");
  t.after(() => sock.close());
  return Number(/:(\d+)$/.exec(sock.lastEndpoint ?? "")?.[1]);
}

const section = (dir: string, name: string, port: number): string =>
  `[${name}]\norigin = ${dir}/${name}/{name}.dat\ntopic = /${name}\nrequest_port = ${port}\nrequest_address = 127.0.0.1\n`;

test("lifecycle - a server whose second chain cannot bind undoes its start and names section and port", async (t) => {
  const dir = await tempDir(t);
  const taken = occupy(t);
  const server = new MoveItServer({
    config: loadConfig(
      section(dir, "a", 0) + section(dir, "b", taken),
      "server",
    ),
    log: nullLogger,
    publishBind: "tcp://127.0.0.1:0",
    requestHost: "127.0.0.1",
    disableBacklog: true,
  });
  t.after(() => server.close());
  const started = performance.now();
  await assert.rejects(server.start(), (err: Error) => {
    assert.match(
      err.message,
      new RegExp(
        `section \\[b\\], request_port ${taken}: cannot listen on .*: address already in use`,
      ),
    );
    return true;
  });
  assert.ok(
    performance.now() - started < 5000,
    "a failed start takes seconds at most",
  );
  const why = await server.closed;
  assert.match(
    String(why?.message),
    /section \[b\]/,
    "closed resolves with what closed it",
  );
  // Nothing of the first chain or the publisher is left: their ports bind again.
  const again = new zmq.Router({ linger: 0 });
  t.after(() => again.close());
  assert.ok(server.publishPort > 0);
  again.bindSync(`tcp://127.0.0.1:${server.publishPort}`);
  assert.deepEqual(server.stats(), {});
  await assert.rejects(server.start(), ClosedError);
  await assert.rejects(
    server.reload(loadConfig(section(dir, "a", 0), "server")),
    ClosedError,
  );
});

test("lifecycle - a mirror whose request port is taken undoes its start", async (t) => {
  const dir = await tempDir(t);
  const taken = occupy(t);
  const ini = `[m]\nproviders = 127.0.0.1:1\ndestination = file://${dir}/staging/\nclient_topic = /up\norigin = ${dir}/staging/{name}.dat\nrequest_address = 127.0.0.1\nrequest_port = ${taken}\ntopic = /down\n`;
  const mirror = new MoveItMirror({
    config: loadConfig(ini, "mirror"),
    log: nullLogger,
    publishBind: "tcp://127.0.0.1:0",
    bindHost: "127.0.0.1",
  });
  t.after(() => mirror.close());
  await assert.rejects(
    mirror.start(),
    new RegExp(`section \\[m\\], request_port ${taken}: cannot listen on`),
  );
  assert.ok((await mirror.closed) instanceof Error);
  await assert.rejects(mirror.reload(loadConfig(ini, "mirror")), ClosedError);
});

test("lifecycle - close() is one promise however often called; parts closed refuse work with ClosedError", async (t) => {
  const dir = await tempDir(t);
  const srv = await startServer(t, section(dir, "a", 0));
  const port = srv.requestPort();
  assert.equal((await request(port, new Message("/a", "ping"))).type, "pong");
  const a = srv.server.close();
  assert.equal(srv.server.close(), a);
  await a;
  assert.equal(
    await srv.server.closed,
    undefined,
    "an orderly close resolves closed without an error",
  );
  // The request port is free once close() resolved (a reload or restart may bind it at once).
  const rebound = new zmq.Router({ linger: 0 });
  t.after(() => rebound.close());
  rebound.bindSync(`tcp://127.0.0.1:${port}`);

  const publisher = new Publisher({
    bind: "tcp://127.0.0.1:0",
    log: nullLogger,
  });
  await publisher.start();
  const p = publisher.close();
  assert.equal(publisher.close(), p);
  await p;
  await assert.rejects(
    publisher.publish(new Message("/x", "file")),
    ClosedError,
  );

  const requester = new ZmqRequester();
  requester.close();
  await assert.rejects(
    requester.request(`127.0.0.1:${port}`, new Message("/a", "ping"), {
      timeoutMs: 1000,
    }),
    ClosedError,
  );

  const ledger = ServerLedger.open(undefined, nullLogger);
  t.after(() => ledger.close());
  const deleter = new Deleter({ chain: "c", ledger, log: nullLogger });
  await deleter.start();
  const d = deleter.close();
  assert.equal(deleter.close(), d);
  await d;
  assert.throws(() => deleter.schedule(join(dir, "x"), 1), ClosedError);
});

test("lifecycle - a stop during a compressed backlog keeps its deadline; what was not unpacked stays for the next start", async (t) => {
  const dir = await tempDir(t);
  const inDir = join(dir, "in");
  await mkdir(inDir);
  // An unpacker that never finishes: only the drain deadline can end it.
  const prog = join(dir, "hang-xrit");
  await writeFile(prog, "#!/bin/sh\nexec sleep 60\n");
  await chmod(prog, 0o755);
  const names = Array.from(
    { length: 20 },
    (_, i) =>
      `H-000-MSG4__-MSG4________-IR_108___-${String(i).padStart(6, "0")}___-202411221200-C_`,
  );
  for (const n of names) await writeFile(join(inDir, n), "HEADER\nbody\n");
  const pattern =
    "H-000-{series:_<6s}-{platform_name:_<5s}_______-{channel:_<9s}-{segment:_<9s}-{nominal_time:%Y%m%d%H%M}-{compressed:_<2s}";
  const ini = `[hrit]\norigin = ${inDir}/${pattern}\ntopic = /hrit\nrequest_port = 0\nrequest_address = 127.0.0.1\ncompression = xrit\nprog = ${prog}\nworking_directory = ${join(dir, "work")}\n`;
  const server = new MoveItServer({
    config: loadConfig(ini, "server"),
    log: nullLogger,
    publishBind: "tcp://127.0.0.1:0",
    requestHost: "127.0.0.1",
    disableBacklog: false,
  });
  t.after(() => server.close(0));
  await server.start();
  const started = performance.now();
  await server.close(500);
  const took = performance.now() - started;
  assert.ok(
    took < 5000,
    `close(500) took ${Math.round(took)} ms with 20 files queued for 4 unpack slots`,
  );
  for (const n of names) await access(join(inDir, n)); // every packed original is still there
});
