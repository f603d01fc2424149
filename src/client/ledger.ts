/**
 * The client's ledger: every file a chain heard of, who offered it, what
 * became of it. It is the client's memory (no in-memory bound on files) and
 * what makes delivery exactly-once across restarts: delivered files are
 * never fetched again, pending and in-flight ones are resumed. Writes are
 * queued and committed in batches by the base `Ledger`; reads are
 * synchronous and see committed rows only, so the coordinator keeps what it
 * has in flight in memory until the write is committed.
 * Table layout: docs/ledger.md (client part).
 */
import { Ledger, type LedgerSchema } from "../ledger/sqlite.js";
import { Message } from "../message/index.js";

// better-sqlite3 is imported by ledger/sqlite.ts alone: its types are taken from there.
type Database = Ledger["db"];
interface Statement {
  run(...params: unknown[]): { changes: number };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

/** What became of a file. `failed`: the last round failed, a retry is due at `next_try_at`. */
export type FileState =
  "pending" | "in_flight" | "delivered" | "failed" | "given_up";

/** The schema, version = migrations.length. */
export const CLIENT_SCHEMA: LedgerSchema = {
  kind: "client",
  migrations: [
    `CREATE TABLE client_files (
       chain TEXT NOT NULL, uid TEXT NOT NULL, name TEXT, topic TEXT NOT NULL, type TEXT NOT NULL,
       state TEXT NOT NULL, announced_at INTEGER NOT NULL, push_sent_at INTEGER, delivered_at INTEGER,
       delivered_from TEXT, destination TEXT, bytes INTEGER, checksum TEXT,
       attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, next_try_at INTEGER, updated_at INTEGER NOT NULL,
       PRIMARY KEY (chain, uid)) WITHOUT ROWID;
     CREATE INDEX client_files_due ON client_files (chain, state, next_try_at);
     CREATE INDEX client_files_updated ON client_files (updated_at);
     CREATE TABLE client_offers (
       chain TEXT NOT NULL, uid TEXT NOT NULL, request_address TEXT NOT NULL, provider TEXT NOT NULL,
       message TEXT NOT NULL, announced_at INTEGER NOT NULL,
       PRIMARY KEY (chain, uid, request_address)) WITHOUT ROWID;
     CREATE TABLE client_providers (
       chain TEXT NOT NULL, provider TEXT NOT NULL, request_address TEXT NOT NULL,
       last_heard_at INTEGER, catchup TEXT,
       PRIMARY KEY (chain, provider, request_address)) WITHOUT ROWID;`,
  ],
};

/** One file's row, as the coordinator needs it. */
export interface FileRecord {
  readonly key: string;
  readonly state: FileState;
  readonly attempts: number;
  readonly announcedAt: number;
  readonly pushSentAt: number | undefined;
  readonly deliveredFrom: string | undefined;
  readonly nextTryAt: number | undefined;
}

/** One server's announcement of a file, as stored. */
export interface StoredOffer {
  readonly msg: Message;
  readonly address: string;
  readonly provider: string;
}

/** What a delivery produced. */
export interface DeliveryRecord {
  from: string;
  destination: string;
  bytes?: number | undefined;
  checksum?: string | undefined;
}

/** A request address a chain learned from a provider's announcements. */
export interface KnownServer {
  readonly provider: string;
  readonly address: string;
  readonly lastHeardAt: number | undefined;
  readonly catchup: string | undefined;
}

/** The ledger as one chain's coordinator uses it: narrow, one chain's rows. */
export interface FileBook {
  /** The committed row of a file, if any. */
  get(key: string): FileRecord | undefined;
  /** Record an announcement: the file (pending when new) and this server's offer. */
  offer(
    key: string,
    msg: Message,
    address: string,
    provider: string,
  ): Promise<void>;
  /** Every stored offer of a file, oldest first. */
  offers(key: string): StoredOffer[];
  /** A push of the file was sent to `address`. */
  sent(key: string, address: string): Promise<void>;
  delivered(key: string, rec: DeliveryRecord): Promise<void>;
  /** Every provider failed this round; retry at `nextTryAt`. */
  failed(key: string, error: string, nextTryAt: number): Promise<void>;
  givenUp(key: string, error: string): Promise<void>;
  /** Files to (re)try now: pending, in flight (from an earlier run) or failed and due; oldest first. */
  due(now: number, limit: number, skip: (key: string) => boolean): FileRecord[];
  /** The earliest `next_try_at` of a file waiting for a retry. */
  nextDue(): number | undefined;
  /** Make failed files (offered by `provider`, or all) due now; resolves once committed. */
  wake(provider?: string): Promise<void>;
  /** The provider was heard (beats or messages). */
  heard(provider: string): void;
  /** Request addresses learned from announcements, with when their provider was last heard. */
  servers(): KnownServer[];
  /** Remember whether a server answers catch-up requests. */
  catchup(provider: string, address: string, supported: boolean): Promise<void>;
  /** A server learned from a provider's heartbeat rather than an announcement (kept like one). */
  learned(provider: string, address: string): Promise<void>;
  /** Committed rows of each state but delivered (those can be many; the rest are few and indexed). */
  counts(): FileCounts;
}

/** A chain's files in the ledger by state (see FileBook.counts). */
export interface FileCounts {
  /** Heard of, no push sent yet. */
  pending: number;
  /** A push sent, no outcome yet. */
  inFlight: number;
  /** Every provider failed; waiting for the retry backoff. */
  failed: number;
  /** Not delivered within max_retry_age; kept for ledger_retention. */
  givenUp: number;
}

const FILE_COLUMNS =
  "uid, state, attempts, announced_at, push_sent_at, delivered_from, next_try_at";

interface FileRow {
  uid: string;
  state: FileState;
  attempts: number;
  announced_at: number;
  push_sent_at: number | null;
  delivered_from: string | null;
  next_try_at: number | null;
}

function toRecord(row: FileRow): FileRecord {
  return {
    key: row.uid,
    state: row.state,
    attempts: row.attempts,
    announcedAt: row.announced_at,
    pushSentAt: row.push_sent_at ?? undefined,
    deliveredFrom: row.delivered_from ?? undefined,
    nextTryAt: row.next_try_at ?? undefined,
  };
}

/** The base name of the announced `uri`, for queries by name. */
function nameOf(msg: Message): string | null {
  const uri = msg.dataObject["uri"];
  if (typeof uri !== "string") return null;
  return uri.slice(uri.lastIndexOf("/") + 1) || null;
}

/** How often a provider's `last_heard_at` is written at most, ms. */
const HEARD_EVERY_MS = 5_000;

/** The client's ledger file, shared by its chains. */
export class ClientLedger {
  readonly ledger: Ledger;
  private readonly st: ReturnType<typeof prepare>;

