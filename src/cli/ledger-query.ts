/**
 * What `move_it_ledger` reads: the rows of a server ledger (table `files`)
 * or a client ledger (tables `client_files`, `client_offers`), filtered by
 * name glob, time and state, as plain objects. Read-only SQL on an open
 * database; opening it (read-only, safe while the daemon writes) is the
 * caller's.
 */
import type { Database } from "../ledger/sqlite.js";

export interface LedgerFilter {
  /** Glob on the file name (SQLite GLOB: `*`, `?`, `[...]`, case-sensitive). */
  name?: string;
  /** Announced at or after, ms since the epoch. */
  since?: number;
  state?: string;
  limit?: number;
}

/** A server row's state, from what happened to it last. */
export const SERVER_STATES = [
  "announced",
  "pushed",
  "acked",
  "deleted",
  "replaced",
] as const;
/** The client ledger's states. */
export const CLIENT_STATES = [
  "pending",
  "in_flight",
  "delivered",
  "failed",
  "given_up",
] as const;

export interface LedgerRow {
  ledger: "server" | "client";
  chain: string;
  name: string;
  uid: string;
  topic: string;
  state: string;
  announcedAt: string;
  /** Server: the file served. Client: where it was delivered. */
  where: string | null;
  /** Server: who pushed or acked it last. Client: the server it came from. */
  who: string | null;
  /** When the state was reached (push, ack, delete, delivery), if it has a time. */
  at: string | null;
  details: Record<string, unknown>;
}

const iso = (ms: number | null | undefined): string | null =>
  typeof ms === "number" ? new Date(ms).toISOString() : null;

interface ServerRaw {
  chain: string;
  uid: string;
  topic: string;
  path: string;
  size: number;
  checksum: string | null;
  announced_at: number;
  current: number;
  pushes: number;
  pushed_at: number | null;
  pushed_by: string | null;
  pushed_to: string | null;
  acked_at: number | null;
  acked_by: string | null;
  deleted_at: number | null;
  state: string;
}

const SERVER_STATE_SQL = `CASE WHEN deleted_at IS NOT NULL THEN 'deleted' WHEN current = 0 THEN 'replaced'
  WHEN acked_at IS NOT NULL AND (pushed_at IS NULL OR acked_at >= pushed_at) THEN 'acked'
  WHEN pushed_at IS NOT NULL THEN 'pushed' ELSE 'announced' END`;

export function queryServer(db: Database, f: LedgerFilter): LedgerRow[] {
  const where: string[] = [];
  const args: unknown[] = [];
  if (f.name !== undefined) {
    where.push("uid GLOB ?");
    args.push(f.name);
  }
  if (f.since !== undefined) {
    where.push("announced_at >= ?");
    args.push(f.since);
  }
  if (f.state !== undefined) {
    where.push("state = ?");
    args.push(f.state);
  }
  const sql = `SELECT * FROM (SELECT id, chain, uid, topic, path, size, checksum, announced_at, current, pushes, pushed_at, pushed_by, pushed_to, acked_at, acked_by, deleted_at, ${SERVER_STATE_SQL} AS state FROM files)
    ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id ${f.limit !== undefined ? "LIMIT ?" : ""}`;
  if (f.limit !== undefined) args.push(f.limit);
  const rows = db.prepare(sql).all(...args) as ServerRaw[];
  return rows.map((r) => {
    const pushedLast =
      r.pushed_at !== null && (r.acked_at === null || r.pushed_at > r.acked_at);
    return {
      ledger: "server",
      chain: r.chain,
      name: r.uid,
      uid: r.uid,
      topic: r.topic,
      state: r.state,
      announcedAt: iso(r.announced_at)!,
      where: r.path,
      who: pushedLast ? r.pushed_by : (r.acked_by ?? r.pushed_by),
      at: iso(
        r.state === "deleted"
          ? r.deleted_at
          : r.state === "acked"
            ? r.acked_at
            : r.state === "pushed"
              ? r.pushed_at
              : null,
      ),
      details: {
        size: r.size,
        checksum: r.checksum,
        pushes: r.pushes,
        pushedTo: r.pushed_to,
        pushedAt: iso(r.pushed_at),
        pushedBy: r.pushed_by,
        ackedAt: iso(r.acked_at),
        ackedBy: r.acked_by,
        deletedAt: iso(r.deleted_at),
      },
    };
  });
}

interface ClientRaw {
  chain: string;
  uid: string;
  name: string;
  topic: string;
  state: string;
  announced_at: number;
  push_sent_at: number | null;
  delivered_at: number | null;
  delivered_from: string | null;
  destination: string | null;
  bytes: number | null;
  checksum: string | null;
  attempts: number | null;
  last_error: string | null;
  next_try_at: number | null;
  updated_at: number | null;
  providers: string | null;
}

export function queryClient(db: Database, f: LedgerFilter): LedgerRow[] {
  const where: string[] = [];
  const args: unknown[] = [];
  if (f.name !== undefined) {
    where.push("f.name GLOB ?");
    args.push(f.name);
  }
  if (f.since !== undefined) {
    where.push("f.announced_at >= ?");
    args.push(f.since);
  }
  if (f.state !== undefined) {
    where.push("f.state = ?");
    args.push(f.state);
  }
  const sql = `SELECT f.chain, f.uid, f.name, f.topic, f.state, f.announced_at, f.push_sent_at, f.delivered_at, f.delivered_from, f.destination, f.bytes, f.checksum,
      f.attempts, f.last_error, f.next_try_at, f.updated_at,
      (SELECT group_concat(o.request_address, ' ') FROM client_offers o WHERE o.chain = f.chain AND o.uid = f.uid) AS providers
    FROM client_files f ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY f.announced_at ${f.limit !== undefined ? "LIMIT ?" : ""}`;
  if (f.limit !== undefined) args.push(f.limit);
  const rows = db.prepare(sql).all(...args) as ClientRaw[];
  return rows.map((r) => ({
    ledger: "client",
    chain: r.chain,
    name: r.name,
    uid: r.uid,
    topic: r.topic,
    state: r.state,
    announcedAt: iso(r.announced_at)!,
    where: r.destination,
    who: r.delivered_from,
    at: iso(r.state === "delivered" ? r.delivered_at : r.updated_at),
    details: {
      bytes: r.bytes,
      checksum: r.checksum,
      attempts: r.attempts,
      lastError: r.last_error,
      pushSentAt: iso(r.push_sent_at),
      deliveredAt: iso(r.delivered_at),
      nextTryAt: iso(r.next_try_at),
      offeredBy: r.providers === null ? [] : r.providers.split(" "),
    },
  }));
}

/** `6h`, `30m`, `2d`, `90s`, `1w` or an ISO-8601 time → ms since the epoch; undefined if neither. */
export function parseSince(text: string, now = Date.now()): number | undefined {
  const rel = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(text.trim());
  if (rel !== null) {
    const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[
      rel[2] as "s" | "m" | "h" | "d" | "w"
    ];
    return now - Number(rel[1]) * unit * 1000;
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return undefined;
  // A time without an offset is UTC, as posttroll's are.
  const ms = Date.parse(
    /[zZ]|[+-]\d{2}:?\d{2}$/.test(text) || text.length <= 10
      ? text
      : `${text}Z`,
  );
  return Number.isNaN(ms) ? undefined : ms;
}
