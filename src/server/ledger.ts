/**
 * The server's ledger: one SQLite file per daemon (`<state dir>/server.ledger.sqlite`)
 * holding every file a chain announced (the announcement exactly as sent,
 * who pushed or acked it and when, when it was deleted) and the deletion
 * schedule. It is what `catchup` answers from, what the push checks ask
 * "did we announce this path?", and what the reconcile scan compares with.
 *
 * Writes are queued and committed in batches by the base `Ledger`; until a
 * batch commits, the rows it adds are kept in a small map here so a read
 * right after an announcement already sees it. A failed commit (disk full)
 * is retried by the base; transfers go on meanwhile.
 */
import {
  Ledger,
  ledgerPath,
  type Database,
  type LedgerSchema,
} from "../ledger/sqlite.js";
import type { Logger } from "../log.js";
import type { RemoteTemporary } from "../movers/mover.js";

/** Schema migrations of the server ledger; version = length. Never edit a shipped entry: append. */
export const SERVER_LEDGER_SCHEMA: LedgerSchema = {
  kind: "server",
  migrations: [
    `CREATE TABLE files (
       id INTEGER PRIMARY KEY AUTOINCREMENT,
       chain TEXT NOT NULL,
       uid TEXT NOT NULL,
       topic TEXT NOT NULL,
       path TEXT NOT NULL,
       root TEXT NOT NULL,
       original_path TEXT NOT NULL,
       size INTEGER NOT NULL,
       mtime_ns TEXT NOT NULL,
       inode TEXT NOT NULL,
       checksum TEXT,
       message TEXT NOT NULL,
       announced_at INTEGER NOT NULL,
       current INTEGER NOT NULL DEFAULT 1,
       pushes INTEGER NOT NULL DEFAULT 0,
       pushed_at INTEGER,
       pushed_by TEXT,
       pushed_to TEXT,
       acked_at INTEGER,
       acked_by TEXT,
       deleted_at INTEGER
     );
     CREATE INDEX files_path ON files(chain, path, current);
     CREATE INDEX files_announced ON files(announced_at);
     CREATE INDEX files_uid ON files(uid);
     CREATE INDEX files_original ON files(chain, original_path);
     CREATE TABLE deletions (
       chain TEXT NOT NULL,
       path TEXT NOT NULL,
       due INTEGER NOT NULL,
       PRIMARY KEY (chain, path)
     );
     CREATE INDEX deletions_due ON deletions(chain, due);`,
    // A bucket section's start-after marker: the last key announced (or passed over) in its listing.
    `CREATE TABLE bucket_markers (
       chain TEXT PRIMARY KEY,
       origin TEXT NOT NULL,
       marker TEXT NOT NULL,
       updated_at INTEGER NOT NULL
     ) WITHOUT ROWID;`,
    // Temporaries of ftp/sftp/scp uploads, noted before each upload starts and struck off once renamed or
    // removed: those a crash left are removed from their remote at the next start (docs/ledger.md).
    `CREATE TABLE remote_temporaries (
       scheme TEXT NOT NULL,
       host TEXT NOT NULL,
       port INTEGER NOT NULL,
       user TEXT NOT NULL,
       path TEXT NOT NULL,
       final TEXT NOT NULL,
       chain TEXT NOT NULL,
       destination TEXT NOT NULL,
       noted_at INTEGER NOT NULL,
       PRIMARY KEY (scheme, host, port, path)
     ) WITHOUT ROWID;`,
  ],
};

/** File name (under the state dir) of a daemon's server ledger. */
export const SERVER_LEDGER_NAME = "server";

/** A file as a chain announced it. */
export interface AnnouncedFile {
  chain: string;
  uid: string;
  topic: string;
  /** Absolute path served (the unpacked one when unpacking). */
  path: string;
  /** Directory the path must stay inside after resolving links. */
  root: string;
  /** The file the event was about (the packed one when unpacking). */
  originalPath: string;
  size: number;
  mtimeNs: bigint;
  inode: bigint;
  checksum: string | undefined;
  /** The announcement, encoded exactly as published. */
  message: string;
  announcedAt: number;
}

/** What a path lookup returns. */
export interface LedgerEntry {
  id: number;
  uid: string;
  root: string;
  size: number;
  mtimeNs: string;
  inode: string;
  deletedAt: number | null;
}

/** One row a catch-up page offers (the caller checks the file is still there). */
export interface CatchupRow {
  id: number;
  chain: string;
  path: string;
  message: string;
}

/** A remote temporary as the journal keeps it: where, for which chain's push, and when it was noted. */
export interface NotedTemporary extends RemoteTemporary {
  chain: string;
  /** The final file's URL, without credentials. */
  destination: string;
  notedAt: number;
}

