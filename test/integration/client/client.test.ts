import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { loadConfig } from "../../../src/config/index.js";
import { Message } from "../../../src/message/index.js";
import { MoverRegistry } from "../../../src/movers/registry.js";
import { FileMover } from "../../../src/movers/file.js";
import { Publisher } from "../../../src/transport/publisher.js";
import { Subscriber } from "../../../src/transport/subscriber.js";
import { nullLogger } from "../../../src/log.js";
import {
  clientIni,
  dropFile,
  outDir,
  startClient,
  testServer,
  waitConnected,
} from "../../helpers/client-setup.js";
import { SlowMover } from "../../helpers/slow-mover.js";
import { waitFor } from "../../helpers/wait.js";
import { subscribe } from "../../helpers/zmq.js";
import { captureLogger } from "../../helpers/log.js";

test("client/client - receives an announced file, publishing push, ack and the local file message", async (t) => {
  const srv = await testServer(t, "/t");
  const out = await outDir(t);
  // Fast client heartbeats: `subscribe()` resolves on the first one, so the test's subscriber is connected.
  const { client, received } = await startClient(
    t,
    clientIni("ref", [`127.0.0.1:${srv.publishPort}`], "/t", `file://${out}`),
    { hostname: "vm", heartbeatInterval: 0.1 },
  );
  const all = await subscribe(t, client.publishPort("ref")!, ["/t"]);
  const pub = (): Message[] => all.filter((m) => m.type !== "beat");
  await waitConnected(client, "ref", 1);
  await dropFile(srv.inDir, "one.dat", "first");
  await waitFor(() => received.length === 1, "reception");
  assert.equal(await readFile(join(out, "one.dat"), "utf8"), "first");
  const msg = received[0]!.message;
  assert.deepEqual(msg.dataObject, {
    name: "one",
    uri: join(out, "one.dat"),
    uid: "one.dat",
    origin: srv.address,
  });
  await waitFor(() => pub().length === 3, "three publications");
  assert.deepEqual(
    pub().map((m) => m.type),
    ["push", "ack", "file"],
  );
  assert.equal(pub()[0]!.dataObject["destination"], `file://vm${out}`);
  assert.equal(pub()[2]!.encode(), msg.encode());
});

test("client/client - two servers announce the same file: the first wins, the other is acked", async (t) => {
  const a = await testServer(t, "/t");
  const b = await testServer(t, "/t");
  const out = await outDir(t);
  const providers = [
    `127.0.0.1:${a.publishPort}`,
    `127.0.0.1:${b.publishPort}`,
  ];
  const { client, received } = await startClient(
    t,
    clientIni("ref", providers, "/t", out),
  );
  await waitConnected(client, "ref", 2);
  await dropFile(a.inDir, "dup.dat", "from a");
  await waitFor(
    () => client.stats().chains["ref"]!.coordinator.announcements === 1,
    "first announcement",
  );
  await dropFile(b.inDir, "dup.dat", "from b");
  await waitFor(
    () =>
      received.length === 1 &&
      (a.server.stats()["s"]!.requests["ack"] ?? 0) +
        (b.server.stats()["s"]!.requests["ack"] ?? 0) ===
        1,
    "ack",
  );
  assert.equal(await readFile(join(out, "dup.dat"), "utf8"), "from a");
  assert.equal(received[0]!.message.dataObject["origin"], a.address);
  assert.equal(b.server.stats()["s"]!.requests["ack"], 1);
  assert.equal(b.server.stats()["s"]!.requests["push"] ?? 0, 0);
  // Nothing more comes of the duplicate: checked once a later file from the same server, announced after it, is through.
  await dropFile(b.inDir, "later.dat", "later");
  await waitFor(
    () => received.some((r) => r.message.dataObject["uid"] === "later.dat"),
    "a later file from the second server",
  );
  assert.deepEqual(
    received.map((r) => r.message.dataObject["uid"]),
    ["dup.dat", "later.dat"],
    "the duplicate was received twice",
  );
  assert.equal(client.stats().chains["ref"]!.coordinator.received, 2);
  assert.equal(
    b.server.stats()["s"]!.requests["push"],
    1,
    "the duplicate was pushed",
  );
});

test("client/client - a server answering err is failed over to the next provider", async (t) => {
  const refusing = await testServer(t, "/t");
  const good = await testServer(t, "/t", { extra: "" });
  const path = await dropFile(good.inDir, "x.dat", "good copy");
  const fake = new Publisher({
    bind: "tcp://127.0.0.1:0",
    log: nullLogger,
    heartbeatName: "move_it_server",
    heartbeatInterval: 1,
  });
  t.after(() => fake.close());
  await fake.start();
  const out = await outDir(t);
  const { client, received } = await startClient(
    t,
    clientIni("ref", [`127.0.0.1:${fake.port}`], "/t", out),
  );
  await waitConnected(client, "ref", 1);
  // One publisher, so the two announcements arrive in this order: the refusing server's first.
  const ann = (address: string) =>
    new Message("/t", "file", {
      name: "x",
      uri: path,
      uid: "x.dat",
      request_address: address,
    });
  await fake.publish(ann(refusing.address));
  await fake.publish(ann(good.address));
  await waitFor(() => received.length === 1, "reception");
  assert.equal(received[0]!.message.dataObject["origin"], good.address);
  assert.equal(await readFile(join(out, "x.dat"), "utf8"), "good copy");
  const stats = client.stats().chains["ref"]!.coordinator;
  assert.equal(stats.failovers, 1);
  assert.equal(refusing.server.stats()["s"]!.requests["push"], 1);
});

