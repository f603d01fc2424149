import assert from "node:assert/strict";
import { mkdir, rename, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import * as zmq from "zeromq";
import { Message } from "../../src/message/index.js";
import { DateTime } from "../../src/util/datetime.js";
import { serverProc } from "../helpers/server-proc.js";
import { tempDir } from "../helpers/tmp.js";
import { probeUntil } from "../helpers/lab.js";
import { delay, waitFor } from "../helpers/wait.js";
import { request } from "../helpers/zmq.js";

const run = promisify(execFile);

/** Raw frames the publisher sends, as bytes on the wire. */
function rawFrames(t: TestContext, port: number, prefix: string): string[] {
  const sock = new zmq.Subscriber({ linger: 0 });
  sock.connect(`tcp://127.0.0.1:${port}`);
  sock.subscribe(prefix);
  const got: string[] = [];
  void (async () => {
    try {
      for await (const [frame] of sock)
        if (frame !== undefined) got.push(frame.toString("utf8"));
    } catch {
      // closed
    }
  })();
  t.after(() => sock.close());
  return got;
}

interface Page {
  messages: string[];
  next: number | null;
}

async function catchupAll(
  port: number,
  data: Record<string, unknown>,
): Promise<{ messages: string[]; pages: number }> {
  const messages: string[] = [];
  let after: number | null = null;
  let pages = 0;
  do {
    const reply = await request(
      port,
      new Message("/cu/hrit", "catchup", {
        ...data,
        ...(after === null ? {} : { after }),
      }),
    );
    assert.equal(reply.type, "catchup", `reply ${reply.encode()}`);
    const page = reply.data as unknown as Page;
    messages.push(...page.messages);
    after = page.next;
    pages++;
  } while (after !== null);
  return { messages, pages };
}

async function drop(
  dir: string,
  origin: string,
  name: string,
  body: string,
): Promise<void> {
  const tmp = join(dir, `.${name}`);
  await writeFile(tmp, body);
  await rename(tmp, join(origin, name));
}

test("e2e/server-catchup - answers from the ledger, in pages, the frames as published, servable files only, across kill -9", async (t) => {
  const dir = await tempDir(t);
  const origin = join(dir, "in");
  await mkdir(origin);
  const srv = await serverProc(
    t,
    dir,
    [
      { name: "hrit", origin: `${origin}/{name}.dat`, topic: "/cu/hrit/0deg" },
      { name: "other", origin: `${dir}/other/{name}.dat`, topic: "/cu/other" },
    ],
    { args: ["--disable-backlog"] },
  );
  await mkdir(join(dir, "other"));
  await srv.start();
  const port = srv.ports["hrit"]!;
  const frames = rawFrames(t, srv.publishPort, "pytroll://cu/");
  await probeUntil(
    async (i) => (
      await drop(dir, join(dir, "other"), `probe${i}.dat`, "p"),
      `probe${i}.dat`
    ),
    () => frames.length > 0,
    200,
  );
  const before = DateTime.fromDate(new Date(Date.now() - 1000)).isoformat();
  const N = 300;
  for (let i = 0; i < N; i++)
    await drop(dir, origin, `f${String(i).padStart(3, "0")}.dat`, `body ${i}`);
  await waitFor(
    () =>
      frames.filter((f) => f.startsWith("pytroll://cu/hrit/0deg ")).length ===
      N,
    `${N} announcements`,
    60_000,
  );
  const published = frames.filter((f) =>
    f.startsWith("pytroll://cu/hrit/0deg "),
  );
  // Three files go away behind the server's back: they are no longer servable.
  const gone = ["f010.dat", "f150.dat", "f299.dat"];
  for (const g of gone) await unlink(join(origin, g));
  const expected = published.filter(
    (f) => !gone.some((g) => f.includes(`"uid": "${g}"`)),
  );

  const first = await catchupAll(port, {
    topic: "/cu/hrit",
    since: before,
    limit: 70,
  });
  assert.deepEqual(
    first.messages,
    expected,
    "catch-up returns the frames exactly as published, oldest first, gone files left out",
  );
  assert.ok(first.pages >= 5, `paged: ${first.pages} pages`);

  // Durable: a kill -9 and a restart answer the same.
  await srv.kill9();
  // Nothing of the killed server stays behind (its inotifywait dies with it).
  await waitFor(
    async () => !(await run("ps", ["-eo", "args"])).stdout.includes(origin),
    "no process left watching origin",
    10_000,
  );
  await srv.start(["--disable-backlog"]);
  const again = await catchupAll(port, { topic: "/cu/hrit", since: before });
  assert.deepEqual(again.messages, expected);

  // The other chain's files come on its topic; a topic below ours or elsewhere finds nothing.
  const other = await catchupAll(port, { topic: "/cu/other", since: before });
  assert.ok(
    other.messages.length >= 1 &&
      other.messages.every((m) => m.startsWith("pytroll://cu/other ")),
  );
  assert.deepEqual(
    (await catchupAll(port, { topic: "/cu/nothing", since: before })).messages,
    [],
  );
  // Subject as the topic when none is given; `since` after everything: nothing.
  const later = DateTime.fromDate(new Date(Date.now() + 60_000)).isoformat();
  assert.deepEqual((await catchupAll(port, { since: later })).messages, []);
  // limit is capped at 1000.
  const capped = await request(
    port,
    new Message("/cu", "catchup", { since: before, limit: 5000 }),
  );
  assert.ok((capped.data as unknown as Page).messages.length <= 1000);

  for (const [bad, text] of [
    [{ since: "yesterday" }, /since must be an ISO-8601/],
    [{}, /since must be an ISO-8601/],
    [{ since: before, limit: 0 }, /limit must be a positive integer/],
    [{ since: before, limit: "ten" }, /limit must be a positive integer/],
    [{ since: before, after: -4 }, /after must be/],
  ] as const) {
    const reply = await request(port, new Message("/cu/hrit", "catchup", bad));
    assert.equal(
      reply.type,
      "err",
      `malformed ${JSON.stringify(bad)} answered ${reply.type}`,
    );
    assert.match(String(reply.data), text);
  }
});

test("e2e/server-catchup - a file named in a catch-up reply is kept remove_delay longer", async (t) => {
  const dir = await tempDir(t);
  const origin = join(dir, "in");
  await mkdir(origin);
  const srv = await serverProc(
    t,
    dir,
    [
      {
        name: "d",
        origin: `${origin}/{name}.dat`,
        topic: "/cu/del",
        extra: "delete = True\nremove_delay = 6\n",
      },
    ],
    { args: ["--disable-backlog"] },
  );
  await srv.start();
  const port = srv.ports["d"]!;
  const since = DateTime.fromDate(new Date(Date.now() - 1000)).isoformat();
  await drop(dir, origin, "keep.dat", "k");
  await waitFor(
    async () =>
      (await srv.records()).some(
        (r) => r["msg"] === "announced" && r["uid"] === "keep.dat",
      ),
    "announced",
  );
  const path = join(origin, "keep.dat");
  const ack = await request(
    port,
    new Message("/cu/del", "ack", { uri: path, uid: "keep.dat" }),
  );
  assert.equal(ack.type, "ack");
  await delay(2000); // pacing: the catch-up comes while the acked file waits out its remove_delay, 2 s of 6
  const askedAt = Date.now();
  const page = (
    await request(port, new Message("/cu/del", "catchup", { since }))
  ).data as unknown as Page;
  assert.equal(page.messages.length, 1);
  const deleted = await waitFor(
    async () =>
      (await srv.records()).find(
        (r) => r["msg"] === "file deleted" && r["path"] === path,
      ),
    "deletion",
    20_000,
  );
  const at = Date.parse(String(deleted["time"]));
  assert.ok(
    at >= askedAt + 6000 - 50,
    `deleted ${at - askedAt} ms after the catch-up named it (remove_delay 6 s)`,
  );
  const after = (
    await request(port, new Message("/cu/del", "catchup", { since }))
  ).data as unknown as Page;
  assert.deepEqual(after.messages, [], "a deleted file is not offered");
});
