/**
 * `ping` → `pong` with the station name (all the reference sends), plus a
 * `move_it` object: this process's `instance`, `catchup: true`, and
 * `max_concurrent_pushes`: how many pushes a client may have in flight here
 * at once (a client sends a server that says nothing, a Python one, one
 * push at a time), and `pushes`: how many one `pushes` request may carry
 * (left out by a chain that fetches what it serves). A ping whose data
 * names a `push_uid` also gets `push_running`: is a push of that uid in
 * flight on this chain now.
 */
import { Message, type JsonValue } from "../../message/index.js";
import type { ChainContext } from "../context.js";
import { SERVER_INSTANCE } from "../instance.js";

/**
 * Pushes a client may send at once. Each push runs on its own: movers pool
 * their connections per host and a push waits for a free one rather than
 * sharing it, so the bound only keeps one client from flooding a chain.
 */
export const MAX_CONCURRENT_PUSHES = 32;

/** Pushes one `pushes` request may carry (docs/protocol.md): no more than may run at once. */
export const MAX_BATCH_PUSHES = MAX_CONCURRENT_PUSHES;

export function handlePing(ctx: ChainContext, req: Message): Promise<Message> {
  const data: Record<string, JsonValue> = {
    station: ctx.config.station,
    move_it: {
      instance: SERVER_INSTANCE,
      catchup: true,
      max_concurrent_pushes: MAX_CONCURRENT_PUSHES,
      // A chain that fetches what it serves (the mirror's relays, a bucket) would defer every item of a batch.
      ...(ctx.sourceHook === undefined ? { pushes: MAX_BATCH_PUSHES } : {}),
    },
  };
  const uid = req.dataObject["push_uid"];
  if (typeof uid === "string") data["push_running"] = ctx.running.has(uid);
  return Promise.resolve(new Message(req.subject, "pong", data));
}
