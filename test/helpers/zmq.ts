import * as zmq from "zeromq";
import type { TestContext } from "node:test";
import { Message } from "../../src/message/index.js";

/** Send one raw payload as a REQ peer (what a Python client is) and return the raw reply. */
export async function rawRequest(
  port: number,
  payload: string,
  timeoutMs = 5000,
): Promise<string> {
  const sock = new zmq.Request({
    linger: 0,
    receiveTimeout: timeoutMs,
    sendTimeout: timeoutMs,
  });
  sock.connect(`tcp://127.0.0.1:${port}`);
  try {
    await sock.send(payload);
    const [reply] = await sock.receive();
    return reply?.toString("utf8") ?? "";
  } finally {
    sock.close();
  }
}

/** Send a message and decode the reply. */
export async function request(
  port: number,
  msg: Message,
  timeoutMs = 5000,
): Promise<Message> {
  return Message.decode(await rawRequest(port, msg.encode(), timeoutMs));
}

/**
 * `collect`, resolved once the subscription is live: a publisher drops what
 * it sends before a subscriber is connected, so wait for its first heartbeat
 * (startServer's servers beat every 0.1 s) instead of sleeping.
 */
export async function subscribe(
  t: TestContext,
  port: number,
  subjects: string[] = [],
): Promise<Message[]> {
  const got = collect(
    t,
    port,
    subjects.length === 0 ? [] : [...subjects, "/heartbeat"],
  );
  const deadline = Date.now() + 15_000;
  while (!got.some((m) => m.type === "beat")) {
    if (Date.now() > deadline)
      throw new Error(`no heartbeat from port ${port} within 15 s`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return got;
}

/** A SUB socket collecting decoded messages from a publisher. */
export function collect(
  t: TestContext,
  port: number,
  subjects: string[] = [],
): Message[] {
  const sock = new zmq.Subscriber({ linger: 0 });
  sock.connect(`tcp://127.0.0.1:${port}`);
  if (subjects.length === 0) sock.subscribe();
  for (const s of subjects) sock.subscribe(Message.topicPrefix(s));
  const got: Message[] = [];
  void (async () => {
    try {
      for await (const [frame] of sock)
        if (frame !== undefined) got.push(Message.decode(frame));
    } catch {
      // closed
    }
  })();
  t.after(() => sock.close());
  return got;
}
