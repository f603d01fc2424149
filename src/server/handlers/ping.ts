/**
 * `ping` → `pong` with the station name (all the reference sends), plus a
 * `move_it` object: this process's `instance` and `catchup: true`. A ping
 * whose data names a `push_uid` also gets `push_running`: is a push of that
 * uid in flight on this chain now.
 */
import { Message, type JsonValue } from "../../message/index.js";
import type { ChainContext } from "../context.js";
import { SERVER_INSTANCE } from "../instance.js";

export function handlePing(ctx: ChainContext, req: Message): Promise<Message> {
  const data: Record<string, JsonValue> = { station: ctx.config.station, move_it: { instance: SERVER_INSTANCE, catchup: true } };
  const uid = req.dataObject["push_uid"];
  if (typeof uid === "string") data["push_running"] = ctx.running.has(uid);
  return Promise.resolve(new Message(req.subject, "pong", data));
}
