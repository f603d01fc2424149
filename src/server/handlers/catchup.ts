/**
 * `catchup`: "what did you announce on topic T since S?", answered from the
 * ledger with the announcements exactly as first published, oldest first,
 * of files still servable (not deleted, still on disk), in pages:
 *
 *   request data  {"topic": "/a/b", "since": "2026-12-01T10:00:00", "after": 1234, "limit": 200}
 *   reply data    {"messages": ["pytroll://a/b/c file ...", ...], "next": 1434 | null}
 *
 * `topic` defaults to the request's subject and matches as posttroll's
 * subscriptions do (a string prefix); every chain of this server is
 * searched. A bucket section's objects (rows whose path is their `s3://`
 * uri) are offered without a look at the store: a push of one since removed
 * is answered `err` (`no such object`). A file named in a reply is kept `remove_delay` longer if its
 * deletion was due: the asking client has not fetched it yet. A mirror
 * offers the files it relayed, staged or not, until their staged copy is
 * deleted after a push or ack.
 */
import { stat } from "node:fs/promises";
import { RefusedError } from "../../errors.js";
import { Message, type JsonValue } from "../../message/index.js";
import { DateTime } from "../../util/datetime.js";
import { isBucketOrigin } from "../bucket.js";
import type { ChainContext } from "../context.js";

export const CATCHUP_DEFAULT_LIMIT = 200;
export const CATCHUP_MAX_LIMIT = 1000;

interface CatchupQuery {
  topic: string;
  since: number;
  after: number;
  limit: number;
}

function isCount(v: JsonValue | undefined): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0;
}

/** Validate the request data; a RefusedError's message is the `err` reply. */
export function catchupQuery(req: Message): CatchupQuery {
  const data = req.dataObject;
  const topic = data["topic"] ?? req.subject;
  if (typeof topic !== "string" || topic === "")
    throw new RefusedError(
      `catchup: topic must be a non-empty string, got ${JSON.stringify(topic)}`,
    );
  const sinceText = data["since"];
  const since =
    typeof sinceText === "string"
      ? DateTime.parseIso(sinceText)
      : sinceText instanceof DateTime
        ? sinceText
        : undefined;
  if (since === undefined)
    throw new RefusedError(
      `catchup: since must be an ISO-8601 UTC time such as 2026-12-01T10:00:00, got ${JSON.stringify(String(sinceText))}`,
    );
  const after = data["after"] ?? 0;
  if (after !== null && !isCount(after))
    throw new RefusedError(
      `catchup: after must be the non-negative integer 'next' of the previous reply, got ${JSON.stringify(String(after))}`,
    );
  const limit = data["limit"] ?? CATCHUP_DEFAULT_LIMIT;
  if (!isCount(limit) || limit === 0)
    throw new RefusedError(
      `catchup: limit must be a positive integer, got ${JSON.stringify(String(limit))}`,
    );
  return {
    topic,
    since: since.valueOf(),
    after: after ?? 0,
    limit: Math.min(limit, CATCHUP_MAX_LIMIT),
  };
}

async function present(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

export async function handleCatchup(
  ctx: ChainContext,
  req: Message,
): Promise<Message> {
  const q = catchupQuery(req);
  const messages: string[] = [];
  // A dataset announcement is one row per file: offer it once a page.
  const offered = new Set<string>();
  let cursor = q.after;
  let more = true;
  // Rows whose file has gone are skipped (and marked deleted), so a page may take more than one query.
  while (messages.length < q.limit && more) {
    const want = q.limit - messages.length;
    const rows = ctx.ledger.catchup(q.topic, q.since, cursor, want + 1);
    more = rows.length > want;
    for (const row of rows.slice(0, want)) {
      cursor = row.id;
      // A mirror's relayed file is offered before it is staged: the mirror fetches it when asked.
      if (
        ctx.stagedPath !== undefined ||
        isBucketOrigin(row.path) ||
        (await present(row.path))
      ) {
        if (!offered.has(row.message)) messages.push(row.message);
        offered.add(row.message);
        ctx.keep(row.chain, row.path);
      } else {
        void ctx.ledger.deleted(row.chain, row.path).catch(() => undefined);
      }
    }
  }
  ctx.log.debug(
    { topic: q.topic, since: q.since, after: q.after, count: messages.length },
    "catch-up answered",
  );
  return new Message(req.subject, "catchup", {
    messages,
    next: more ? cursor : null,
  });
}
