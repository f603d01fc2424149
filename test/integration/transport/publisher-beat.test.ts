/**
 * A subscriber that connects after a publisher's beat hears one shortly
 * after its handshake, not a whole heartbeat interval later. The interval
 * here is an hour, so without the extra beat the second subscriber hears
 * nothing before the test's deadline.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Message } from "../../../src/message/index.js";
import { Publisher } from "../../../src/transport/publisher.js";
import { Subscriber } from "../../../src/transport/subscriber.js";
import { captureLogger } from "../../helpers/log.js";

const DEADLINE_MS = 20_000;

/** The first message on `subject` the subscriber reads, or a rejection at the deadline. */
function firstOn(sub: Subscriber, subject: string): Promise<Message> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no message on ${subject} in ${DEADLINE_MS} ms`)),
      DEADLINE_MS,
    );
    void (async () => {
      for await (const msg of sub)
        if (msg.subject === subject) {
          clearTimeout(timer);
          resolve(msg);
          return;
        }
    })();
  });
}

test("publisher - a subscriber connecting after a beat hears one soon after its handshake", async (t) => {
  const { log } = captureLogger("beat");
  const publisher = new Publisher({
    bind: "tcp://127.0.0.1:0",
    log,
    heartbeatName: "beat_test",
    heartbeatInterval: 3600,
  });
  await publisher.start();
  t.after(() => publisher.close());
  const subscriber = (): Subscriber => {
    const sub = new Subscriber({
      endpoints: [publisher.endpoint],
      subjects: ["/heartbeat/beat_test"],
      log,
    });
    t.after(() => sub.close());
    return sub;
  };
  const early = subscriber();
  // The first beat (about a second after start, or the early subscriber's own extra one) has gone out.
  const first = await firstOn(early, "/heartbeat/beat_test");
  assert.equal(first.type, "beat");
  assert.equal(first.dataObject["min_interval"], 3600);

  const late = subscriber();
  const heard = await firstOn(late, "/heartbeat/beat_test");
  assert.equal(heard.type, "beat");
  assert.equal(heard.dataObject["min_interval"], 3600);
});
