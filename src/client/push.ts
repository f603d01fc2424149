/**
 * One push request, never sent twice (docs/guarantees.md). The reference resends a
 * push that outlasts `transfer_req_timeout`, and each resend starts another
 * copy of the same file. Here the request is sent once; each time
 * `transfer_req_timeout` passes without a reply, the same server gets a
 * `ping` carrying `{"push_uid": uid}` (`req_timeout`). A move_it server's
 * `pong` says whether that push is still running there and which server
 * instance answers: `push_running: false`, or another instance than the one
 * the push was sent to (it restarted), means the request is lost, so it is
 * abandoned at once. A plain pong (Python) means alive and working: keep
 * waiting. No pong means gone (abandoned) unless its publisher is still
 * heard (busy). A hard cap (`maxWaitMs`) bounds the wait for a server that
 * answers pings but lost the request.
 */
import { RemoteError, RequestTimeoutError } from "../errors.js";
import type { Logger } from "../log.js";
import type { Message } from "../message/index.js";
import type { Requester } from "../transport/requester.js";
import { childController, settlesWithin } from "../util/abort.js";
import { redactText } from "../util/url.js";
import { pingMessage, type Stamp } from "./messages.js";

/** Reply types that mean "pushed" (the reference server answers `file`). */
export const PUSH_REPLIES: readonly string[] = [
  "file",
  "dataset",
  "collection",
  "push",
];
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
  /** The uid the pings ask about (`push_uid`). */
  uid?: string | undefined;
  /** The server instance the push was sent to, if known. */
  instance?: string | undefined;
  /** Every pong, with what it said. */
  onPong?: (pong: PongInfo) => void;
}

/** What a pong says beyond "alive". */
export interface PongInfo {
  /** `move_it.instance`: fixed per server process start; undefined from a Python server. */
  instance: string | undefined;
  /** `push_running` for the asked uid; undefined when the server does not say. */
  pushRunning: boolean | undefined;
  /** `move_it.max_concurrent_pushes`: pushes the server takes at once; undefined when it does not say (Python: one). */
  maxPushes: number | undefined;
  /** `move_it.pushes`: pushes one `pushes` request may carry; undefined when the server does not take them. */
  maxBatch: number | undefined;
}

/** The request is lost on the server (restarted, or it says the push is not running). */
export class LostPushError extends RequestTimeoutError {
  constructor(message: string) {
    super(message);
    this.name = "LostPushError";
  }
}

/** The reason local controllers are aborted with once their operation settled: built once, not per push. */
const SETTLED = new Error("settled");

/**
 * Send `request` once to `address` and wait for its reply as described above.
 * @throws RequestTimeoutError when the server stops answering or the cap
 *   passes; LostPushError when the server lost it; the signal's reason when
 *   aborted; whatever the requester throws.
 */
export async function pushAndWait(
  address: string,
  request: Message,
  opts: PushOptions,
): Promise<Message> {
  const local = childController(opts.signal);
  const reply = opts.requester.request(address, request, {
    timeoutMs: opts.maxWaitMs,
    signal: local.signal,
  });
  let answered = false;
  reply.then(
    () => (answered = true),
    () => undefined,
  );
  try {
    let waitedMs = 0;
    // The instance the push went to: known before, or told by the first pong since.
    let instance = opts.instance;
    while (
      !(await settlesWithin(reply, opts.transferReqTimeoutMs, opts.signal))
    ) {
      waitedMs += opts.transferReqTimeoutMs;
      if (waitedMs >= opts.maxWaitMs) {
        throw new RequestTimeoutError(
          `no push reply from ${address} within ${waitedMs} ms`,
        );
      }
      instance =
        (await probe(
          address,
          request.subject,
          { ...opts, instance },
          waitedMs,
        )) ?? instance;
    }
    return await reply;
  } finally {
    // Abandoning closes the REQ socket: a late reply can no longer land anywhere.
    if (answered) local.release();
    else local.done(SETTLED);
  }
}

/**
 * Ping `address` (asking about `uid` when given) and read the pong.
 * @throws RequestTimeoutError without an answer, RemoteError for an answer other than `pong`.
 */
export async function ping(
  address: string,
  subject: string,
  opts: Pick<PushOptions, "requester" | "reqTimeoutMs" | "stamp" | "signal">,
  uid?: string,
): Promise<PongInfo> {
  const reply = await opts.requester.request(
    address,
    pingMessage(subject, opts.stamp, uid),
    {
      timeoutMs: opts.reqTimeoutMs,
      signal: opts.signal,
    },
  );
  if (reply.type !== "pong")
    throw new RemoteError(`ping of ${address} got '${reply.type}'`, reply.type);
  return pongInfo(reply);
}

/** The move_it keys of a pong. */
export function pongInfo(reply: Message): PongInfo {
  const data = reply.dataObject;
  const ours = data["move_it"];
  const keys =
    typeof ours === "object" && ours !== null && !Array.isArray(ours)
      ? (ours as Record<string, unknown>)
      : {};
  const instance = keys["instance"];
  const max = keys["max_concurrent_pushes"];
  const batch = keys["pushes"];
  const running = data["push_running"];
  return {
    instance: typeof instance === "string" ? instance : undefined,
    pushRunning: typeof running === "boolean" ? running : undefined,
    maxPushes: positiveInteger(max),
    maxBatch: positiveInteger(batch),
  };
}

function positiveInteger(v: unknown): number | undefined {
  return typeof v === "number" && Number.isInteger(v) && v >= 1 ? v : undefined;
}

/**
 * Ping the server a push is waiting on; throws unless it answers a `pong`
 * saying the push may still be running. Returns the instance that answered.
 */
async function probe(
  address: string,
  subject: string,
  opts: PushOptions,
  waitedMs: number,
): Promise<string | undefined> {
  let info: PongInfo;
  try {
    info = await ping(address, subject, opts, opts.uid);
  } catch (err) {
    opts.signal.throwIfAborted();
    if (!(err instanceof RemoteError) && opts.isAlive?.() === true) {
      // Giving up here would lose the file (or fetch a duplicate elsewhere) while the server still delivers it.
      opts.log.warn({ waitedMs }, "push still running, server busy");
      return undefined;
    }
    throw new RequestTimeoutError(
      `no push reply from ${address} within ${waitedMs} ms and no answer to ping`,
      { cause: err },
    );
  }
  opts.onPong?.(info);
  if (
    opts.instance !== undefined &&
    info.instance !== undefined &&
    info.instance !== opts.instance
  ) {
    throw new LostPushError(
      `${address} restarted (instance ${info.instance}, push sent to ${opts.instance}): push lost`,
    );
  }
  if (info.pushRunning === false)
    throw new LostPushError(
      `${address} says the push is not running: push lost`,
    );
  opts.log.warn({ waitedMs }, "push still running");
  return info.instance;
}

/**
 * Check a reply's type. A refusal (`err`, `error`, `unknown`) or anything
 * not in `expected` becomes a RemoteError carrying the server's text.
 */
export function expectReply(
  reply: Message,
  expected: readonly string[],
): Message {
  if (expected.includes(reply.type)) return reply;
  const text = typeof reply.data === "string" ? reply.data : "";
  const what = REFUSALS.has(reply.type)
    ? `server answered ${reply.type}`
    : `unexpected reply '${reply.type}'`;
  throw new RemoteError(
    redactText(text === "" ? what : `${what}: ${text}`),
    reply.type,
  );
}
