/**
 * A chain's request socket: decodes each request, dispatches it by type to
 * its handler (one switch), and translates errors into replies once, here.
 * A frame that is not a message is answered `error` (the reference stays
 * silent and leaves the REQ peer hanging).
 */
import {
  MessageDecodeError,
  RefusedError,
  TransferError,
  errorMessage,
  isAbortError,
} from "../errors.js";
import { lazyChild, rateLimitedLogger, type LimitedLogger } from "../log.js";
import { Message } from "../message/index.js";
import { RouterSocket, type IncomingRequest } from "../transport/router.js";
import { redactText } from "../util/url.js";
import type { ChainContext } from "./context.js";
import { handleAck } from "./handlers/ack.js";
import { handleCatchup } from "./handlers/catchup.js";
import { handleInfo } from "./handlers/info.js";
import { handlePing } from "./handlers/ping.js";
import { handlePush } from "./handlers/push.js";
import { handlePushes } from "./handlers/pushes.js";

function dispatch(
  ctx: ChainContext,
  req: Message,
  peer: string,
): Promise<Message> {
  switch (req.type) {
    case "push":
      return handlePush(ctx, req);
    case "pushes":
      // Each item is counted, logged and answered as the push it is.
      return handlePushes(ctx, req, (push) => respond(ctx, push, peer, true));
    case "ack":
      return handleAck(ctx, req);
    case "ping":
      return handlePing(ctx, req);
    case "info":
      return handleInfo(ctx, req);
    case "catchup":
      return handleCatchup(ctx, req);
    default:
      return Promise.resolve(new Message(req.subject, "unknown"));
  }
}

/** Handle one raw request; never throws. `limited` rate-limits the warnings a flood of bad frames makes. */
export async function answer(
  ctx: ChainContext,
  incoming: IncomingRequest,
  limited?: LimitedLogger,
): Promise<string> {
  let req: Message;
  try {
    req = Message.decode(incoming.payload);
  } catch (err) {
    ctx.stats.malformed++;
    ctx.emit({ type: "malformed" });
    const fields = { err, peer: incoming.peer, bytes: incoming.payload.length };
    if (limited !== undefined)
      limited.warn("malformed request", fields, "malformed request");
    else ctx.log.warn(fields, "malformed request");
    const reason =
      err instanceof MessageDecodeError ? err.message : "malformed request";
    return new Message(ctx.config.topic, "error", reason).encode();
  }
  return (await respond(ctx, req, incoming.peer)).encode();
}

/** Count, log and serve one decoded request; never throws (a failure is answered `err`). */
async function respond(
  ctx: ChainContext,
  req: Message,
  peer: string,
  batched = false,
): Promise<Message> {
  ctx.stats.requests[req.type] = (ctx.stats.requests[req.type] ?? 0) + 1;
  ctx.emit({ type: "request", request: req.type });
  // Made only if something is logged above debug (or debug is on): a child a request is most of a line's cost.
  const log = lazyChild(
    ctx.log,
    batched ? { req: req.type, peer, batched } : { req: req.type, peer },
  );
  log.debug({ subject: req.subject }, "request received");
  try {
    return await dispatch({ ...ctx, log }, req, peer);
  } catch (err) {
    return failure(ctx, log, req, err);
  }
}

/**
 * The text of the `err` reply for a failed request: the error's message
 * without a stack, and with credentials taken out of any URL in it. This is
 * where an error leaves the server, so credentials are stripped here (and in
 * the log serializer), not where errors are made.
 */
export function errorReplyText(err: unknown): string {
  return redactText(
    isAbortError(err) ? "server shutting down" : errorMessage(err),
  );
}

function failure(
  ctx: ChainContext,
  log: ChainContext["log"],
  req: Message,
  err: unknown,
): Message {
  if (req.type === "push") {
    ctx.stats.pushesFailed++;
    ctx.emit({ type: "push_failed" });
  }
  const text = errorReplyText(err);
  if (err instanceof RefusedError) {
    ctx.stats.refused++;
    ctx.emit({ type: "refused" });
    log.warn(
      { err, why: err.cause instanceof Error ? err.cause.message : undefined },
      "request refused",
    );
  } else if (err instanceof TransferError || isAbortError(err)) {
    log.error({ err }, "push failed");
  } else {
    log.error({ err }, "request failed");
  }
  return new Message(req.subject, "err", text);
}

/**
 * Bind the chain's ROUTER socket and serve it. Malformed requests are logged
 * at most 5 a minute (peers' routing ids change with every connection, so the
 * chain is the key), with a summary of how many more there were.
 */
export function createRequestServer(
  ctx: ChainContext,
  bind: string,
): RouterSocket {
  const limited = rateLimitedLogger(ctx.log);
  ctx.signal.addEventListener("abort", () => limited.close(), { once: true });
  return new RouterSocket({
    bind,
    log: ctx.log,
    handler: (incoming) => answer(ctx, incoming, limited),
  });
}