/** A prepared statement taking any parameters (better-sqlite3's type, reached through the base). */
type Statement = {
  run(...args: unknown[]): { changes: number };
  get(...args: unknown[]): unknown;
  all(...args: unknown[]): unknown[];
};

interface Statements {
  insert: Statement;
  supersede: Statement;
  byPath: Statement;
  byOriginal: Statement;
  pushed: Statement;
  acked: Statement;
  deleted: Statement;
  schedule: Statement;
  postpone: Statement;
  unschedule: Statement;
  due: Statement;
  nextDue: Statement;
  catchup: Statement;
  prune: Statement;
  count: Statement;
  marker: Statement;
  setMarker: Statement;
  noteTemporary: Statement;
  dropTemporary: Statement;
  temporariesOn: Statement;
  temporaryRemotes: Statement;
  allTemporaries: Statement;
}

export class ServerLedger {
  /** Rows announced but not committed yet, by `chain\npath`. */
  private readonly uncommitted = new Map<
    string,
    LedgerEntry & { chain: string }
  >();
  private readonly st: Statements;
  private nextPendingId = -1;

  private constructor(
    readonly ledger: Ledger,
    private readonly log: Logger,
  ) {
    this.st = prepare(ledger.db);
  }

  /**
   * Open (create) the daemon's ledger in `stateDir`, or an in-memory one when
   * there is none (library use). Throws the base's LedgerError for a corrupt,
   * unreadable or newer-schema file: the daemon must not start without it.
   */
  static open(
    stateDir: string | undefined,
    log: Logger,
    onWriteError?: (err: Error, pending: number) => void,
  ): ServerLedger {
    const path =
      stateDir === undefined
        ? ":memory:"
        : ledgerPath(stateDir, SERVER_LEDGER_NAME);
    const ledger = Ledger.open(path, SERVER_LEDGER_SCHEMA, {
      onWriteError: (err, pending) => {
        log.error(
          { err, pending, file: path },
          "ledger write failed, retrying",
        );
        onWriteError?.(err, pending);
      },
    });
    return new ServerLedger(ledger, log);
  }

  get path(): string {
    return this.ledger.path;
  }

  get writeErrors(): number {
    return this.ledger.writeErrors;
  }

  /** Record an announcement; older rows of the same path stop being current. */
  announced(f: AnnouncedFile): Promise<void> {
    const key = `${f.chain}\n${f.path}`;
    const entry = {
      chain: f.chain,
      id: this.nextPendingId--,
      uid: f.uid,
      root: f.root,
      size: f.size,
      mtimeNs: String(f.mtimeNs),
      inode: String(f.inode),
      deletedAt: null,
    };
    this.uncommitted.set(key, entry);
    const done = this.ledger.write(() => {
      this.st.supersede.run(f.chain, f.path);
      this.st.insert.run(
        f.chain,
        f.uid,
        f.topic,
        f.path,
        f.root,
        f.originalPath,
        f.size,
        String(f.mtimeNs),
        String(f.inode),
        f.checksum ?? null,
        f.message,
        f.announcedAt,
      );
    });
    return done.finally(() => {
      if (this.uncommitted.get(key) === entry) this.uncommitted.delete(key);
    });
  }

  /** The current row of `path` in `chain` (committed or queued). */
  lookup(chain: string, path: string): LedgerEntry | undefined {
    const pending = this.uncommitted.get(`${chain}\n${path}`);
    if (pending !== undefined) return pending;
    const row = this.ledger.read(() => this.st.byPath.get(chain, path)) as
      RawEntry | undefined;
    return row === undefined
      ? undefined
      : {
          id: row.id,
          uid: row.uid,
          root: row.root,
          size: row.size,
          mtimeNs: row.mtime_ns,
          inode: row.inode,
          deletedAt: row.deleted_at,
        };
  }

  /** When a file unpacked from `originalPath` was last announced (and not deleted since), if ever. */
  announcedFrom(chain: string, originalPath: string): number | undefined {
    const row = this.ledger.read(() =>
      this.st.byOriginal.get(chain, originalPath),
    ) as { at: number | null } | undefined;
    return row?.at ?? undefined;
  }

  pushed(
    chain: string,
    path: string,
    by: string,
    to: string,
    at = Date.now(),
  ): void {
    void this.ledger
      .write(() => this.st.pushed.run(at, by, to, chain, path))
      .catch(() => undefined);
  }