test("client/client - a server closed in the middle of a push is abandoned (ping fails) for the next provider", async (t) => {
  const slow = new SlowMover();
  const dying = await testServer(t, "/t", {
    movers: new MoverRegistry([new FileMover(), slow]),
  });
  const fast = new SlowMover();
  fast.release();
  const alive = await testServer(t, "/t", {
    movers: new MoverRegistry([new FileMover(), fast]),
  });
  const out = await outDir(t);
  const dest = `ftp://127.0.0.1${out}`;
  const extra = "transfer_req_timeout = 0.5\nreq_timeout = 0.5\n";
  const providers = [
    `127.0.0.1:${dying.publishPort}`,
    `127.0.0.1:${alive.publishPort}`,
  ];
  const { client, received } = await startClient(
    t,
    clientIni("ref", providers, "/t", dest, extra),
  );
  await waitConnected(client, "ref", 2);
  await dropFile(dying.inDir, "y.dat", "y");
  await waitFor(() => slow.calls === 1, "push in flight on the first server");
  await dropFile(alive.inDir, "y.dat", "y");
  await waitFor(
    () => client.stats().chains["ref"]!.coordinator.duplicates === 1,
    "second announcement remembered",
  );
  await dying.server.close(0);
  await waitFor(
    () => received.length === 1,
    "reception from the second server",
    15_000,
  );
  assert.equal(received[0]!.message.dataObject["origin"], alive.address);
  // ftp:// to this machine: the path, as the Python client publishes it (docs/requests.md).
  assert.equal(received[0]!.message.dataObject["uri"], `${out}y.dat`);
  assert.equal(fast.calls, 1);
  assert.equal(client.stats().chains["ref"]!.coordinator.failovers, 1);
});

test("client/client - reload keeps unchanged chains and, in a changed chain, unchanged listeners", async (t) => {
  const a = await testServer(t, "/t");
  const b = await testServer(t, "/t");
  const out = await outDir(t);
  const pa = `127.0.0.1:${a.publishPort}`;
  const pb = `127.0.0.1:${b.publishPort}`;
  const subscribed: string[] = [];
  const ini1 =
    clientIni("one", [pa], "/t", out) + clientIni("two", [pa], "/t", out);
  const { client, received } = await startClient(t, ini1, {
    connect: (opts) => (
      subscribed.push(opts.endpoints[0]!),
      new Subscriber(opts)
    ),
  });
  const portTwo = client.publishPort("two");
  assert.equal(subscribed.length, 2);
  await client.reload(
    loadConfig(
      clientIni("one", [pa, pb], "/t", out, "req_timeout = 2\n") +
        clientIni("two", [pa], "/t", out),
      "client",
    ),
  );
  assert.deepEqual(
    subscribed,
    [`tcp://${pa}`, `tcp://${pa}`, `tcp://${pb}`],
    "only the new provider got a subscriber",
  );
  assert.equal(client.publishPort("two"), portTwo);
  await client.reload(loadConfig(clientIni("one", [pb], "/t", out), "client"));
  assert.deepEqual(client.chainNames, ["one"]);
  await waitConnected(client, "one", 1);
  await dropFile(b.inDir, "r.dat", "r");
  await waitFor(() => received.length === 1, "reception after reload");
  assert.equal(received[0]!.chain, "one");
});

test("client/client - with a login, no password reaches a publication or a log record", async (t) => {
  const srv = await testServer(t, "/t");
  const out = await outDir(t);
  const { log, records } = captureLogger();
  const ini = clientIni(
    "ref",
    [`127.0.0.1:${srv.publishPort}`],
    "/t",
    out,
    "login = user:secret\n",
  );
  const { client, received } = await startClient(t, ini, {
    log,
    hostname: "vm",
    heartbeatInterval: 0.1,
  });
  const pub = await subscribe(t, client.publishPort("ref")!);
  await waitConnected(client, "ref", 1);
  await dropFile(srv.inDir, "l.dat", "l");
  await waitFor(
    () =>
      received.length === 1 && pub.filter((m) => m.type !== "beat").length >= 3,
    "reception",
  );
  assert.equal(
    pub.find((m) => m.type === "push")!.dataObject["destination"],
    `file://vm${out}`,
  );
  assert.doesNotMatch(pub.map((m) => m.encode()).join("\n"), /secret/);
  assert.ok(records.some((r) => r.msg === "push completed"));
  assert.doesNotMatch(JSON.stringify(records), /secret/);
});

test("client/client - close is idempotent, closed resolves, nothing starts afterwards", async (t) => {
  const { client } = await startClient(
    t,
    clientIni("ref", ["127.0.0.1:1"], "/t", "/tmp/never/"),
  );
  const first = client.close();
  assert.equal(client.close(), first);
  await first;
  assert.equal(await client.closed, undefined);
  assert.deepEqual(client.chainNames, []);
  await assert.rejects(client.start(), { name: "ClosedError" });
});
