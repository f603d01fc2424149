/**
 * The client side of catch-up (docs/ledger.md): ask a server's request port
 * for the announcements on a topic since a time, page by page, and hand each
 * original announcement to the coordinator as if it had just been heard. A
 * server without catch-up (Python: `unknown`, or `err`) is reported as such.
 */
import { RequestTimeoutError } from "../errors.js";
import { Message } from "../message/index.js";
import type { Requester } from "../transport/requester.js";
import type { Stamp } from "./messages.js";

export interface CatchUpOptions {
  requester: Requester;
  /** Wait for one page, ms. */
  timeoutMs: number;
  stamp: Stamp;
  signal: AbortSignal;
  /** Announcements per page (the server caps it at 1000; default 200). */
  limit?: number;
}

/** What one catch-up of one server did. */
export interface CatchUpResult {
  /** False when the server does not know the request. */
  supported: boolean;
  /** Announcements received. */
  messages: number;
  /** Pages asked for. */
  pages: number;
  /** Messages that did not decode (skipped). */
  bad: number;
}

/** Pages asked for at most in one catch-up (1000 × 200 announcements). */
const MAX_PAGES = 1000;

/** `since` as the ISO-8601 UTC text the request carries (microseconds, no zone). */
export function isoSince(since: Date): string {
  return `${since.toISOString().slice(0, 23)}000`;
}

/**
 * Ask `address` for announcements on `topic` (and below) since `since`, all
 * pages; `onMessage` gets each, oldest first.
 * @throws RequestTimeoutError when the server does not answer.
 */
export async function catchUp(
  address: string,
  topic: string,
  since: Date,
  opts: CatchUpOptions,
  onMessage: (msg: Message) => void,
): Promise<CatchUpResult> {
  const result: CatchUpResult = {
    supported: true,
    messages: 0,
    pages: 0,
    bad: 0,
  };
  // An empty topic (subscribe to everything) asks for everything below "/".
  const asked = topic === "" ? "/" : topic;
  let after: number | undefined;
  while (result.pages < MAX_PAGES) {
    const data: Record<string, string | number> = {
      topic: asked,
      since: isoSince(since),
      limit: opts.limit ?? 200,
    };
    if (after !== undefined) data["after"] = after;
    const reply = await opts.requester.request(
      address,
      new Message(asked, "catchup", data, opts.stamp()),
      {
        timeoutMs: opts.timeoutMs,
        signal: opts.signal,
      },
    );
    result.pages++;
    if (reply.type !== "catchup") {
      if (
        result.pages === 1 &&
        ["unknown", "err", "error"].includes(reply.type)
      )
        return { ...result, supported: false };
      throw new RequestTimeoutError(
        `catch-up of ${address} got '${reply.type}'`,
      );
    }
    const body = reply.dataObject;
    const messages = Array.isArray(body["messages"]) ? body["messages"] : [];
    for (const raw of messages) {
      if (typeof raw !== "string") {
        result.bad++;
        continue;
      }
      let msg: Message;
      try {
        msg = Message.decode(raw);
      } catch {
        result.bad++;
        continue;
      }
      result.messages++;
      onMessage(msg);
    }
    const next = body["next"];
    if (typeof next !== "number" || messages.length === 0) return result;
    after = next;
  }
  return result;
}