  acked(chain: string, path: string, by: string, at = Date.now()): void {
    void this.ledger
      .write(() => this.st.acked.run(at, by, chain, path))
      .catch(() => undefined);
  }

  /** The file is gone (deleted on schedule, or found missing). */
  deleted(chain: string, path: string, at = Date.now()): Promise<void> {
    return this.ledger.write(() => {
      this.st.unschedule.run(chain, path);
      this.st.deleted.run(at, chain, path);
    });
  }

  /** Delete `path` at `due` (ms); a later call moves it. */
  schedule(chain: string, path: string, due: number): Promise<void> {
    return this.ledger.write(() => this.st.schedule.run(chain, path, due));
  }

  /** Drop a scheduled deletion (it failed for good). */
  unschedule(chain: string, path: string): Promise<void> {
    return this.ledger.write(() => this.st.unschedule.run(chain, path));
  }

  /** Move a scheduled deletion of `path` to no earlier than `due`; nothing if none is scheduled. */
  postpone(chain: string, path: string, due: number): Promise<void> {
    return this.ledger.write(() => this.st.postpone.run(due, chain, path));
  }

  /** Scheduled deletions of `chain` due by `now`, oldest first. */
  dueDeletions(
    chain: string,
    now: number,
    limit = 500,
  ): Array<{ path: string; due: number }> {
    return this.ledger.read(() => this.st.due.all(chain, now, limit)) as Array<{
      path: string;
      due: number;
    }>;
  }

  /** When the next deletion of `chain` is due, if any. */
  nextDue(chain: string): number | undefined {
    const row = this.ledger.read(() => this.st.nextDue.get(chain)) as
      { due: number | null } | undefined;
    return row?.due ?? undefined;
  }

  /** How many deletions `chain` has scheduled. */
  scheduledCount(chain: string): number {
    return (this.ledger.read(() => this.st.count.get(chain)) as { n: number })
      .n;
  }

  /**
   * Current, undeleted announcements on a topic starting with `topic`
   * (posttroll's prefix rule), announced at or after `since` (ms), with id
   * above `after`, oldest first, at most `limit`.
   */
  catchup(
    topic: string,
    since: number,
    after: number,
    limit: number,
  ): CatchupRow[] {
    return this.ledger.read(() =>
      this.st.catchup.all(since, after, topic.length, topic, limit),
    ) as CatchupRow[];
  }

  /** Forget rows of `chain` announced before `before` (ms) whose file is deleted or replaced, or that are past it anyway. */
  prune(chain: string, before: number): number {
    this.ledger.flush();
    return this.st.prune.run(chain, before).changes;
  }

  /** A bucket section's start-after marker, if one was kept for this very origin (a changed origin starts afresh). */
  bucketMarker(chain: string, origin: string): string | undefined {
    this.ledger.flush();
    const row = this.st.marker.get(chain) as
      { origin: string; marker: string } | undefined;
    return row !== undefined && row.origin === origin ? row.marker : undefined;
  }

  /**
   * Keep a bucket section's marker: every key up to it was announced (or did
   * not match). Queued like any write; `flush()` commits it now.
   */
  setBucketMarker(
    chain: string,
    origin: string,
    marker: string,
    at = Date.now(),
  ): Promise<void> {
    return this.ledger.write(() =>
      this.st.setMarker.run(chain, origin, marker, at),
    );
  }

  /** Note a remote temporary before its upload starts; resolves once committed. */
  noteTemporary(t: NotedTemporary): Promise<void> {
    return this.ledger.write(() =>
      this.st.noteTemporary.run(
        t.scheme,
        t.host,
        t.port,
        t.user,
        t.path,
        t.final,
        t.chain,
        t.destination,
        t.notedAt,
      ),
    );
  }

  /** Strike off a remote temporary: renamed into place, or removed. */
  dropTemporary(
    t: Pick<RemoteTemporary, "scheme" | "host" | "port" | "path">,
  ): void {
    void this.ledger
      .write(() => this.st.dropTemporary.run(t.scheme, t.host, t.port, t.path))
      .catch(() => undefined);
  }

  /** The temporaries noted on one remote (committed), oldest first. */
  temporariesOn(scheme: string, host: string, port: number): NotedTemporary[] {
    return this.ledger.read(() =>
      this.st.temporariesOn.all(scheme, host, port),
    ) as NotedTemporary[];
  }

  /** Every temporary noted (committed first), oldest first. */
  allTemporaries(): NotedTemporary[] {
    this.ledger.flush();
    return this.st.allTemporaries.all() as NotedTemporary[];
  }

