/**
 * `ack`: the client got the file elsewhere (or already had it). Recorded in
 * the ledger, and deletion scheduled as after a push, if the file is one we
 * may serve. An ack naming a file outside what this chain serves (not
 * matching `origin`, a `..` path, a link out of the tree) is answered `err`
 * (`<uri> not reachable`), as the reference does; one for a file already
 * gone is answered `ack`. On a mirror, an ack of a relayed file is recorded
 * for, and schedules the deletion of, its staged copy. A bucket section's
 * objects are recorded as acked (nothing is deleted from the bucket).
 */
import { RefusedError } from "../../errors.js";
import { validate } from "../../pattern/index.js";
import { isBucketOrigin } from "../bucket.js";
import { Message } from "../../message/index.js";
import { deletesAfterServing, guardOf, type ChainContext } from "../context.js";
import { resolveServable, uriPath } from "../path-guard.js";
import { cleanedData, requestedUris } from "./push.js";

export async function handleAck(
  ctx: ChainContext,
  req: Message,
): Promise<Message> {
  const data = req.dataObject;
  const servable: string[] = [];
  const staged = ctx.stagedPath;
  if (staged !== undefined) {
    // A mirror: the ack names the upstream uri; what is ours is the staged copy (if it was ever fetched).
    const paths = requestedUris(data).map((uri) => staged(req, uri));
    if (paths.every((p) => p !== undefined)) {
      for (const path of paths) {
        ctx.ledger.acked(ctx.config.name, path, req.sender);
        void ctx.deleter.schedule(path, ctx.config.removeDelay);
      }
      return new Message(req.subject, "ack", cleanedData(data));
    }
  }
  for (const uri of requestedUris(data)) {
    if (
      typeof uri === "string" &&
      isBucketOrigin(ctx.config.origin) &&
      validate(ctx.config.origin, uri)
    )
      continue;
    try {
      servable.push(await resolveServable(uri, guardOf(ctx)));
    } catch (err) {
      if (
        err instanceof RefusedError &&
        err.message.endsWith(" not reachable")
      ) {
        ctx.log.warn(
          { uri: String(uri) },
          "ack for a file outside origin refused",
        );
        return new Message(req.subject, "err", err.message);
      }
      ctx.log.debug({ err, uri: String(uri) }, "ack for a file no longer here");
    }
  }
  for (const uri of requestedUris(data))
    if (typeof uri === "string")
      ctx.ledger.acked(ctx.config.name, uriPath(uri), req.sender);
  if (deletesAfterServing(ctx.config))
    for (const path of servable)
      void ctx.deleter.schedule(path, ctx.config.removeDelay);
  return new Message(req.subject, "ack", cleanedData(data));
}
