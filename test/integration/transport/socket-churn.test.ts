/**
 * Opens and closes every socket kind move_it uses (ROUTER request socket,
 * PUB publisher, SUB subscriber, pooled REQ requester) thousands of times,
 * with requests and publications in flight, peers vanishing mid-request and
 * ports rebound at once (a reload). A libzmq assertion or heap corruption
 * kills this file's process, which fails the run: before the fix (async
 * unbind on a worker thread racing the poll callback) it aborted within a few
 * hundred rounds. Seeded (`CHURN_SEED=...` replays one); bounded by a round
 * count and a time budget so it stays well under a minute on a busy machine.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as zmq from "zeromq";
import { Message } from "../../../src/message/index.js";
import { Publisher } from "../../../src/transport/publisher.js";
import { ZmqRequester } from "../../../src/transport/requester.js";
import { RouterSocket } from "../../../src/transport/router.js";
import { Subscriber } from "../../../src/transport/subscriber.js";
import { captureLogger } from "../../helpers/log.js";
import { seededRandom } from "../../helpers/seeded.js";

const SEED = Number(process.env["CHURN_SEED"] ?? Date.now() % 2 ** 31);
const ROUNDS = Number(process.env["CHURN_ROUNDS"] ?? 1500);
const BUDGET_MS = 25_000;
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test(`socket churn - open/close with traffic in flight never aborts (seed ${SEED})`, async () => {
  console.log(`socket churn seed ${SEED} (replay with CHURN_SEED=${SEED})`);
  const random = seededRandom(SEED);
  const { log } = captureLogger("churn");
  const started = performance.now();
  let rounds = 0;
  let sockets = 0;
  let replies = 0;
  let received = 0;
  let reboundPort = 0;
  while (rounds < ROUNDS && performance.now() - started < BUDGET_MS) {
    rounds++;
    // A request socket, rebinding the previous round's port now and then (a reload).
    const bind =
      reboundPort !== 0
        ? `tcp://127.0.0.1:${reboundPort}`
        : "tcp://127.0.0.1:0";
    const router = new RouterSocket({
      bind,
      log,
      handler: async (req) => {
        if (random() < 0.5) await tick();
        return req.payload.toString("utf8");
      },
    });
    await router.start();
    const publisher = new Publisher({
      bind: "tcp://127.0.0.1:0",
      log,
      heartbeatName: "churn",
      heartbeatInterval: 0.001,
    });
    await publisher.start();
    const subscriber = new Subscriber({
      endpoints: [publisher.endpoint],
      subjects: [],
      log,
    });
    const reading = (async () => {
      for await (const msg of subscriber)
        if (msg.subject.length > 0) received++;
    })();
    const requester = new ZmqRequester({ maxRetransmitMs: 2000 });
    sockets += 4;

    const address = `127.0.0.1:${router.port}`;
    const work: Promise<unknown>[] = [];
    const n = 1 + Math.floor(random() * 6);
    for (let i = 0; i < n; i++) {
      const ac = new AbortController();
      work.push(
        requester
          .request(address, new Message("/churn", "ping", `r${rounds}.${i}`), {
            timeoutMs: 2000,
            signal: ac.signal,
          })
          .then(
            () => replies++,
            () => undefined,
          ),
      );
      if (random() < 0.2) ac.abort(new Error("caller gave up"));
      work.push(publisher.publish(new Message("/churn/data", "file", { i })));
    }
    // Peers that connect, send half a conversation and vanish.
    for (let i = 0; i < 1 + Math.floor(random() * 3); i++) {
      const peer =
        random() < 0.5
          ? new zmq.Request({ linger: 0 })
          : new zmq.Dealer({ linger: 0 });
      sockets++;
      peer.connect(`tcp://${address}`);
      const sent =
        peer instanceof zmq.Dealer
          ? peer.send(["", "garbage"])
          : peer.send(`vanishing ${i}`);
      work.push(sent.catch(() => undefined));
      if (random() < 0.5) await tick();
      peer.close();
    }
    if (random() < 0.5) await tick();

    // Close in a random order, some while requests and sends are still pending.
    const closers = [
      () => router.close(Math.floor(random() * 3)),
      () => publisher.close(),
      () => Promise.resolve(subscriber.close()),
      () => Promise.resolve(requester.close()),
    ].sort(() => random() - 0.5);
    const closing: Promise<void>[] = [];
    for (const close of closers) {
      closing.push(close());
      if (random() < 0.3) await tick();
    }
    await Promise.all(closing);
    await reading;
    await Promise.allSettled(work);
    reboundPort = random() < 0.3 ? router.port : 0;
    // Closed sockets are reaped by libzmq in the background; let it keep up
    // (a context holds at most 1023 sockets).
    if (rounds % 50 === 0) await new Promise((r) => setTimeout(r, 20));
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `socket churn: ${rounds} rounds, ${sockets} sockets, ${replies} replies, ${received} messages in ${seconds.toFixed(1)} s`,
  );
  assert.ok(rounds >= 50, `only ${rounds} rounds ran`);
  assert.ok(
    replies > 0,
    "no request was ever answered: the churn tested nothing",
  );
});
