/** `ping` → `pong` with the station name. */
import { Message } from "../../message/index.js";
import type { ChainContext } from "../context.js";

export function handlePing(ctx: ChainContext, req: Message): Promise<Message> {
  return Promise.resolve(new Message(req.subject, "pong", { station: ctx.config.station }));
}
