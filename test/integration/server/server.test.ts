import assert from "node:assert/strict";
import {
  link,
  mkdir,
  open,
  readFile,
  rename,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { Message } from "../../../src/message/index.js";
import { DateTime } from "../../../src/util/datetime.js";
import { capture } from "../../helpers/fixtures.js";
import { startServer } from "../../helpers/server.js";
import { tempDir } from "../../helpers/tmp.js";
import { delay, waitFor } from "../../helpers/wait.js";
import { rawRequest, request, subscribe } from "../../helpers/zmq.js";

async function setup(t: TestContext, extra = "") {
  const dir = await tempDir(t);
  const inDir = join(dir, "in");
  const outDir = join(dir, "out");
  await mkdir(inDir);
  const ini = `[ref]\norigin = ${inDir}/{name}.dat\ntopic = /ref/test\nrequest_port = 0\nrequest_address = 127.0.0.1\ninfo = sensor=dummy;variant=ref\n${extra}`;
  return { dir, inDir, outDir, ini };
}

/** Write a file elsewhere and move it into place, as ground-station software does. */
async function drop(
  dir: string,
  inDir: string,
  name: string,
  body: string,
): Promise<string> {
  const tmp = join(dir, `${name}.tmp`);
  await writeFile(tmp, body);
  const final = join(inDir, name);
  await rename(tmp, final);
  return final;
}

const T0 = new DateTime({
  year: 2026,
  month: 11,
  day: 22,
  hour: 3,
  minute: 18,
  second: 7,
  microsecond: 285445,
});

function pushFor(data: Record<string, unknown>, type = "push"): Message {
  return new Message("/ref/test", type, data as never, {
    sender: "root@vm",
    time: T0,
  });
}

test("server - announces a file moved into place exactly as the reference (A2)", async (t) => {
  const s = await setup(t);
  const srv = await startServer(t, s.ini);
  const got = await subscribe(t, srv.publishPort, ["/ref/test"]);
  const path = await drop(s.dir, s.inDir, "test2.dat", "hello");
  const msg = await waitFor(
    () => got.find((m) => m.type === "file"),
    "announcement",
  );
  assert.equal(msg.subject, "/ref/test");
  const expected = Message.decode(capture("A2")[0]!).dataObject;
  assert.deepEqual(Object.keys(msg.dataObject), Object.keys(expected));
  assert.deepEqual(msg.dataObject, {
    ...expected,
    uri: path,
    request_address: `127.0.0.1:${srv.requestPort()}`,
  });
  assert.equal(msg.version, "v1.01");
});

test("server - a datetime field makes a v1.2 announcement with a naive data datetime (A3)", async (t) => {
  const s = await setup(t);
  const ini = `[ref_dt]\norigin = ${s.inDir}/{platform_name}_{start_time:%Y%m%dT%H%M%S}.bin\ntopic = /ref/dt\nrequest_port = 0\nrequest_address = 127.0.0.1\nstation = refstation\n`;
  const srv = await startServer(t, ini);
  const port = srv.requestPort();
  const got = await subscribe(t, srv.publishPort);
  await drop(s.dir, s.inDir, "NOAA-20_20240102T030405.bin", "x");
  const msg = await waitFor(
    () => got.find((m) => m.type === "file"),
    "announcement",
  );
  const line = msg.encode();
  const ref = capture("A3")[0]!;
  assert.equal(
    line
      .slice(line.indexOf(" v1.2 "))
      .replace(s.inDir, "/data/e2e/in")
      .replace(s.inDir, "/data/e2e/in")
      .replace(String(port), "9202"),
    ref.slice(ref.indexOf(" v1.2 ")),
  );
  assert.match(line, /\+00:00 v1\.2 /);
});

test("server - backlog announces files present at start; empty files never", async (t) => {
  const s = await setup(t);
  await writeFile(join(s.inDir, "old.dat"), "old");
  await writeFile(join(s.inDir, "empty.dat"), "");
  const srv = await startServer(t, s.ini, { disableBacklog: false });
  // The backlog is announced during start, before a subscriber can connect: ask info instead.
  await waitFor(async () => {
    const r = await request(
      srv.requestPort(),
      new Message("/ref/test", "info", { max_count: 10 }),
    );
    return (r.dataObject["files"] as string[]).length > 0 ? r : undefined;
  }, "backlog in info");
  // A file arriving after start is announced after the backlog: once it is listed, an empty file would be too.
  await drop(s.dir, s.inDir, "later.dat", "later");
  const info = await waitFor(async () => {
    const r = await request(
      srv.requestPort(),
      new Message("/ref/test", "info", { max_count: 10 }),
    );
    return (r.dataObject["files"] as string[]).includes("/ref/test/later.dat")
      ? r
      : undefined;
  }, "a later file in info");
  assert.deepEqual(info.dataObject["files"], [
    "/ref/test/later.dat",
    "/ref/test/old.dat",
  ]);
});

test("server - --disable-backlog skips files present at start", async (t) => {
  const s = await setup(t);
  await writeFile(join(s.inDir, "old.dat"), "old");
  const srv = await startServer(t, s.ini, { disableBacklog: true });
  const info = await request(
    srv.requestPort(),
    new Message("/ref/test", "info", { max_count: 10 }),
  );
  assert.deepEqual(info.dataObject["files"], []);
});

test("server - a file still growing is not announced until it is complete", async (t) => {
  const s = await setup(t);
  // settleMs 1000: written every 100 ms (below), the file is still growing without inotify too.
  const srv = await startServer(t, s.ini, { settleMs: 1000 });
  const got = await subscribe(t, srv.publishPort);
  const announced = (): unknown[] =>
    got.filter((m) => m.type === "file").map((m) => m.dataObject["uid"]);
  const path = join(s.inDir, "slow.dat");
  const fh = await open(path, "w");
  await fh.write("a");
  let writes = 0;
  for (; writes < 8 || !announced().includes("mid.dat"); writes++) {
    await delay(100); // pacing: the file grows while the server watches
    await fh.write("more data");
    if (writes === 2)
      await drop(s.dir, s.inDir, "mid.dat", "moved in while slow.dat grows");
    if (writes > 600) assert.fail("mid.dat never announced");
  }
  // Checked once a file moved in while it grows was announced.
  assert.deepEqual(
    announced(),
    ["mid.dat"],
    "announced while still being written",
  );
  await fh.close();
  const msg = await waitFor(
    () =>
      got.find((m) => m.type === "file" && m.dataObject["uid"] === "slow.dat"),
    "announcement",
  );
  assert.equal(msg.dataObject["uri"], path);
  assert.equal((await stat(path)).size, 1 + writes * 9);
  assert.deepEqual(announced(), ["mid.dat", "slow.dat"]);
});

test("server - push delivers the file and replies like C1/C2, credentials stripped", async (t) => {
  const s = await setup(t);
  const srv = await startServer(t, s.ini);
  const path = await drop(s.dir, s.inDir, "dup.dat", "payload");
  const data = {
    sensor: "dummy",
    variant: "ref",
    name: "dup",
    uri: path,
    uid: "dup.dat",
    request_address: `127.0.0.1:${srv.requestPort()}`,
    destination: `file://user:secret@vm${s.outDir}/`,
  };
  const reply = await request(srv.requestPort(), pushFor(data));
  assert.equal(reply.type, "file");
  assert.deepEqual(reply.dataObject, {
    ...data,
    destination: `file://vm${s.outDir}/`,
  });
  assert.equal(await readFile(join(s.outDir, "dup.dat"), "utf8"), "payload");
  assert.ok(!reply.encode().includes("secret"));
});

test("server - ping, info, unknown and ack reply as C6, C7, C11, C12", async (t) => {
  const s = await setup(t, "station = refstation\n");
  const srv = await startServer(t, s.ini);
  const pong = await request(
    srv.requestPort(),
    new Message("/ref/test", "ping"),
  );
  assert.equal(pong.type, "pong");
  // The reference's key first and unchanged; move_it's own keys follow (docs/protocol.md).
  assert.match(
    pong.encode(),
    / v1\.01 application\/json \{"station": "refstation", "move_it": \{"instance": "[0-9a-f]{16}", "catchup": true, "max_concurrent_pushes": 32, "pushes": 32\}\}$/,
  );
  await drop(s.dir, s.inDir, "test2.dat", "a");
  await waitFor(async () => {
    const r = await request(
      srv.requestPort(),
      new Message("/ref/test", "info", { max_count: 10 }),
    );
    return (r.dataObject["files"] as string[]).length === 1;
  }, "first file in info");
  await drop(s.dir, s.inDir, "test3.dat", "b");
  const info = await waitFor(async () => {
    const r = await request(
      srv.requestPort(),
      new Message("/ref/test", "info", { max_count: 10 }),
    );
    return (r.dataObject["files"] as string[]).length === 2 ? r : undefined;
  }, "two files in info");
  assert.match(
    info.encode(),
    /\{"files": \["\/ref\/test\/test3\.dat", "\/ref\/test\/test2\.dat"\], "max_count": 10, "uptime": "0:00:\d\d(\.\d{6})?"\}$/,
  );
  const unknown = await rawRequest(
    srv.requestPort(),
    "pytroll://ref/test frobnicate probe@vm 2026-11-22T03:18:29.829955 v1.01",
  );
  assert.match(unknown, /^pytroll:\/\/ref\/test unknown \S+ \S+ v1\.01$/);
  const ack = await request(
    srv.requestPort(),
    pushFor(
      {
        uri: join(s.inDir, "test3.dat"),
        uid: "test3.dat",
        destination: "file://user:secret@vm/data/e2e/out/",
      },
      "ack",
    ),
  );
  assert.equal(ack.type, "ack");
  assert.match(
    ack.encode(),
    /application\/json \{"uri": "[^"]+test3\.dat", "uid": "test3\.dat", "destination": "file:\/\/vm\/data\/e2e\/out\/"\}$/,
  );

  // An ack for a file outside origin is refused, as the reference does (item 6 of issue 11).
  const outside = await request(
    srv.requestPort(),
    pushFor({ uri: "/etc/passwd", uid: "passwd" }, "ack"),
  );
  assert.equal(outside.type, "err");
  assert.equal(outside.data, "/etc/passwd not reachable");
  // One for a file of ours already gone is still acknowledged.
  const gone = await request(
    srv.requestPort(),
    pushFor({ uri: join(s.inDir, "gone.dat"), uid: "gone.dat" }, "ack"),
  );
  assert.equal(gone.type, "ack");
});

test("server - a frame that is not a message gets an error reply (C13, better than the reference)", async (t) => {
  const s = await setup(t);
  const srv = await startServer(t, s.ini);
  const reply = Message.decode(await rawRequest(srv.requestPort(), "hello"));
  assert.equal(reply.type, "error");
  assert.match(String(reply.data), /magic/);
  // and the server still answers afterwards
  assert.equal(
    (await request(srv.requestPort(), new Message("/ref/test", "ping"))).type,
    "pong",
  );
});

test("server - refuses what it did not announce, with the reference's texts (C8, C9, C10)", async (t) => {
  const s = await setup(t);
  const srv = await startServer(t, s.ini);
  const dest = `file://vm${s.outDir}/`;
  const c8 = await request(
    srv.requestPort(),
    pushFor({ uri: "/etc/passwd", uid: "passwd", destination: dest }),
  );
  assert.equal(c8.type, "err");
  assert.equal(c8.data, "/etc/passwd not reachable");
  const missing = join(s.inDir, "nothere.dat");
  const c9 = await request(
    srv.requestPort(),
    pushFor({ uri: missing, uid: "nothere.dat", destination: dest }),
  );
  assert.equal(c9.data, `[Errno 2] No such file or directory: '${missing}'`);
  const ok = await drop(s.dir, s.inDir, "test3.dat", "x");
  const c10 = await request(
    srv.requestPort(),
    pushFor({ uri: ok, uid: "test3.dat", destination: "gopher://vm/tmp/" }),
  );
  assert.equal(c10.type, "err");
  assert.equal(c10.data, "'gopher'");
});

test("server - '..' and links escaping the watched tree get err", async (t) => {
  const s = await setup(t);
  const secret = join(s.dir, "secret.dat");
  await writeFile(secret, "secret");
  await symlink(secret, join(s.inDir, "link.dat"));
  const srv = await startServer(t, s.ini);
  const dest = `file://vm${s.outDir}/`;
  for (const uri of [
    `${s.inDir}/../secret.dat`,
    join(s.inDir, "link.dat"),
    "relative.dat",
    `file://vm${s.inDir}/../secret.dat`,
  ]) {
    const r = await request(
      srv.requestPort(),
      pushFor({ uri, uid: "x", destination: dest }),
    );
    assert.equal(r.type, "err", uri);
    assert.match(String(r.data), /not reachable/);
  }
  await assert.rejects(stat(join(s.outDir, "secret.dat")));
  await assert.rejects(stat(join(s.outDir, "link.dat")));
});

test("server - a hard link is made when source and destination share a filesystem", async (t) => {
  const s = await setup(t);
  const srv = await startServer(t, s.ini);
  const path = await drop(s.dir, s.inDir, "linked.dat", "x");
  await request(
    srv.requestPort(),
    pushFor({
      uri: path,
      uid: "linked.dat",
      destination: `${s.outDir}/sub/dir/`,
    }),
  );
  const [a, b] = await Promise.all([
    stat(path),
    stat(join(s.outDir, "sub/dir/linked.dat")),
  ]);
  assert.equal(a.ino, b.ino);
  void link;
});

test("server - a file is announced once, and again only when replaced by new content (C4)", async (t) => {
  const s = await setup(t);
  const srv = await startServer(t, s.ini);
  const got = await subscribe(t, srv.publishPort);
  const files = (uid: string): number =>
    got.filter((m) => m.type === "file" && m.dataObject["uid"] === uid).length;
  await drop(s.dir, s.inDir, "once.dat", "first");
  await waitFor(() => files("once.dat") === 1, "announcement");
  // A second announcement would come before that of a file dropped later.
  await drop(s.dir, s.inDir, "later.dat", "later");
  await waitFor(() => files("later.dat") === 1, "later announcement");
  assert.equal(files("once.dat"), 1, "announced twice");
  await drop(s.dir, s.inDir, "once.dat", "second content");
  await waitFor(
    () => files("once.dat") === 2,
    "re-announcement of new content",
  );
});
