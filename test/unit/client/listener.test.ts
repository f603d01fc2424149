import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import {
  Listener,
  listenerSubjects,
  type ListenerOptions,
} from "../../../src/client/listener.js";
import { Message } from "../../../src/message/index.js";
import {
  advance,
  fakeConnect,
  flush,
  mockTime,
} from "../../helpers/client-fakes.js";
import { captureLogger } from "../../helpers/log.js";

function beat(name: string, minInterval = 30): Message {
  return new Message(
    `/heartbeat/${name}`,
    "beat",
    { min_interval: minInterval },
    { sender: "root@vm" },
  );
}

function setup(t: TestContext, extra: Partial<ListenerOptions> = {}) {
  const { connect, sources } = fakeConnect();
  const { log, records } = captureLogger();
  const got: Array<[Message, string]> = [];
  const listener = new Listener({
    address: "127.0.0.1:9010",
    subjects: listenerSubjects("/ref/test", "ref", true),
    onMessage: (msg, provider) => got.push([msg, provider]),
    log,
    connect,
    backoffBaseMs: 100,
    backoffMaxMs: 1000,
    ...extra,
  });
  t.after(() => listener.close());
  return { listener, sources, got, records };
}

test("client/listener - subscribes to the topic and the server, mirror and own-section heartbeats (B1)", () => {
  assert.deepEqual(listenerSubjects("/ref/test", "ref", true), [
    "/ref/test",
    "/heartbeat/move_it_server",
    "/heartbeat/move_it_mirror",
    "/heartbeat/move_it_ref",
  ]);
  assert.deepEqual(listenerSubjects("/ref/test", "ref", false), ["/ref/test"]);
});

test("client/listener - forwards announcements with the provider address, keeps heartbeats to itself", async (t) => {
  const { listener, sources, got } = setup(t);
  listener.start();
  assert.equal(sources.length, 1);
  assert.deepEqual(sources[0]!.opts.endpoints, ["tcp://127.0.0.1:9010"]);
  assert.deepEqual(
    sources[0]!.opts.subjects,
    listenerSubjects("/ref/test", "ref", true),
  );
  sources[0]!.push(beat("move_it_server"));
  sources[0]!.push(
    new Message("/ref/test", "file", {
      uid: "a",
      request_address: "127.0.0.1:9201",
    }),
  );
  await flush();
  assert.equal(got.length, 1);
  assert.equal(got[0]![0].type, "file");
  assert.equal(got[0]![1], "127.0.0.1:9010");
  assert.equal(listener.stats.heartbeats, 1);
  assert.equal(listener.stats.messages, 2);
});

test("client/listener - a provider silent for scale × min_interval is reconnected", async (t) => {
  mockTime(t);
  const { listener, sources, records } = setup(t, { heartbeatAlarmScale: 2 });
  listener.start();
  sources[0]!.push(beat("move_it_server", 1));
  await advance(t, 1500, 100);
  assert.equal(sources.length, 1, "not yet: alarm is 2 × 1 s");
  await advance(t, 1000, 100);
  assert.equal(sources[0]!.closed, true);
  assert.ok(records.some((r) => r.msg === "heartbeat missed"));
  await advance(t, 1500, 100);
  assert.equal(sources.length, 2, "a new subscriber");
  assert.equal(listener.stats.restarts, 1);
  assert.equal(listener.stats.missedHeartbeats, 1);
  assert.ok(records.some((r) => r.msg === "listener restarted"));
});

test("client/listener - any message (not only beats) keeps the provider alive", async (t) => {
  mockTime(t);
  const { listener, sources } = setup(t, { heartbeatAlarmScale: 1 });
  listener.start();
  for (let i = 0; i < 10; i++) {
    sources[0]!.push(
      new Message("/ref/test", "file", {
        uid: `f${i}`,
        request_address: "h:1",
      }),
    );
    await advance(t, 20_000, 1000);
  }
  assert.equal(sources.length, 1);
  assert.equal(listener.stats.missedHeartbeats, 0);
});

test("client/listener - a failing subscriber is re-created with backoff, again and again", async (t) => {
  mockTime(t);
  const { listener, sources, records } = setup(t);
  listener.start();
  for (let i = 0; i < 4; i++) {
    sources.at(-1)!.fail(new Error("socket broke"));
    await advance(t, 1500, 100);
  }
  assert.equal(sources.length, 5);
  assert.equal(listener.stats.restarts, 4);
  assert.equal(records.filter((r) => r.msg === "listener failed").length, 4);
});

test("client/listener - close ends the subscriber and no restart follows", async (t) => {
  mockTime(t);
  const { listener, sources } = setup(t, { heartbeatAlarmScale: 1 });
  listener.start();
  await listener.close();
  await advance(t, 120_000, 10_000);
  assert.equal(sources.length, 1);
  assert.equal(sources[0]!.closed, true);
});
