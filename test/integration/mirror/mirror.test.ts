import assert from "node:assert/strict";
import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { loadConfig } from "../../../src/config/index.js";
import { nullLogger } from "../../../src/log.js";
import { Message } from "../../../src/message/index.js";
import { MoveItMirror } from "../../../src/mirror/index.js";
import {
  clientIni,
  dropFile,
  outDir,
  startClient,
  testServer,
  waitConnected,
  type TestServer,
} from "../../helpers/client-setup.js";
import { capture } from "../../helpers/fixtures.js";
import { tempDir } from "../../helpers/tmp.js";
import { waitFor } from "../../helpers/wait.js";
import { request, subscribe } from "../../helpers/zmq.js";

const exists = (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );

async function startMirror(
  t: TestContext,
  upstream: string,
  extra = "",
  removeDelay = 1,
) {
  const staging = `${await tempDir(t, "move_it-stage-")}/`;
  const ini = `[mirror]\nproviders = ${upstream}\ndestination = file://${staging}\nclient_topic = /ref/test\norigin = ${staging}{name}.dat\nrequest_address = 127.0.0.1\nrequest_port = 0\ntopic = /ref/test\ndelete = True\nremove_delay = ${removeDelay}\n${extra}`;
  // Fast heartbeats downstream, as the test server's upstream: a subscriber knows it is connected once it hears one.
  const mirror = new MoveItMirror({
    config: loadConfig(ini, "mirror", "mirror.ini"),
    log: nullLogger,
    publishBind: "tcp://127.0.0.1:0",
    bindHost: "127.0.0.1",
    heartbeatInterval: 0.1,
  });
  t.after(() => mirror.close());
  await mirror.start();
  await upstreamHeard(mirror);
  const port = mirror.requestPort("mirror");
  return { mirror, staging, port, address: `127.0.0.1:${port}` };
}

/** The mirror's listener has heard the upstream server's heartbeat: it gets what the server announces from now on. */
async function upstreamHeard(mirror: MoveItMirror): Promise<void> {
  await waitFor(
    () =>
      Object.values(
        mirror.stats().client.chains["mirror"]?.listeners ?? {},
      ).some((l) => l.heartbeats > 0),
    "the mirror hears the upstream server",
  );
}

/** Push requests the test server's chain got. */
const pushRequests = (srv: TestServer): number =>
  srv.server.stats()["s"]?.requests["push"] ?? 0;

test("mirror - re-announces at once with its own request_address (D2), fetching nothing", async (t) => {
  const srv = await testServer(t, "/ref/test", {
    extra: "info = sensor=dummy;variant=ref\n",
  });
  const m = await startMirror(t, `127.0.0.1:${srv.publishPort}`);
  const down = await subscribe(t, m.mirror.publishPort, ["/ref/test"]);
  const path = await dropFile(srv.inDir, "test4.dat", "four");
  const ann = await waitFor(
    () => down.find((x) => x.type === "file"),
    "re-announcement",
  );
  const d2 = Message.decode(capture("D2")[0]!).dataObject;
  assert.deepEqual(ann.dataObject, {
    ...d2,
    uri: path,
    request_address: m.address,
  });
  // Absence, checked once a later file went the same way: the mirror handled the first announcement before it.
  await dropFile(srv.inDir, "later.dat", "later");
  await waitFor(
    () =>
      down.find(
        (x) => x.type === "file" && x.dataObject["uid"] === "later.dat",
      ),
    "the later file re-announced",
  );
  assert.equal(pushRequests(srv), 0, "the mirror fetched before anyone asked");
  assert.equal(await exists(join(m.staging, "test4.dat")), false);
});

test("mirror - server → mirror → client moves the file intact; the reply names the staged copy (D3)", async (t) => {
  const srv = await testServer(t, "/ref/test");
  const m = await startMirror(t, `127.0.0.1:${srv.publishPort}`);
  const dest = await outDir(t);
  const c = await startClient(
    t,
    clientIni(
      "ref",
      [`127.0.0.1:${m.mirror.publishPort}`],
      "/ref/test",
      `file://${dest}`,
    ),
  );
  await waitConnected(c.client, "ref", 1);
  await dropFile(srv.inDir, "test4.dat", "payload four");
  const got = await waitFor(() => c.received[0], "file at the client", 15_000);
  assert.equal(await readFile(join(dest, "test4.dat"), "utf8"), "payload four");
  assert.equal(
    got.message.dataObject["origin"],
    m.address,
    "origin must be the mirror's request address",
  );
  assert.equal(srv.server.stats()["s"]?.pushes, 1);
  await waitFor(
    async () => !(await exists(join(m.staging, "test4.dat"))),
    "staged copy removed after remove_delay",
    10_000,
  );
});