  private constructor(
    ledger: Ledger,
    private readonly onRejected: (err: unknown) => void,
  ) {
    this.ledger = ledger;
    this.st = prepare(ledger.db);
  }

  /**
   * Open (create) the ledger at `path` (":memory:" for one that lives as long as the process).
   * @throws LedgerError on a corrupt, unreadable, foreign or newer file.
   */
  static open(
    path: string,
    opts: {
      onWriteError?: (err: Error, pending: number) => void;
      onRejected?: (err: unknown) => void;
    } = {},
  ): ClientLedger {
    return new ClientLedger(
      Ledger.open(path, CLIENT_SCHEMA, { onWriteError: opts.onWriteError }),
      opts.onRejected ?? (() => undefined),
    );
  }

  /** One chain's view. */
  book(chain: string, clock: () => number = Date.now): FileBook {
    return new ChainBook(chain, this.ledger, this.st, clock, this.onRejected);
  }

  /** Forget a chain's delivered and given-up files not touched for `retentionMs`; how many. */
  prune(chain: string, retentionMs: number, now = Date.now()): Promise<number> {
    const cutoff = now - retentionMs;
    let n = 0;
    return this.ledger
      .write(() => {
        this.st.pruneOffers.run(chain, chain, cutoff);
        n = this.st.pruneFiles.run(chain, cutoff).changes;
      })
      .then(
        () => n,
        (err: unknown) => (this.onRejected(err), 0),
      );
  }

