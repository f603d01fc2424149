import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ackMessage,
  pushMessage,
  receivedMessage,
  rewriteMetadata,
  uidKey,
  withKey,
} from "../../../src/client/messages.js";
import { Message } from "../../../src/message/index.js";
import { capture } from "../../helpers/fixtures.js";

const at = (frame: string) => {
  const m = Message.decode(frame);
  return () => ({ sender: m.sender, time: m.time });
};

test("client/messages - push, ack and file built from A2 equal B2, B3, B4 byte for byte", () => {
  const ann = Message.decode(capture("A2")[0]!);
  const [b2] = capture("B2");
  const [b3] = capture("B3");
  const [b4] = capture("B4");
  assert.equal(
    pushMessage(ann, "file://vm/data/e2e/out/", at(b2!)).encode(),
    b2,
  );
  assert.equal(ackMessage(ann, at(b3!)).encode(), b3);
  const file = receivedMessage(
    ann,
    "127.0.0.1:9201",
    (uri) => uri.replace("/data/e2e/in/", "/data/e2e/out/"),
    at(b4!),
  );
  assert.equal(file.encode(), b4);
});

test("client/messages - the v1.2 chain (B5): a datetime in the data makes v1.2 frames", () => {
  const ann = Message.decode(capture("A3")[0]!);
  const [push, ack, file] = capture("B5");
  assert.equal(
    pushMessage(ann, "file://vm/data/e2e/out_dt/", at(push!)).encode(),
    push,
  );
  assert.equal(ackMessage(ann, at(ack!)).encode(), ack);
  const out = receivedMessage(
    ann,
    "127.0.0.1:9202",
    (uri) => uri.replace("/in/", "/out_dt/"),
    at(file!),
  );
  assert.equal(out.encode(), file);
});

test("client/messages - the ack to a second provider carries its own announcement (A4 → C5)", () => {
  const ann = Message.decode(capture("A4")[0]!);
  const [c5] = capture("C5");
  assert.equal(ackMessage(ann, at(c5!)).encode(), c5);
});

test("client/messages - uid keys: a file's uid, a dataset's sorted item uids, the same for its push", () => {
  const ann = Message.decode(capture("A2")[0]!);
  assert.equal(uidKey(ann), "test2.dat");
  assert.equal(uidKey(Message.decode(capture("B2")[0]!)), "test2.dat");
  const ds = new Message("/t", "dataset", {
    dataset: [{ uid: "b" }, { uid: "a" }],
  });
  assert.equal(uidKey(ds), JSON.stringify(["a", "b"]));
  const coll = new Message("/t", "collection", {
    collection: [{ dataset: [{ uid: "z" }] }, { uid: "y" }],
  });
  assert.equal(uidKey(coll), JSON.stringify(["y", "z"]));
  assert.equal(uidKey(new Message("/t", "file", { uri: "/x" })), undefined);
});

test("client/messages - metadata rewrites map listed values, replace literally without ':', skip absent keys", () => {
  const data = { platform_name: "NOAA-20", sensor: "viirs", station: "x" };
  const out = rewriteMetadata(data, [
    ["platform_name", "NOAA-20:noaa20|Suomi-NPP:npp"],
    ["sensor", "VIIRS"],
    ["station", "a:b"],
    ["absent", "zzz"],
  ]);
  assert.deepEqual(out, {
    platform_name: "noaa20",
    sensor: "VIIRS",
    station: "x",
  });
  assert.deepEqual(Object.keys(out as object), [
    "platform_name",
    "sensor",
    "station",
  ]);
});

test("client/messages - keys keep their order; integer-like keys survive in a Map", () => {
  const data = withKey({ b: 1, a: 2 }, "c", 3);
  assert.deepEqual(Object.keys(data as object), ["b", "a", "c"]);
  const withIndex = withKey({ z: 1, "10": 2 }, "dest", "x");
  assert.ok(withIndex instanceof Map);
});