test("mirror - two downstream requests for one file cause one upstream fetch", async (t) => {
  const srv = await testServer(t, "/ref/test");
  const m = await startMirror(t, `127.0.0.1:${srv.publishPort}`);
  const down = await subscribe(t, m.mirror.publishPort, ["/ref/test"]);
  await dropFile(srv.inDir, "twice.dat", "2x");
  const ann = await waitFor(
    () => down.find((x) => x.type === "file"),
    "re-announcement",
  );
  const [d1, d2] = [await tempDir(t), await tempDir(t)];
  const push = (d: string): Promise<Message> =>
    request(
      m.port,
      new Message("/ref/test", "push", {
        ...ann.dataObject,
        destination: `file://vm${d}/`,
      }),
      10_000,
    );
  const [r1, r2] = await Promise.all([push(d1), push(d2)]);
  assert.equal(r1.type, "file");
  assert.equal(r2.type, "file");
  assert.equal(r1.dataObject["uri"], join(m.staging, "twice.dat"));
  assert.equal(await readFile(join(d1, "twice.dat"), "utf8"), "2x");
  assert.equal(await readFile(join(d2, "twice.dat"), "utf8"), "2x");
  assert.equal(
    srv.server.stats()["s"]?.pushes,
    1,
    "one upstream fetch for two requests",
  );
  // a later requester is served from staging while it is there
  const d3 = await tempDir(t);
  assert.equal((await push(d3)).type, "file");
  assert.equal(srv.server.stats()["s"]?.pushes, 1);
});

test("mirror - a file upstream never announced is refused", async (t) => {
  const srv = await testServer(t, "/ref/test");
  const m = await startMirror(t, `127.0.0.1:${srv.publishPort}`);
  const r = await request(
    m.port,
    new Message("/ref/test", "push", {
      uri: "/etc/passwd",
      uid: "passwd",
      destination: "file://vm/tmp/x/",
    }),
  );
  assert.equal(r.type, "err");
  assert.equal(r.data, "/etc/passwd not reachable");
});

test("mirror - prefetch stages the file on announcement", async (t) => {
  const srv = await testServer(t, "/ref/test");
  const m = await startMirror(
    t,
    `127.0.0.1:${srv.publishPort}`,
    "prefetch = true\n",
    30,
  );
  await dropFile(srv.inDir, "early.dat", "early");
  await waitFor(
    () => exists(join(m.staging, "early.dat")),
    "prefetched file in staging",
  );
  const d = await tempDir(t);
  const r = await request(
    m.port,
    new Message("/ref/test", "push", {
      uri: "/whatever/early.dat",
      uid: "early.dat",
      destination: `${d}/`,
    }),
  );
  assert.equal(r.type, "file");
  assert.equal(srv.server.stats()["s"]?.pushes, 1);
});

test("mirror - a client behind it with heartbeat_alarm_scale hears its heartbeats and does not reconnect when quiet", async (t) => {
  const srv = await testServer(t, "/ref/test");
  const staging = `${await tempDir(t, "move_it-stage-")}/`;
  const ini = `[mirror]\nproviders = 127.0.0.1:${srv.publishPort}\ndestination = file://${staging}\nclient_topic = /ref/test\norigin = ${staging}{name}.dat\nrequest_address = 127.0.0.1\nrequest_port = 0\ntopic = /ref/test\n`;
  const mirror = new MoveItMirror({
    config: loadConfig(ini, "mirror"),
    log: nullLogger,
    publishBind: "tcp://127.0.0.1:0",
    bindHost: "127.0.0.1",
    heartbeatInterval: 0.4,
  });
  t.after(() => mirror.close());
  await mirror.start();
  const dest = await outDir(t);
  const c = await startClient(
    t,
    clientIni(
      "ref",
      [`127.0.0.1:${mirror.publishPort}`],
      "/ref/test",
      `file://${dest}`,
      "heartbeat_alarm_scale = 3\n",
    ),
  );
  const listener = () =>
    Object.values(c.client.stats().chains["ref"]?.listeners ?? {})[0];
  await waitFor(
    () => (listener()?.heartbeats ?? 0) >= 2,
    "mirror heartbeats at the client",
  );
  // Quiet: no file at all, only heartbeats every 0.4 s (the alarm at 1.2 s), for eight more of them.
  await waitFor(
    () => (listener()?.heartbeats ?? 0) >= 10,
    "ten mirror heartbeats at the client",
    20_000,
  );
  assert.equal(
    listener()?.restarts,
    0,
    "the listener reconnected in a quiet period",
  );
});
