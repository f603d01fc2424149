/**
 * `ack`: the client got the file elsewhere (or already had it). Schedule
 * deletion as after a push, if the file is one we may serve; always answer.
 */
import { Message } from "../../message/index.js";
import { deletesAfterServing, guardOf, type ChainContext } from "../context.js";
import { resolveServable, uriPath } from "../path-guard.js";
import { cleanedData, requestedUris } from "./push.js";

export async function handleAck(ctx: ChainContext, req: Message): Promise<Message> {
  const data = req.dataObject;
  for (const uri of requestedUris(data)) if (typeof uri === "string") ctx.ledger.acked(ctx.config.name, uriPath(uri), req.sender);
  if (deletesAfterServing(ctx.config)) {
    for (const uri of requestedUris(data)) {
      try {
        const path = await resolveServable(uri, guardOf(ctx));
        ctx.deleter.schedule(path, ctx.config.removeDelay);
      } catch (err) {
        ctx.log.debug({ err, uri: String(uri) }, "ack for a file not ours");
      }
    }
  }
  return new Message(req.subject, "ack", cleanedData(data));
}
