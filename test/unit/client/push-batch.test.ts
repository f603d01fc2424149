import assert from "node:assert/strict";
import { test } from "node:test";
import { PushBatcher } from "../../../src/client/push-batch.js";
import type { PushOptions } from "../../../src/client/push.js";
import { RequestTimeoutError } from "../../../src/errors.js";
import { nullLogger } from "../../../src/log.js";
import { Message, type JsonValue } from "../../../src/message/index.js";
import {
  FakeRequester,
  serverReply,
  type Call,
} from "../../helpers/client-fakes.js";

const A = "10.0.0.1:9201";
const B = "10.0.0.2:9201";

function options(requester: FakeRequester, uid: string): PushOptions {
  return {
    requester,
    reqTimeoutMs: 1000,
    transferReqTimeoutMs: 10_000,
    maxWaitMs: 60_000,
    stamp: () => ({ sender: "me@here" }),
    log: nullLogger,
    signal: new AbortController().signal,
    uid,
  };
}

function pushOf(uid: string): Message {
  return new Message("/t", "push", {
    uri: `/in/${uid}`,
    uid,
    destination: "file:///out/",
  });
}

/** What a move_it server answers to `pushes`: each item's own reply; `item` may answer one differently. */
function batchReply(
  item: (data: Record<string, JsonValue>) => JsonValue | undefined = () =>
    undefined,
) {
  return (call: Call): Message => {
    if (call.msg.type !== "pushes") return serverReply(call);
    const items = call.msg.dataObject["pushes"] as Record<string, JsonValue>[];
    return new Message("/t", "pushes", {
      replies: items.map(
        (data) => item(data) ?? { type: "file", data: { ...data } },
      ),
    });
  };
}

/** Push `uids` through `batcher` in one turn; the replies' uids (or the error texts), in order. */
async function pushAll(
  batcher: PushBatcher,
  requester: FakeRequester,
  uids: string[],
  address = A,
  group = () => "file://",
): Promise<string[]> {
  const replies = uids.map((uid) =>
    batcher.push(address, pushOf(uid), options(requester, uid), group()).then(
      (r) => `${r.type} ${String(r.dataObject["uid"] ?? "")}`,
      (err: Error) => `rejected ${err.message}`,
    ),
  );
  return Promise.all(replies);
}

test("push-batch - to a server that does not take batches (no 'pushes' in its pong), each push goes alone", async () => {
  const requester = new FakeRequester(batchReply());
  const batcher = new PushBatcher();
  batcher.told(A, undefined);
  assert.deepEqual(await pushAll(batcher, requester, ["a", "b", "c"]), [
    "file a",
    "file b",
    "file c",
  ]);
  assert.deepEqual(
    requester.calls.map((c) => c.msg.type),
    ["push", "push", "push"],
  );
});

test("push-batch - pushes of one turn to one server go in one request, in order; each caller gets its own reply", async () => {
  const requester = new FakeRequester(batchReply());
  const batcher = new PushBatcher();
  batcher.told(A, 32);
  assert.deepEqual(await pushAll(batcher, requester, ["a", "b", "c", "d"]), [
    "file a",
    "file b",
    "file c",
    "file d",
  ]);
  assert.equal(requester.calls.length, 1);
  const sent = requester.calls[0]!.msg;
  assert.equal(sent.type, "pushes");
  assert.deepEqual(
    (sent.dataObject["pushes"] as Record<string, JsonValue>[]).map(
      (p) => p["uid"],
    ),
    ["a", "b", "c", "d"],
  );
  assert.deepEqual(batcher.stats, { batches: 1, batched: 4, deferred: 0 });
  // Alone in its turn: a plain push.
  assert.deepEqual(await pushAll(batcher, requester, ["e"]), ["file e"]);
  assert.equal(requester.calls[1]!.msg.type, "push");
});

test("push-batch - no more in one request than the server takes; other servers and other groups go apart", async () => {
  const requester = new FakeRequester(batchReply());
  const batcher = new PushBatcher();
  batcher.told(A, 3);
  batcher.told(B, 32);
  const uids = ["a", "b", "c", "d", "e", "f", "g"];
  const all = await Promise.all([
    pushAll(batcher, requester, uids),
    pushAll(batcher, requester, ["x", "y"], B),
    pushAll(batcher, requester, ["p", "q"], B, () => "sftp://u@h"),
  ]);
  assert.deepEqual(all.flat().length, 11);
  const sizes = requester.calls.map((c) =>
    c.msg.type === "pushes"
      ? `${c.address} ${(c.msg.dataObject["pushes"] as unknown[]).length}`
      : `${c.address} alone`,
  );
  assert.deepEqual(sizes.sort(), [
    `${A} 3`,
    `${A} 3`,
    `${A} alone`,
    `${B} 2`,
    `${B} 2`,
  ]);
});

test("push-batch - a deferred item is sent again alone; the others are answered from the batch", async () => {
  const requester = new FakeRequester(
    batchReply((data) =>
      data["uid"] === "long" ? { type: "deferred" } : undefined,
    ),
  );
  const batcher = new PushBatcher();
  batcher.told(A, 32);
  assert.deepEqual(await pushAll(batcher, requester, ["a", "long", "b"]), [
    "file a",
    "file long",
    "file b",
  ]);
  assert.deepEqual(
    requester.calls.map(
      (c) => `${c.msg.type} ${String(c.msg.dataObject["uid"] ?? "")}`,
    ),
    ["pushes ", "push long"],
  );
  assert.equal(batcher.stats.deferred, 1);
});

test("push-batch - a server that refuses the batch as a whole (no longer speaks it) gets each push alone, and no more batches", async () => {
  const requester = new FakeRequester((call) =>
    call.msg.type === "pushes"
      ? new Message("/t", "unknown")
      : serverReply(call),
  );
  const batcher = new PushBatcher();
  batcher.told(A, 32);
  assert.deepEqual(await pushAll(batcher, requester, ["a", "b"]), [
    "file a",
    "file b",
  ]);
  assert.deepEqual(await pushAll(batcher, requester, ["c", "d"]), [
    "file c",
    "file d",
  ]);
  assert.deepEqual(
    requester.calls.map((c) => c.msg.type),
    ["pushes", "push", "push", "push", "push"],
  );
});

test("push-batch - a batch that fails fails every push in it, with its error; a reply of the wrong length too", async () => {
  const requester = new FakeRequester(() => {
    throw new RequestTimeoutError("no reply from A");
  });
  const batcher = new PushBatcher();
  batcher.told(A, 32);
  assert.deepEqual(await pushAll(batcher, requester, ["a", "b"]), [
    "rejected no reply from A",
    "rejected no reply from A",
  ]);
  assert.equal(requester.calls.length, 1, "nothing sent again");

  requester.respond = () =>
    new Message("/t", "pushes", { replies: [{ type: "file", data: {} }] });
  const short = await pushAll(batcher, requester, ["c", "d"]);
  assert.deepEqual(short, [
    "rejected unexpected reply 'pushes' to 2 pushes",
    "rejected unexpected reply 'pushes' to 2 pushes",
  ]);
});