  /** Strike off temporaries given up, committed before this returns (throws if what is queued cannot be committed). */
  forgetTemporaries(
    rows: ReadonlyArray<
      Pick<RemoteTemporary, "scheme" | "host" | "port" | "path">
    >,
  ): void {
    this.ledger.flush();
    this.ledger.db.transaction(() => {
      for (const t of rows)
        this.st.dropTemporary.run(t.scheme, t.host, t.port, t.path);
    })();
  }

  /** The remotes (scheme, host, port) with temporaries noted. */
  temporaryRemotes(): Array<{ scheme: string; host: string; port: number }> {
    return this.ledger.read(() => this.st.temporaryRemotes.all()) as Array<{
      scheme: string;
      host: string;
      port: number;
    }>;
  }

  /** Commit what is queued now (throws if the commit fails). */
  flush(): void {
    this.ledger.flush();
  }

  close(): void {
    try {
      this.ledger.close();
    } catch (err) {
      this.log.error({ err, file: this.ledger.path }, "ledger close failed");
    }
  }
}

interface RawEntry {
  id: number;
  uid: string;
  root: string;
  size: number;
  mtime_ns: string;
  inode: string;
  deleted_at: number | null;
}

function prepare(db: Database): Statements {
  const p = (sql: string): Statement => db.prepare(sql);
  return {
    insert: p(
      "INSERT INTO files (chain, uid, topic, path, root, original_path, size, mtime_ns, inode, checksum, message, announced_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    supersede: p(
      "UPDATE files SET current = 0 WHERE chain = ? AND path = ? AND current = 1",
    ),
    byPath: p(
      "SELECT id, uid, root, size, mtime_ns, inode, deleted_at FROM files WHERE chain = ? AND path = ? AND current = 1 ORDER BY id DESC LIMIT 1",
    ),
    byOriginal: p(
      "SELECT max(announced_at) AS at FROM files WHERE chain = ? AND original_path = ? AND current = 1 AND deleted_at IS NULL",
    ),
    pushed: p(
      "UPDATE files SET pushes = pushes + 1, pushed_at = ?, pushed_by = ?, pushed_to = ? WHERE chain = ? AND path = ? AND current = 1",
    ),
    acked: p(
      "UPDATE files SET acked_at = ?, acked_by = ? WHERE chain = ? AND path = ? AND current = 1",
    ),
    deleted: p(
      "UPDATE files SET deleted_at = ? WHERE chain = ? AND path = ? AND deleted_at IS NULL",
    ),
    schedule: p(
      "INSERT INTO deletions (chain, path, due) VALUES (?, ?, ?) ON CONFLICT (chain, path) DO UPDATE SET due = excluded.due",
    ),
    postpone: p(
      "UPDATE deletions SET due = max(due, ?) WHERE chain = ? AND path = ?",
    ),
    unschedule: p("DELETE FROM deletions WHERE chain = ? AND path = ?"),
    due: p(
      "SELECT path, due FROM deletions WHERE chain = ? AND due <= ? ORDER BY due LIMIT ?",
    ),
    nextDue: p("SELECT min(due) AS due FROM deletions WHERE chain = ?"),
    count: p("SELECT count(*) AS n FROM deletions WHERE chain = ?"),
    catchup: p(
      "SELECT id, chain, path, message FROM files WHERE announced_at >= ? AND id > ? AND current = 1 AND deleted_at IS NULL AND substr(topic, 1, ?) = ? ORDER BY id LIMIT ?",
    ),
    prune: p("DELETE FROM files WHERE chain = ? AND announced_at < ?"),
    marker: p("SELECT origin, marker FROM bucket_markers WHERE chain = ?"),
    setMarker: p(
      "INSERT INTO bucket_markers (chain, origin, marker, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (chain) DO UPDATE SET origin = excluded.origin, marker = excluded.marker, updated_at = excluded.updated_at",
    ),
    noteTemporary: p(
      "INSERT OR REPLACE INTO remote_temporaries (scheme, host, port, user, path, final, chain, destination, noted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    dropTemporary: p(
      "DELETE FROM remote_temporaries WHERE scheme = ? AND host = ? AND port = ? AND path = ?",
    ),
    temporariesOn: p(
      "SELECT scheme, host, port, user, path, final, chain, destination, noted_at AS notedAt FROM remote_temporaries WHERE scheme = ? AND host = ? AND port = ? ORDER BY noted_at",
    ),
    temporaryRemotes: p(
      "SELECT DISTINCT scheme, host, port FROM remote_temporaries",
    ),
    allTemporaries: p(
      "SELECT scheme, host, port, user, path, final, chain, destination, noted_at AS notedAt FROM remote_temporaries ORDER BY noted_at",
    ),
  };
}
