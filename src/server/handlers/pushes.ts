/**
 * `pushes`: several pushes in one request, for move_it clients (a Python
 * client never sends it; docs/protocol.md). Each item is the data of one
 * `push` and is served exactly as that push would be, all of them at once;
 * the reply lists what each push would have been answered, in order. A
 * client waiting on the request asks about one of its uids (`push_running`),
 * so every item's uid counts as running until the whole reply goes out, not
 * only while its own push runs.
 *
 * A batch is answered when its last push ends, so one long push would hold
 * back the replies of all the others (and the client's push slots they
 * take). Only pushes that end soon are served in a batch: each file the item
 * names announced by this chain and at most `BATCH_QUICK_BYTES` long. Any
 * other item is answered `deferred`, not carried out, and the client sends it
 * again as a `push` of its own. So are all the items of a chain that fetches
 * what it serves from elsewhere (the mirror's relays, a bucket).
 */
import { RefusedError } from "../../errors.js";
import { Message, type JsonValue } from "../../message/index.js";
import type { ChainContext } from "../context.js";
import { uriPath } from "../path-guard.js";
import { MAX_BATCH_PUSHES } from "./ping.js";
import { requestedItems, requestedUids } from "./push.js";

/** The longest file a push served inside a batch may name, bytes. */
export const BATCH_QUICK_BYTES = 4 * 1024 * 1024;

/** The reply type of an item not carried out in the batch (sent again on its own). */
export const DEFERRED = "deferred";

/** Serves one item as a `push` request; never throws (a failure is its `err` reply). */
export type AnswerOne = (push: Message) => Promise<Message>;

function isPlainObject(v: unknown): v is Record<string, JsonValue> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The items of a `pushes` request. @throws RefusedError naming what is wrong with it. */
function itemsOf(req: Message): Record<string, JsonValue>[] {
  const items = req.dataObject["pushes"];
  if (!Array.isArray(items) || items.length === 0)
    throw new RefusedError("'pushes' must be a non-empty list of push data");
  if (items.length > MAX_BATCH_PUSHES)
    throw new RefusedError(
      `'pushes' holds ${items.length} items, at most ${MAX_BATCH_PUSHES} are taken`,
    );
  items.forEach((item, i) => {
    if (!isPlainObject(item))
      throw new RefusedError(`'pushes' item ${i} is not an object`);
  });
  return items as Record<string, JsonValue>[];
}

export async function handlePushes(
  ctx: ChainContext,
  req: Message,
  one: AnswerOne,
): Promise<Message> {
  const pushes = itemsOf(req).map(
    (data) =>
      new Message(req.subject, "push", data, {
        sender: req.sender,
        time: req.time,
      }),
  );
  const uids = pushes.flatMap((p) => requestedUids(p.dataObject));
  const replies = await ctx.running.around(uids, () =>
    Promise.all(
      pushes.map((p) =>
        quick(ctx, p)
          ? one(p)
          : Promise.resolve(new Message(req.subject, DEFERRED)),
      ),
    ),
  );
  return new Message(req.subject, "pushes", {
    replies: replies.map((r) => ({ type: r.type, data: r.data ?? null })),
  });
}

/** Does this push end soon: every file it names announced here and short (see the module comment)? */
function quick(ctx: ChainContext, push: Message): boolean {
  if (ctx.sourceHook !== undefined) return false;
  return requestedItems(push.dataObject).every(({ uri }) => {
    // No usable uri: refused at once.
    if (typeof uri !== "string") return true;
    const entry = ctx.ledger.lookup(ctx.config.name, uriPath(uri));
    return entry !== undefined && entry.size <= BATCH_QUICK_BYTES;
  });
}
