/**
 * Fakes for client unit tests: a Requester answering through a function,
 * hooks recording what the coordinator publishes, and a clock for mock timers.
 */
import type { TestContext } from "node:test";
import type {
  Announcement,
  TransferHooks,
} from "../../src/client/coordinator.js";
import {
  buildDestination,
  type Destination,
} from "../../src/client/destination.js";
import type { MessageSource } from "../../src/client/listener.js";
import { RequestTimeoutError } from "../../src/errors.js";
import { Message } from "../../src/message/index.js";
import type {
  RequestOptions,
  Requester,
} from "../../src/transport/requester.js";
import type { SubscriberOptions } from "../../src/transport/subscriber.js";
import { redactUrl } from "../../src/util/url.js";

/** One request seen by the fake. */
export interface Call {
  address: string;
  msg: Message;
  frame: string;
  timeoutMs: number;
}

export type Responder = (
  call: Call,
  opts: RequestOptions,
) => Message | Promise<Message>;

/** A Requester answering with `respond`; records every call; honours the abort signal. */
export class FakeRequester implements Requester {
  readonly calls: Call[] = [];
  closed = false;

  constructor(public respond: Responder = serverReply) {}

  request(
    address: string,
    msg: Message,
    opts: RequestOptions,
  ): Promise<Message> {
    const call = {
      address,
      msg,
      frame: msg.encode(),
      timeoutMs: opts.timeoutMs,
    };
    this.calls.push(call);
    const reply = Promise.resolve().then(() => this.respond(call, opts));
    const signal = opts.signal;
    if (signal === undefined) return reply;
    return new Promise((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason as Error);
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      reply
        .then(resolve, reject)
        .finally(() => signal.removeEventListener("abort", onAbort));
    });
  }

  /** Calls of one type, optionally to one address. */
  of(type: string, address?: string): Call[] {
    return this.calls.filter(
      (c) =>
        c.msg.type === type && (address === undefined || c.address === address),
    );
  }

  close(): void {
    this.closed = true;
  }
}

/**
 * What our (and the reference) server answers: push → file (destination
 * redacted), ack → ack, ping → pong. The pong is ours: it says the server
 * takes 32 pushes at once (`pythonReply` answers as the reference does).
 */
export function serverReply(call: Call): Message {
  const { msg } = call;
  const opts = { sender: "root@vm" };
  switch (msg.type) {
    case "push": {
      const data = { ...msg.dataObject };
      if (typeof data["destination"] === "string")
        data["destination"] = redactUrl(data["destination"]);
      return new Message(msg.subject, "file", data, opts);
    }
    case "ack":
      return new Message(msg.subject, "ack", msg.dataObject, opts);
    case "ping":
      return new Message(
        msg.subject,
        "pong",
        { station: "test", move_it: { max_concurrent_pushes: 32 } },
        opts,
      );
    default:
      return new Message(msg.subject, "unknown", undefined, opts);
  }
}

/** As `serverReply`, with the reference server's plain pong (`{"station": ...}`, nothing about concurrency). */
export function pythonReply(call: Call): Message {
  if (call.msg.type === "ping")
    return new Message(
      call.msg.subject,
      "pong",
      { station: "test" },
      { sender: "root@vm" },
    );
  return serverReply(call);
}

/** A reply that never comes: fails like the real requester once `timeoutMs` passes. */
export function noReply(call: Call): Promise<Message> {
  return new Promise((_, reject) =>
    setTimeout(
      () =>
        reject(
          new RequestTimeoutError(
            `no reply from ${call.address} within ${call.timeoutMs} ms`,
          ),
        ),
      call.timeoutMs,
    ),
  );
}

/** A promise that never settles (a push the server is still working on). */
export function pending(): Promise<Message> {
  return new Promise(() => undefined);
}

/** An `err` reply, as the server sends for a refused push (C8). */
export function errReply(call: Call, text = "not reachable"): Message {
  return new Message(call.msg.subject, "err", text, { sender: "root@vm" });
}

/** Hooks recording everything; the destination is `file://vm/out/` (nothing touches disk). */
export class RecordingHooks implements TransferHooks {
  readonly published: Message[] = [];
  readonly completed: Announcement[] = [];
  /** The next this many verify() calls fail (a bad checksum). */
  verifyFailures = 0;
  /** What present() answers (a resumed file found complete under its final name). */
  isPresent = false;
  /** Files present() and cleanup() were asked about. */
  readonly presentAsked: string[] = [];
  readonly cleaned: string[] = [];

  constructor(
    private readonly url = "file:///out/",
    private readonly login?: string,
  ) {}

  async prepare(): Promise<Destination> {
    return buildDestination(this.url, { hostname: "vm", login: this.login });
  }

  async verify(): Promise<void> {
    if (this.verifyFailures > 0) {
      this.verifyFailures--;
      throw new Error("checksum mismatch");
    }
  }

  async complete(ann: Announcement): Promise<void> {
    this.completed.push(ann);
  }

  async present(ann: Announcement): Promise<boolean> {
    this.presentAsked.push(ann.key);
    return this.isPresent;
  }

  async cleanup(ann: Announcement): Promise<void> {
    this.cleaned.push(ann.key);
  }

  async publish(msg: Message): Promise<void> {
    this.published.push(msg);
  }

  types(): string[] {
    return this.published.map((m) => m.type);
  }
}

/** An announcement as a server sends it (capture A2 shape). */
export function announce(
  uid: string,
  address: string,
  subject = "/ref/test",
): Message {
  return new Message(
    subject,
    "file",
    { name: uid, uri: `/data/in/${uid}`, uid, request_address: address },
    { sender: "root@vm" },
  );
}

/** Let pending promise chains run (setImmediate is never mocked here). */
export async function flush(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

/** Mock setTimeout and Date for this test. */
export function mockTime(t: TestContext): void {
  t.mock.timers.enable({
    apis: ["setTimeout", "setInterval", "Date"],
    now: 1_000_000,
  });
}

/** Advance mocked time by `ms` in steps, letting promises run between steps. */
export async function advance(
  t: TestContext,
  ms: number,
  stepMs = 100,
): Promise<void> {
  await flush();
  for (let done = 0; done < ms; done += stepMs) {
    t.mock.timers.tick(Math.min(stepMs, ms - done));
    await flush();
  }
}

/** A message source fed by the test: push messages in, end or fail it. */
export class FakeSource implements MessageSource {
  private readonly queue: Message[] = [];
  private wake: (() => void) | undefined;
  private ended = false;
  private failure: Error | undefined;
  closed = false;

  constructor(readonly opts: SubscriberOptions) {}

  push(msg: Message): void {
    this.queue.push(msg);
    this.wake?.();
  }

  fail(err: Error): void {
    this.failure = err;
    this.wake?.();
  }

  close(): void {
    this.closed = true;
    this.ended = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Message> {
    for (;;) {
      const next = this.queue.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.failure !== undefined) throw this.failure;
      if (this.ended) return;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
  }
}

/** A `connect` function recording every FakeSource it makes. */
export function fakeConnect(): {
  connect: (opts: SubscriberOptions) => FakeSource;
  sources: FakeSource[];
} {
  const sources: FakeSource[] = [];
  return {
    connect: (opts) => (sources.push(new FakeSource(opts)), sources.at(-1)!),
    sources,
  };
}
