import assert from "node:assert/strict";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { Message } from "../../../src/message/index.js";
import { MoverRegistry } from "../../../src/movers/registry.js";
import { FileMover } from "../../../src/movers/file.js";
import { startServer } from "../../helpers/server.js";
import { SlowMover } from "../../helpers/slow-mover.js";
import { tempDir } from "../../helpers/tmp.js";
import { waitFor } from "../../helpers/wait.js";
import { request, subscribe } from "../../helpers/zmq.js";

async function setup(t: TestContext) {
  const dir = await tempDir(t);
  const inDir = join(dir, "in");
  await mkdir(inDir);
  const slow = new SlowMover();
  const movers = new MoverRegistry([new FileMover(), slow]);
  const ini = `[c]\norigin = ${inDir}/{name}.dat\ntopic = /c\nrequest_port = 0\nrequest_address = 127.0.0.1\n`;
  const srv = await startServer(t, ini, { movers });
  const path = join(inDir, "big.dat");
  await writeFile(join(dir, "x"), "content");
  await rename(join(dir, "x"), path);
  return { dir, inDir, slow, srv, path };
}

test("server/concurrency - a slow push never stalls other requests or announcements", async (t) => {
  const { dir, inDir, slow, srv, path } = await setup(t);
  const got = await subscribe(t, srv.publishPort);
  const pending = request(
    srv.requestPort(),
    new Message("/c", "push", {
      uri: path,
      uid: "big.dat",
      destination: `slow://h${dir}/out/`,
    }),
    20_000,
  );
  await waitFor(() => slow.calls === 1, "slow push started");
  const pong = await request(
    srv.requestPort(),
    new Message("/c", "ping"),
    2000,
  );
  assert.equal(pong.type, "pong");
  await writeFile(join(dir, "y"), "y");
  await rename(join(dir, "y"), join(inDir, "other.dat"));
  await waitFor(
    () =>
      got.some((m) => m.type === "file" && m.dataObject["uid"] === "other.dat"),
    "announcement during the push",
  );
  const fast = await request(
    srv.requestPort(),
    new Message("/c", "push", {
      uri: join(inDir, "other.dat"),
      uid: "other.dat",
      destination: `${dir}/fast/`,
    }),
    2000,
  );
  assert.equal(fast.type, "file");
  slow.release();
  assert.equal((await pending).type, "file");
});

test("server/concurrency - identical pushes in flight join one transfer, both answered", async (t) => {
  const { dir, slow, srv, path } = await setup(t);
  const push = (): Promise<Message> =>
    request(
      srv.requestPort(),
      new Message("/c", "push", {
        uri: path,
        uid: "big.dat",
        destination: `slow://h${dir}/out/`,
      }),
      20_000,
    );
  const first = push();
  await waitFor(() => slow.calls === 1, "first push started");
  const second = push();
  await waitFor(
    () => srv.server.stats()["c"]?.pushesJoined === 1,
    "second push joined the first",
  );
  slow.release();
  const [a, b] = await Promise.all([first, second]);
  assert.equal(a.type, "file");
  assert.equal(b.type, "file");
  assert.equal(slow.calls, 1, "one transfer for two identical requests");
  assert.equal(await readFile(join(dir, "out", "big.dat"), "utf8"), "content");
  assert.equal(srv.server.stats()["c"]?.pushesJoined, 1);
});
