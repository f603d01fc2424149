/**
 * One push request, never sent twice (SPEC §6). The reference resends a
 * push that outlasts `transfer_req_timeout`, and each resend starts another
 * copy of the same file. Here the request is sent once; each time
 * `transfer_req_timeout` passes without a reply, the same server gets a
 * `ping` (`req_timeout`): a `pong` means it is alive and still working, so
 * the client keeps waiting on the same request; no `pong` means it is gone,
 * so the push is abandoned (and the caller fails over). A hard cap
 * (`maxWaitMs`) bounds the wait for a server that answers pings but lost
 * the request.
 */
import { RemoteError, RequestTimeoutError } from "../errors.js";
import type { Logger } from "../log.js";
import type { Message } from "../message/index.js";
import type { Requester } from "../transport/requester.js";
import { childController, sleep } from "../util/abort.js";
import { redactText } from "../util/url.js";
import { pingMessage, type Stamp } from "./messages.js";

/** Reply types that mean "pushed" (the reference server answers `file`). */
export const PUSH_REPLIES: readonly string[] = ["file", "dataset", "collection", "push"];
/** Reply types of a refusal. */
const REFUSALS = new Set(["err", "error", "unknown"]);

export interface PushOptions {
  requester: Requester;
  /** Wait for a ping (and ack) reply, ms. */
  reqTimeoutMs: number;
  /** Check on the server each time this passes without a push reply, ms. */
  transferReqTimeoutMs: number;
  /** Give up on a push after this long even if the server answers pings, ms. */
  maxWaitMs: number;
  stamp: Stamp;
  log: Logger;
  signal: AbortSignal;
  /** True while the server's publisher is still heard (heartbeats): then a missing pong means busy, not dead. */
  isAlive?: () => boolean;
}

/** The reason local controllers are aborted with once their operation settled: built once, not per push. */
const SETTLED = new Error("settled");

/**
 * Send `request` once to `address` and wait for its reply as described above.
 * @throws RequestTimeoutError when the server stops answering or the cap
 *   passes; the signal's reason when aborted; whatever the requester throws.
 */
export async function pushAndWait(address: string, request: Message, opts: PushOptions): Promise<Message> {
  const local = childController(opts.signal);
  const reply = opts.requester.request(address, request, {
    timeoutMs: opts.maxWaitMs,
    signal: local.signal,
  });
  reply.catch(() => undefined);
  try {
    let waitedMs = 0;
    while (!(await settledWithin(reply, opts.transferReqTimeoutMs, opts.signal))) {
      waitedMs += opts.transferReqTimeoutMs;
      if (waitedMs >= opts.maxWaitMs) {
        throw new RequestTimeoutError(`no push reply from ${address} within ${waitedMs} ms`);
      }
      await probe(address, request.subject, opts, waitedMs);
    }
    return await reply;
  } finally {
    // Abandoning closes the REQ socket: a late reply can no longer land anywhere.
    local.done(SETTLED);
  }
}

/** True once `p` settled (or the signal aborted), false when `ms` passed first. */
async function settledWithin(p: Promise<unknown>, ms: number, signal: AbortSignal): Promise<boolean> {
  const local = childController(signal);
  const timer = sleep(ms, local.signal).then(
    () => false,
    () => true,
  );
  try {
    return await Promise.race([p.then(() => true, () => true), timer]);
  } finally {
    local.done(SETTLED);
  }
}

/** Ping the server a push is waiting on; throws RequestTimeoutError unless it answers `pong`. */
async function probe(address: string, subject: string, opts: PushOptions, waitedMs: number): Promise<void> {
  let reply: Message;
  try {
    reply = await opts.requester.request(address, pingMessage(subject, opts.stamp), {
      timeoutMs: opts.reqTimeoutMs,
      signal: opts.signal,
    });
  } catch (err) {
    opts.signal.throwIfAborted();
    if (opts.isAlive?.() === true) {
      // Giving up here would lose the file (or fetch a duplicate elsewhere) while the server still delivers it.
      opts.log.warn({ waitedMs }, "push still running, server busy");
      return;
    }
    throw new RequestTimeoutError(`no push reply from ${address} within ${waitedMs} ms and no answer to ping`, { cause: err });
  }
  if (reply.type !== "pong") {
    throw new RequestTimeoutError(`no push reply from ${address} within ${waitedMs} ms; ping got '${reply.type}'`);
  }
  opts.log.warn({ waitedMs }, "push still running");
}

/**
 * Check a reply's type. A refusal (`err`, `error`, `unknown`) or anything
 * not in `expected` becomes a RemoteError carrying the server's text.
 */
export function expectReply(reply: Message, expected: readonly string[]): Message {
  if (expected.includes(reply.type)) return reply;
  const text = typeof reply.data === "string" ? reply.data : "";
  const what = REFUSALS.has(reply.type) ? `server answered ${reply.type}` : `unexpected reply '${reply.type}'`;
  throw new RemoteError(redactText(text === "" ? what : `${what}: ${text}`), reply.type);
}
