import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { copyFile, readFile, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { test, type TestContext } from "node:test";
import { Coordinator } from "../../../src/client/coordinator.js";
import { Delivery } from "../../../src/client/delivery.js";
import type { Stamp } from "../../../src/client/messages.js";
import {
  loadConfig,
  type ClientChainConfig,
} from "../../../src/config/index.js";
import { nullLogger } from "../../../src/log.js";
import { Message } from "../../../src/message/index.js";
import {
  FakeRequester,
  flush,
  serverReply,
  type Call,
} from "../../helpers/client-fakes.js";
import { capture } from "../../helpers/fixtures.js";
import { tempDir } from "../../helpers/tmp.js";
import { waitFor } from "../../helpers/wait.js";

function chainConfig(
  extra: string,
  destination = "file:///data/e2e/out/",
): ClientChainConfig {
  const ini = `[ref]\nproviders = 127.0.0.1:9010\ndestination = ${destination}\ntopic = /ref/test\nnameservers = false\n${extra}`;
  return loadConfig(ini, "client").chains[0]!;
}

/** A clock handing out the header times of `frames`, in order. */
function clockOf(frames: string[]): Stamp {
  const stamps = frames
    .map((f) => Message.decode(f))
    .map((m) => ({ sender: m.sender, time: m.time }));
  return () => stamps.shift() ?? { sender: "root@vm" };
}

function setup(
  t: TestContext,
  cfg: ClientChainConfig,
  requester: FakeRequester,
  stamp: Stamp,
) {
  const published: Message[] = [];
  const received: Message[] = [];
  const delivery = new Delivery({
    config: () => cfg,
    hostname: "vm",
    publish: async (m) => void published.push(m),
    stamp,
    log: nullLogger,
    onReceived: (m) => received.push(m),
  });
  const coordinator = new Coordinator({
    requester,
    hooks: delivery,
    log: nullLogger,
    stamp,
    reqTimeoutMs: 1000,
    transferReqTimeoutMs: 10_000,
    maxConcurrent: 4,
    drainMs: 0,
  });
  t.after(() => coordinator.destroy());
  return { coordinator, published, received, delivery };
}

test("client/delivery - one reception publishes B2, B3, B4 and requests C1, exactly", async (t) => {
  const requester = new FakeRequester();
  const [b2, b3, b4, c1] = [
    capture("B2")[0]!,
    capture("B3")[0]!,
    capture("B4")[0]!,
    capture("C1")[0]!,
  ];
  const { coordinator, published, received } = setup(
    t,
    chainConfig("create_target_directory = false"),
    requester,
    clockOf([b2, b3, b4]),
  );
  coordinator.handle(Message.decode(capture("A2")[0]!), "127.0.0.1:9010");
  await flush();
  assert.equal(requester.calls[0]!.frame, c1);
  assert.deepEqual(
    published.map((m) => m.encode()),
    [b2, b3, b4],
  );
  assert.equal(received[0]!.encode(), b4);
});

test("client/delivery - with login the request carries it (C2), nothing published does", async (t) => {
  const requester = new FakeRequester();
  const [c2] = capture("C2");
  const dup = new Message("/ref/test", "file", {
    sensor: "dummy",
    variant: "ref",
    name: "dup",
    uri: "/data/e2e/in/dup.dat",
    uid: "dup.dat",
    request_address: "127.0.0.1:9201",
  });
  const cfg = chainConfig(
    "login = user:secret\ncreate_target_directory = false",
    "file:///data/e2e/out_l/",
  );
  const { coordinator, published } = setup(t, cfg, requester, clockOf([c2!]));
  coordinator.handle(dup, "127.0.0.1:9010");
  await flush();
  assert.equal(requester.calls[0]!.frame, c2);
  assert.equal(published.length, 3);
  assert.doesNotMatch(published.map((m) => m.encode()).join("\n"), /secret/);
});

test("client/delivery - the second provider is acked with its own announcement (A4 → C5), a re-announcement too (C4)", async (t) => {
  const requester = new FakeRequester();
  const [c2, c5, c4] = [
    capture("C2")[0]!,
    capture("C5")[0]!,
    capture("C4")[0]!,
  ];
  const a2 = Message.decode(capture("A2")[0]!);
  const first = new Message("/ref/test", "file", {
    sensor: "dummy",
    variant: "ref",
    name: "dup",
    uri: "/data/e2e/in/dup.dat",
    uid: "dup.dat",
    request_address: "127.0.0.1:9201",
  });
  // Stamps in order: push, public ack, ack to the second provider, file, then the ack of A2's re-announcement.
  const stamp = clockOf([c2, c2, c5, c2, c2, c2, c2, c4]);
  const cfg = chainConfig(
    "login = user:secret\ncreate_target_directory = false",
    "file:///data/e2e/out_l/",
  );
  const { coordinator } = setup(t, cfg, requester, stamp);
  coordinator.handle(first, "127.0.0.1:9010");
  coordinator.handle(Message.decode(capture("A4")[0]!), "127.0.0.1:9011");
  assert.equal(
    (
      await waitFor(
        () => requester.of("ack", "127.0.0.1:9211")[0],
        "the ack to the second provider",
      )
    ).frame,
    c5,
  );
  coordinator.handle(a2, "127.0.0.1:9010");
  await flush();
  coordinator.handle(a2, "127.0.0.1:9010");
  assert.equal(
    (
      await waitFor(
        () => requester.of("ack", "127.0.0.1:9201")[0],
        "the ack of the re-announcement",
      )
    ).frame,
    c4,
  );
});

/** A fake server that "delivers" by copying the announced file into the destination dir. */
function copyingServer(from: string): FakeRequester {
  return new FakeRequester(async (call: Call) => {
    if (call.msg.type === "push") {
      const dest = String(call.msg.dataObject["destination"]).replace(
        /^file:\/\/[^/]*/,
        "",
      );
      const uri = String(call.msg.dataObject["uri"]);
      await copyFile(join(from, basename(uri)), join(dest, basename(uri)));
    }
    return serverReply(call);
  });
}

test("client/delivery - a matching checksum passes; a wrong one deletes the file and fails over", async (t) => {
  const src = await tempDir(t);
  const out = await tempDir(t);
  await writeFile(join(src, "a.dat"), "hello");
  const good = `sha256:${createHash("sha256").update("hello").digest("hex")}`;
  const bad = `sha256:${"0".repeat(64)}`;
  const requester = copyingServer(src);
  const { coordinator, delivery, published } = setup(
    t,
    chainConfig("", `file://${out}/sub/`),
    requester,
    () => ({}),
  );
  const ann = (address: string, checksum: string) =>
    new Message("/ref/test", "file", {
      uri: join(src, "a.dat"),
      uid: "a.dat",
      checksum,
      request_address: address,
    });
  coordinator.handle(ann("h1:1", bad), "p1");
  coordinator.handle(ann("h2:2", good), "p2");
  await waitFor(
    () => published.some((m) => m.type === "file"),
    "the file message",
  );
  assert.deepEqual(
    requester.of("push").map((c) => c.address),
    ["h1:1", "h2:2"],
  );
  assert.equal(delivery.stats.checksumMismatches, 1);
  assert.equal(delivery.stats.checksumsVerified, 1);
  assert.equal(await readFile(join(out, "sub", "a.dat"), "utf8"), "hello");
  assert.equal(published.at(-1)!.dataObject["uri"], join(out, "sub", "a.dat"));
});

test("client/delivery - bzip compression: the republished message names the unpacked file; metadata rewritten", async (t) => {
  const src = await tempDir(t);
  const out = await tempDir(t);
  await writeFile(join(src, "b.dat"), "payload");
  execFileSync("bzip2", [join(src, "b.dat")]);
  const requester = copyingServer(src);
  const cfg = chainConfig(
    "compression = bzip\ndelete = true\nplatform_name = NOAA-20:noaa20",
    `${out}/`,
  );
  const { coordinator, received } = setup(t, cfg, requester, () => ({}));
  const ann = new Message("/ref/test", "file", {
    platform_name: "NOAA-20",
    uri: join(src, "b.dat.bz2"),
    uid: "b.dat.bz2",
    request_address: "h1:1",
  });
  coordinator.handle(ann, "p1");
  await waitFor(() => received.length > 0, "the received message");
  const msg = received[0]!;
  assert.equal(msg.type, "file");
  assert.deepEqual(msg.dataObject, {
    platform_name: "noaa20",
    uri: join(out, "b.dat"),
    uid: "b.dat",
    origin: "h1:1",
  });
  assert.equal(await readFile(join(out, "b.dat"), "utf8"), "payload");
  await assert.rejects(readFile(join(out, "b.dat.bz2")), { code: "ENOENT" });
});

test("client/delivery - {field} patterns in the destination come from the announcement", async (t) => {
  const out = await tempDir(t);
  const requester = new FakeRequester();
  const { coordinator, published } = setup(
    t,
    chainConfig("", `file://${out}/{platform_name}/`),
    requester,
    () => ({}),
  );
  coordinator.handle(
    new Message("/ref/test", "file", {
      platform_name: "metop-b",
      uri: "/in/x",
      uid: "x",
      request_address: "h:1",
    }),
    "p1",
  );
  await waitFor(
    () => published.some((m) => m.type === "file"),
    "the file message",
  );
  assert.equal(
    requester.of("push")[0]!.msg.dataObject["destination"],
    `file://vm${out}/metop-b/`,
  );
  assert.equal(published.at(-1)!.dataObject["uri"], `${out}/metop-b/x`);
});
