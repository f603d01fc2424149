import * as zmq from "zeromq";
import type { TestContext } from "node:test";
import { Message } from "../../src/message/index.js";

/** Send one raw payload as a REQ peer (what a Python client is) and return the raw reply. */
export async function rawRequest(port: number, payload: string, timeoutMs = 5000): Promise<string> {
  const sock = new zmq.Request({ linger: 0, receiveTimeout: timeoutMs, sendTimeout: timeoutMs });
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
export async function request(port: number, msg: Message, timeoutMs = 5000): Promise<Message> {
  return Message.decode(await rawRequest(port, msg.encode(), timeoutMs));
}

/** A SUB socket collecting decoded messages from a publisher. */
export function collect(t: TestContext, port: number, subjects: string[] = []): Message[] {
  const sock = new zmq.Subscriber({ linger: 0 });
  sock.connect(`tcp://127.0.0.1:${port}`);
  if (subjects.length === 0) sock.subscribe();
  for (const s of subjects) sock.subscribe(Message.topicPrefix(s));
  const got: Message[] = [];
  void (async () => {
    try {
      for await (const [frame] of sock) if (frame !== undefined) got.push(Message.decode(frame));
    } catch {
      // closed
    }
  })();
  t.after(() => sock.close());
  return got;
}
