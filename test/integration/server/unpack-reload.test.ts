import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { access, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { loadConfig } from "../../../src/config/index.js";
import { Message } from "../../../src/message/index.js";
import { fixturePath } from "../../helpers/fixtures.js";
import { startServer } from "../../helpers/server.js";
import { tempDir } from "../../helpers/tmp.js";
import { waitFor } from "../../helpers/wait.js";
import { request, subscribe } from "../../helpers/zmq.js";

const exists = (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );

test("server/unpack - bzip: announces the unpacked file, deletes the packed one with delete", async (t) => {
  const dir = await tempDir(t);
  const inDir = join(dir, "in");
  const work = join(dir, "work");
  await mkdir(inDir);
  const ini = `[b]\norigin = ${inDir}/{name}.dat.bz2\ntopic = /b\nrequest_port = 0\nrequest_address = 127.0.0.1\ncompression = bzip\nworking_directory = ${work}\ndelete = true\nremove_delay = 0.2\n`;
  const srv = await startServer(t, ini);
  const got = await subscribe(t, srv.publishPort);
  await writeFile(join(dir, "seg.dat"), "decompressed bytes\n".repeat(1000));
  execFileSync("bzip2", [join(dir, "seg.dat")]);
  await rename(join(dir, "seg.dat.bz2"), join(inDir, "seg.dat.bz2"));
  const msg = await waitFor(
    () => got.find((m) => m.type === "file"),
    "announcement",
  );
  assert.equal(msg.dataObject["uri"], join(work, "seg.dat"));
  assert.equal(msg.dataObject["uid"], "seg.dat");
  assert.equal(msg.dataObject["name"], "seg");
  assert.equal(
    await readFile(join(work, "seg.dat"), "utf8"),
    "decompressed bytes\n".repeat(1000),
  );
  assert.equal(
    await exists(join(inDir, "seg.dat.bz2")),
    false,
    "packed original kept",
  );
  const out = join(dir, "out");
  const reply = await request(
    srv.requestPort(),
    new Message("/b", "push", {
      uri: join(work, "seg.dat"),
      uid: "seg.dat",
      destination: `${out}/`,
    }),
  );
  assert.equal(reply.type, "file");
  assert.equal(await exists(join(out, "seg.dat")), true);
  await waitFor(
    async () => !(await exists(join(work, "seg.dat"))),
    "served file deleted after remove_delay",
  );
});

test("server/unpack - xrit: runs prog in working_directory, C_ becomes __", async (t) => {
  const dir = await tempDir(t);
  const inDir = join(dir, "in");
  const work = join(dir, "work");
  await mkdir(inDir);
  const pattern =
    "H-000-{series:_<6s}-{platform_name:_<5s}_______-{channel:_<9s}-{segment:_<9s}-{nominal_time:%Y%m%d%H%M}-{compressed:_<2s}";
  const ini = `[hrit]\norigin = ${inDir}/${pattern}\ntopic = /hrit\nrequest_port = 0\nrequest_address = 127.0.0.1\ncompression = xrit\nprog = ${fixturePath("bin/xRITDecompress")}\nworking_directory = ${work}\n`;
  const srv = await startServer(t, ini);
  const got = await subscribe(t, srv.publishPort);
  const name = "H-000-MSG4__-MSG4________-IR_108___-000001___-202411221200-C_";
  await writeFile(join(dir, "seg"), "HEADER\nimage data\n");
  await rename(join(dir, "seg"), join(inDir, name));
  const msg = await waitFor(
    () => got.find((m) => m.type === "file"),
    "announcement",
  );
  const outName =
    "H-000-MSG4__-MSG4________-IR_108___-000001___-202411221200-__";
  assert.equal(msg.dataObject["uri"], join(work, outName));
  assert.equal(msg.dataObject["uid"], outName);
  assert.equal(
    msg.dataObject["compressed"],
    "C",
    "fields come from the packed original's name",
  );
  assert.equal(msg.dataObject["channel"], "IR_108");
  assert.equal(msg.version, "v1.2");
  assert.equal(await readFile(join(work, outName), "utf8"), "image data\n");
  assert.equal(
    await exists(join(inDir, name)),
    true,
    "without delete the original stays",
  );
});

test("server/reload - unchanged chains keep running, changed ones are re-created, removed ones stop", async (t) => {
  const dir = await tempDir(t);
  // request_port = 0: each (re-)created chain binds a free port, read back from the server.
  const sec = (n: string, extra = ""): string =>
    `[${n}]\norigin = ${dir}/${n}/{name}.dat\ntopic = /${n}\nrequest_port = 0\nrequest_address = 127.0.0.1\n${extra}`;
  const srv = await startServer(t, sec("a") + sec("b", "station = one\n"));
  const before = srv.server.stats()["a"];
  const pa = srv.server.requestPort("a");
  await srv.server.reload(
    loadConfig(sec("a") + sec("b", "station = two\n") + sec("c"), "server"),
  );
  assert.equal(
    srv.server.stats()["a"],
    before,
    "unchanged chain was re-created",
  );
  assert.equal(srv.server.requestPort("a"), pa, "unchanged chain rebound");
  const pb = srv.server.requestPort("b");
  const pong = await request(pb, new Message("/b", "ping"));
  assert.equal(pong.dataObject["station"], "two");
  assert.equal(
    (await request(srv.server.requestPort("c"), new Message("/c", "ping")))
      .type,
    "pong",
  );
  await srv.server.reload(loadConfig(sec("a"), "server"));
  await assert.rejects(request(pb, new Message("/b", "ping"), 500));
  assert.equal((await request(pa, new Message("/a", "ping"))).type, "pong");
});

test("server/reload - a reload after close is refused and starts nothing", async (t) => {
  const dir = await tempDir(t);
  const ini = `[a]\norigin = ${dir}/{name}.dat\ntopic = /a\nrequest_port = 0\nrequest_address = 127.0.0.1\n`;
  const srv = await startServer(t, ini);
  await srv.server.close();
  await assert.rejects(srv.server.reload(loadConfig(ini, "server")), /closed/);
  assert.deepEqual(srv.server.stats(), {});
});
