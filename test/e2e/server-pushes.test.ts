/**
 * `pushes` (docs/protocol.md): several pushes in one request, against a real
 * move_it_server process. Each item is served as the push it is and answered
 * in order; a file too long to be served inside a batch (or not announced
 * here) is `deferred` and not carried out; a malformed batch is refused
 * whole; every uid of a batch is running until the batch is answered. Then
 * the client's side, through the real commands: a burst goes in batches,
 * with long files among it, every file delivered once.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, readdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { Message, type JsonValue } from "../../src/message/index.js";
import { BATCH_QUICK_BYTES } from "../../src/server/handlers/pushes.js";
import { silentServer } from "../helpers/daemon.js";
import { assertExactlyOnce, runningFleet, sha256 } from "../helpers/fleet.js";
import { collectAnnounced } from "../helpers/lab.js";
import { logRecords } from "../helpers/procs.js";
import { serverProc } from "../helpers/server-proc.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";
import { request } from "../helpers/zmq.js";

const TOPIC = "/pushes/test";

interface Item {
  type: string;
  data: JsonValue;
}

test("e2e/server-pushes - each item served as its push, in order; long files deferred, bad batches refused, uids running until the reply", async (t) => {
  const dir = await tempDir(t);
  const origin = join(dir, "in");
  const out = join(dir, "out");
  await Promise.all([mkdir(origin), mkdir(out), mkdir(join(dir, "out2"))]);
  const srv = await serverProc(
    t,
    dir,
    [
      {
        name: "b",
        origin: `${origin}/{name}.dat`,
        topic: TOPIC,
        extra: "connection_parameters__connection_timeout = 60\n",
      },
    ],
    { args: ["--disable-backlog"] },
  );
  await srv.start();
  const port = srv.ports["b"]!;
  const pong = await request(port, new Message(TOPIC, "ping"));
  assert.equal(
    (pong.dataObject["move_it"] as Record<string, JsonValue>)["pushes"],
    32,
    "the pong says how many pushes a request may carry",
  );

  const announced = await collectAnnounced(t, srv.publishPort, [TOPIC], origin);
  const bodies = new Map<string, Buffer>();
  for (const [name, bytes] of [
    ["a", 1000],
    ["b", 2000],
    ["long", BATCH_QUICK_BYTES + 1],
    ["c", 3000],
  ] as const) {
    const body = randomBytes(bytes);
    bodies.set(`${name}.dat`, body);
    await writeFile(join(dir, `${name}.tmp`), body);
    await rename(join(dir, `${name}.tmp`), join(origin, `${name}.dat`));
  }
  await waitFor(
    () =>
      [...bodies.keys()].every((uid) =>
        announced.some((m) => m.dataObject["uid"] === uid),
      ),
    "every file announced",
  );
  const item = (uid: string, destination = `file://${out}/`) => ({
    uri: join(origin, uid),
    uid,
    destination,
  });
  const pushes = (items: JsonValue): Promise<Message> =>
    request(port, new Message(TOPIC, "pushes", { pushes: items }), 20_000);

  const reply = await pushes([
    item("a.dat"),
    item("b.dat"),
    item("long.dat"),
    { uri: "/etc/passwd", uid: "passwd", destination: `file://${out}/` },
    item("c.dat"),
    { uri: join(origin, "a.dat"), uid: "a.dat" },
  ]);
  assert.equal(reply.type, "pushes");
  const replies = reply.dataObject["replies"] as unknown as Item[];
  assert.deepEqual(
    replies.map((r) => r.type),
    ["file", "file", "deferred", "deferred", "file", "err"],
    JSON.stringify(replies),
  );
  assert.equal(
    (replies[0]!.data as Record<string, JsonValue>)["uid"],
    "a.dat",
    "each reply is the data of its own push",
  );
  assert.match(String(replies[5]!.data), /destination/);
  assert.deepEqual((await readdir(out)).sort(), ["a.dat", "b.dat", "c.dat"]);
  for (const name of ["a.dat", "b.dat", "c.dat"])
    assert.deepEqual(await readFile(join(out, name)), bodies.get(name));

  // A file not announced here is deferred too: alone, it is refused.
  const passwd = await request(
    port,
    new Message(TOPIC, "push", {
      uri: "/etc/passwd",
      uid: "passwd",
      destination: `file://${out}/`,
    }),
  );
  assert.equal(passwd.type, "err");
  // A long file is served by a push of its own.
  assert.equal(
    (await request(port, new Message(TOPIC, "push", item("long.dat")))).type,
    "file",
  );
  assert.deepEqual(
    await readFile(join(out, "long.dat")),
    bodies.get("long.dat"),
  );

  for (const [bad, why] of [
    ["nope", /non-empty list/],
    [[], /non-empty list/],
    [[item("a.dat"), 7], /item 1 is not an object/],
    [Array.from({ length: 33 }, () => item("a.dat")), /at most 32/],
  ] as const) {
    const refused = await pushes(bad as JsonValue);
    assert.equal(refused.type, "err", JSON.stringify(bad).slice(0, 80));
    assert.match(String(refused.data), why);
  }

  // While one push of a batch hangs (an FTP server that never greets), the finished one still counts as running.
  const silent = await silentServer();
  const held = pushes([
    item("a.dat", `ftp://u:p@127.0.0.1:${silent.port}/out/`),
    item("b.dat", `file://${join(dir, "out2")}/`),
  ]);
  const running = async (uid: string): Promise<unknown> =>
    (await request(port, new Message(TOPIC, "ping", { push_uid: uid })))
      .dataObject["push_running"];
  await waitFor(
    async () =>
      (await readdir(join(dir, "out2")).catch(() => [] as string[])).includes(
        "b.dat",
      ),
    "the quick item of the held batch delivered",
  );
  assert.equal(
    await running("b.dat"),
    true,
    "done, but its batch is not answered yet",
  );
  assert.equal(await running("a.dat"), true);
  await silent.close();
  const after = await held;
  assert.deepEqual(
    (after.dataObject["replies"] as unknown as Item[]).map((r) => r.type),
    ["err", "file"],
  );
  assert.equal(await running("b.dat"), false, "not running once answered");
});

test("e2e/server-pushes - a burst from move_it_client goes in batches, long files on their own; every file once, intact", async (t) => {
  const { fleet, counter } = await runningFleet(t);
  // Staged first and renamed in together: their announcements, and so their pushes, come close together.
  const names: string[] = [];
  for (let i = 0; i < 300; i++) {
    const name = `burst${String(i).padStart(3, "0")}.dat`;
    const bytes = i % 100 === 50 ? BATCH_QUICK_BYTES + 4096 : 2048;
    const body = randomBytes(bytes);
    await writeFile(join(fleet.stage, name), body);
    fleet.dropped.set(name, sha256(body));
    names.push(name);
  }
  for (const name of names)
    await rename(join(fleet.stage, name), join(fleet.inDir, name));
  await fleet.waitAllDelivered(120_000);
  await assertExactlyOnce(fleet, counter);

  const requests = (await logRecords(fleet.serverLog)).filter(
    (r) => r["msg"] === "request received",
  );
  const batches = requests.filter((r) => r["req"] === "pushes").length;
  const items = requests.filter((r) => r["batched"] === true).length;
  const alone = requests.filter(
    (r) => r["req"] === "push" && r["batched"] !== true,
  ).length;
  assert.ok(batches > 0, `no pushes request among ${requests.length}`);
  assert.ok(
    items >= 2 * batches,
    `${items} pushes in ${batches} batches: several in each`,
  );
  assert.ok(
    batches + alone < 300,
    `${batches} batches and ${alone} pushes alone for 300 files (and the probes)`,
  );
});