  /** Flush and close. */
  close(): void {
    this.ledger.close();
  }
}

function prepare(db: Database) {
  const s = (sql: string): Statement => db.prepare(sql);
  return {
    get: s(
      `SELECT ${FILE_COLUMNS} FROM client_files WHERE chain = ? AND uid = ?`,
    ),
    insertFile: s(
      `INSERT INTO client_files (chain, uid, name, topic, type, state, announced_at, next_try_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)
       ON CONFLICT (chain, uid) DO UPDATE SET
         state = CASE WHEN state IN ('failed', 'given_up') THEN 'pending' ELSE state END,
         next_try_at = CASE WHEN state IN ('failed', 'given_up') THEN excluded.next_try_at ELSE next_try_at END,
         announced_at = CASE WHEN state = 'given_up' THEN excluded.announced_at ELSE announced_at END,
         attempts = CASE WHEN state = 'given_up' THEN 0 ELSE attempts END,
         updated_at = excluded.updated_at`,
    ),
    insertOffer: s(
      `INSERT INTO client_offers (chain, uid, request_address, provider, message, announced_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET message = excluded.message, provider = excluded.provider`,
    ),
    insertServer: s(
      `INSERT INTO client_providers (chain, provider, request_address, last_heard_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    ),
    offers: s(
      `SELECT request_address, provider, message FROM client_offers WHERE chain = ? AND uid = ? ORDER BY announced_at`,
    ),
    sent: s(
      `UPDATE client_files SET state = 'in_flight', attempts = attempts + 1, push_sent_at = ?, delivered_from = ?, updated_at = ? WHERE chain = ? AND uid = ? AND state != 'delivered'`,
    ),
    delivered: s(
      `UPDATE client_files SET state = 'delivered', delivered_at = ?, delivered_from = ?, destination = ?, bytes = ?, checksum = ?,
       last_error = NULL, next_try_at = NULL, updated_at = ? WHERE chain = ? AND uid = ?`,
    ),
    failed: s(
      `UPDATE client_files SET state = 'failed', last_error = ?, next_try_at = ?, updated_at = ? WHERE chain = ? AND uid = ? AND state != 'delivered'`,
    ),
    givenUp: s(
      `UPDATE client_files SET state = 'given_up', last_error = ?, next_try_at = NULL, updated_at = ? WHERE chain = ? AND uid = ? AND state != 'delivered'`,
    ),
    due: s(
      `SELECT ${FILE_COLUMNS} FROM client_files WHERE chain = ? AND state IN ('pending', 'in_flight', 'failed')
       AND (next_try_at IS NULL OR next_try_at <= ?) ORDER BY next_try_at, announced_at LIMIT ?`,
    ),
    nextDue: s(
      `SELECT MIN(next_try_at) AS at FROM client_files WHERE chain = ? AND state IN ('pending', 'in_flight', 'failed')`,
    ),
    wakeAll: s(
      `UPDATE client_files SET next_try_at = ? WHERE chain = ? AND state = 'failed' AND next_try_at > ?`,
    ),
    wakeProvider: s(
      `UPDATE client_files SET next_try_at = ? WHERE chain = ? AND state = 'failed' AND next_try_at > ?
       AND uid IN (SELECT uid FROM client_offers WHERE chain = ? AND provider = ?)`,
    ),
    heard: s(
      `UPDATE client_providers SET last_heard_at = ? WHERE chain = ? AND provider = ?`,
    ),
    servers: s(
      `SELECT provider, request_address, last_heard_at, catchup FROM client_providers WHERE chain = ? ORDER BY provider, request_address`,
    ),
    catchup: s(
      `UPDATE client_providers SET catchup = ? WHERE chain = ? AND provider = ? AND request_address = ?`,
    ),
    counts: s(
      `SELECT state, COUNT(*) AS n FROM client_files WHERE chain = ? AND state IN ('pending', 'in_flight', 'failed', 'given_up') GROUP BY state`,
    ),
    pruneOffers: s(
      `DELETE FROM client_offers WHERE chain = ? AND uid IN
       (SELECT uid FROM client_files WHERE chain = ? AND state IN ('delivered', 'given_up') AND updated_at < ?)`,
    ),
    pruneFiles: s(
      `DELETE FROM client_files WHERE chain = ? AND state IN ('delivered', 'given_up') AND updated_at < ?`,
    ),
  };
}

class ChainBook implements FileBook {
  private readonly lastHeard = new Map<string, number>();
  private lastCounts: FileCounts = {
    pending: 0,
    inFlight: 0,
    failed: 0,
    givenUp: 0,
  };
  private readonly servers_ = new Set<string>();

  constructor(
    private readonly chain: string,
    private readonly ledger: Ledger,
    private readonly st: ReturnType<typeof prepare>,
    private readonly clock: () => number,
    private readonly onRejected: (err: unknown) => void,
  ) {}

  /** Queue a change; a change refused (closed ledger, a bug) is reported, never an unhandled rejection. */
  private write(fn: () => void): Promise<void> {
    return this.ledger.write(fn).catch(this.onRejected);
  }

  get(key: string): FileRecord | undefined {
    const row = this.ledger.read(() => this.st.get.get(this.chain, key)) as
      FileRow | undefined;
    return row === undefined ? undefined : toRecord(row);
  }

  offer(
    key: string,
    msg: Message,
    address: string,
    provider: string,
  ): Promise<void> {
    const now = this.clock();
    const encoded = msg.encode();
    const server = `${provider} ${address}`;
    const newServer = !this.servers_.has(server);
    if (newServer) this.servers_.add(server);
    return this.write(() => {
      this.st.insertFile.run(
        this.chain,
        key,
        nameOf(msg),
        msg.subject,
        msg.type,
        now,
        now,
        now,
      );
      this.st.insertOffer.run(this.chain, key, address, provider, encoded, now);
      if (newServer)
        this.st.insertServer.run(this.chain, provider, address, now);
    });
  }

  offers(key: string): StoredOffer[] {
    const rows = this.ledger.read(() =>
      this.st.offers.all(this.chain, key),
    ) as Array<{ request_address: string; provider: string; message: string }>;
    const out: StoredOffer[] = [];
    for (const row of rows) {
      try {
        out.push({
          msg: Message.decode(row.message),
          address: row.request_address,
          provider: row.provider,
        });
      } catch {
        // A row this version cannot decode is skipped, not fatal.
      }
    }
    return out;
  }

  sent(key: string, address: string): Promise<void> {
    const now = this.clock();
    return this.write(() =>
      this.st.sent.run(now, address, now, this.chain, key),
    );
  }

  delivered(key: string, rec: DeliveryRecord): Promise<void> {
    const now = this.clock();
    return this.write(() =>
      this.st.delivered.run(
        now,
        rec.from,
        rec.destination,
        rec.bytes ?? null,
        rec.checksum ?? null,
        now,
        this.chain,
        key,
      ),
    );
  }

  failed(key: string, error: string, nextTryAt: number): Promise<void> {
    const now = this.clock();
    return this.write(() =>
      this.st.failed.run(error, nextTryAt, now, this.chain, key),
    );
  }

  givenUp(key: string, error: string): Promise<void> {
    const now = this.clock();
    return this.write(() => this.st.givenUp.run(error, now, this.chain, key));
  }

  due(
    now: number,
    limit: number,
    skip: (key: string) => boolean,
  ): FileRecord[] {
    const out: FileRecord[] = [];
    // Ask for more than needed: rows in flight in memory are skipped.
    const rows = this.ledger.read(() =>
      this.st.due.all(this.chain, now, limit * 2 + 16),
    ) as FileRow[];
    for (const row of rows) {
      if (out.length >= limit) break;
      if (!skip(row.uid)) out.push(toRecord(row));
    }
    return out;
  }

  nextDue(): number | undefined {
    const row = this.ledger.read(() => this.st.nextDue.get(this.chain)) as
      { at: number | null } | undefined;
    return row?.at ?? undefined;
  }

  wake(provider?: string): Promise<void> {
    const now = this.clock();
    return this.write(() => {
      if (provider === undefined) this.st.wakeAll.run(now, this.chain, now);
      else this.st.wakeProvider.run(now, this.chain, now, this.chain, provider);
    });
  }

  heard(provider: string): void {
    const now = this.clock();
    if (now - (this.lastHeard.get(provider) ?? 0) < HEARD_EVERY_MS) return;
    this.lastHeard.set(provider, now);
    void this.write(() => this.st.heard.run(now, this.chain, provider));
  }

  servers(): KnownServer[] {
    const rows = this.ledger.read(() =>
      this.st.servers.all(this.chain),
    ) as Array<{
      provider: string;
      request_address: string;
      last_heard_at: number | null;
      catchup: string | null;
    }>;
    return rows.map((r) => ({
      provider: r.provider,
      address: r.request_address,
      lastHeardAt: r.last_heard_at ?? undefined,
      catchup: r.catchup ?? undefined,
    }));
  }

  learned(provider: string, address: string): Promise<void> {
    const server = `${provider} ${address}`;
    if (this.servers_.has(server)) return Promise.resolve();
    this.servers_.add(server);
    const now = this.clock();
    return this.write(() =>
      this.st.insertServer.run(this.chain, provider, address, now),
    );
  }

  catchup(
    provider: string,
    address: string,
    supported: boolean,
  ): Promise<void> {
    return this.write(() =>
      this.st.catchup.run(
        supported ? "yes" : "no",
        this.chain,
        provider,
        address,
      ),
    );
  }

  counts(): FileCounts {
    try {
      const rows = this.ledger.read(() =>
        this.st.counts.all(this.chain),
      ) as Array<{ state: FileState; n: number }>;
      const n = (state: FileState): number =>
        rows.find((r) => r.state === state)?.n ?? 0;
      this.lastCounts = {
        pending: n("pending"),
        inFlight: n("in_flight"),
        failed: n("failed"),
        givenUp: n("given_up"),
      };
    } catch {
      // The ledger closed (stats read after a stop): the last counts read.
    }
    return { ...this.lastCounts };
  }
}
