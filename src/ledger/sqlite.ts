/**
 * The durable memory of a daemon: one SQLite file per daemon in its state
 * directory, in WAL mode so a query tool can read it while the daemon
 * writes. This module is the only one that imports better-sqlite3; the
 * server's and the client's ledgers build their tables on it.
 *
 * Writes are batched: `write()` queues a change and every change queued in
 * the same turn of the event loop commits in one transaction, so a burst of
 * thousands of files costs a few fsyncs rather than one per file. A commit
 * blocks the event loop (better-sqlite3 is synchronous) for as long as the
 * disk takes to write its pages; so the next one waits twice as long after
 * it (at most 5 ms), which keeps commits to about a third of the loop's time
 * and makes batches grow when the disk is slow or the burst is large. A commit
 * that fails for a reason of the disk (full, I/O error, locked) keeps its
 * batch and is retried with backoff: the daemon goes on moving files and
 * the ledger catches up once there is room again.
 *
 * Reads share a transaction per turn: `read()` opens one at the first read
 * of a turn and ends it when the turn ends (or when a commit is due), so
 * SQLite takes its WAL read lock once a turn instead of once a statement
 * (four `fcntl` calls each, a few microseconds apiece on a VM).
 */
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import type { Database } from "better-sqlite3";
import { ClosedError, ErrorCode, LedgerError } from "../errors.js";

export type { Database } from "better-sqlite3";

export interface LedgerSchema {
  /** Names the ledger kind in errors and in its meta table: "server" | "client". */
  kind: string;
  /** migrations[i] is the SQL that brings version i to i+1; the schema's version is migrations.length. */
  migrations: readonly string[];
}

export interface LedgerOpenOptions {
  /** Open for reading only (query tools): nothing is created or migrated. */
  readonly?: boolean;
  /** Called each time a batched commit fails; the batch is kept and retried. */
  onWriteError?: (err: Error, pending: number) => void;
}

/** Changes committed in one transaction at most (a bigger queue commits at once, in several). */
const BATCH_MAX = 1000;

/** The longest a queued change waits for its commit because the previous one was slow, ms. */
const MAX_COMMIT_GAP_MS = 5;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5000;
/** How long a statement waits for another connection's lock (a query tool's read) before failing. */
const BUSY_TIMEOUT_MS = 5000;

/** SQLite result codes that say "the disk or a lock", not "this change is wrong": retry those. */
const TRANSIENT =
  /^SQLITE_(FULL|IOERR|BUSY|LOCKED|CANTOPEN|READONLY|PROTOCOL|NOMEM)/;
const CORRUPT = /^SQLITE_(CORRUPT|NOTADB)/;
const UNREADABLE = /^SQLITE_(CANTOPEN|PERM|READONLY|AUTH|IOERR)/;

interface QueuedWrite {
  fn: (db: Database) => void;
  resolve: () => void;
  reject: (err: unknown) => void;
}

function sqliteCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "";
}

/** Where a daemon's ledger lives. */
export function ledgerPath(stateDir: string, name: string): string {
  // For `npm run bench` only: the same run with and without the ledger's disk writes. Nothing survives a restart.
  if (process.env["MOVE_IT_LEDGER"] === "memory") return ":memory:";
  return join(stateDir, `${name}.ledger.sqlite`);
}

export class Ledger {
  readonly path: string;
  readonly db: Database;
  #queue: QueuedWrite[] = [];
  #scheduled: { cancel(): void } | undefined;
  /** performance.now() when the last commit ended, and how long it took, ms. */
  #lastCommitEnd = 0;
  #lastCommitMs = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryMs = 0;
  #writeErrors = 0;
  #commits = 0;
  #committed = 0;
  #closed = false;
  /** A read transaction is open until this turn ends (see `read`). */
  #reading = false;
  readonly #begin: { run(): unknown };
  readonly #end: { run(): unknown };
  readonly #onWriteError: ((err: Error, pending: number) => void) | undefined;

  private constructor(path: string, db: Database, opts: LedgerOpenOptions) {
    this.path = path;
    this.db = db;
    this.#onWriteError = opts.onWriteError;
    this.#begin = db.prepare("BEGIN");
    this.#end = db.prepare("COMMIT");
  }

  /**
   * Open (or create) the ledger at `path` and bring its schema up to date.
   * @throws LedgerError naming the file and what to do when it is corrupt,
   *   unreadable, of a newer schema or of another kind.
   */
  static open(
    path: string,
    schema: LedgerSchema,
    opts: LedgerOpenOptions = {},
  ): Ledger {
    const readonly = opts.readonly === true;
    let db: Database;
    try {
      if (!readonly) mkdirSync(dirname(path), { recursive: true });
      db = new BetterSqlite3(path, { readonly, fileMustExist: readonly });
    } catch (err) {
      throw openError(path, err);
    }
    try {
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      if (!readonly) {
        db.pragma("journal_mode = WAL");
        db.pragma("synchronous = NORMAL");
      }
      const check = db.pragma("quick_check", { simple: true });
      if (check !== "ok") {
        throw new LedgerError(
          corruptText(path, String(check)),
          path,
          ErrorCode.LEDGER_CORRUPT,
        );
      }
      migrate(db, path, schema, readonly);
    } catch (err) {
      db.close();
      throw err instanceof LedgerError ? err : openError(path, err);
    }
    return new Ledger(path, db, opts);
  }

  /** Changes queued and not yet committed. */
  get pendingWrites(): number {
    return this.#queue.length;
  }

  /** Transactions committed so far, and the changes they held: their ratio is the batching achieved. */
  get commits(): number {
    return this.#commits;
  }

  get changesCommitted(): number {
    return this.#committed;
  }

  /** The counters an operator watches: queued changes, failed commits, commits and the changes they held. */
  counters(): {
    pendingWrites: number;
    writeErrors: number;
    commits: number;
    changesCommitted: number;
  } {
    return {
      pendingWrites: this.#queue.length,
      writeErrors: this.#writeErrors,
      commits: this.#commits,
      changesCommitted: this.#committed,
    };
  }

  /** Commits that failed so far (each is retried). */
  get writeErrors(): number {
    return this.#writeErrors;
  }

  /**
   * Queue a change. Changes queued together commit in one transaction at
   * the next flush; the promise resolves once this one is committed. It
   * rejects only when the change itself is wrong (a constraint, a bug), or
   * when the ledger is closed before the change could be committed.
   */
  write(fn: (db: Database) => void): Promise<void> {
    if (this.#closed)
      return Promise.reject(new ClosedError(`ledger ${this.path} is closed`));
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ fn, resolve, reject });
      if (this.#retryTimer !== undefined) return; // backing off after a failed commit
      if (this.#queue.length >= BATCH_MAX) this.#flushQuietly();
      else this.#scheduled ??= this.#schedule();
    });
  }

  /**
   * Run `fn`, which reads (and never writes) through prepared statements.
   * Reads of one turn run in one read transaction, ended at the turn's end or
   * before the next commit; they see what was committed when the first of
   * them ran.
   */
  read<T>(fn: () => T): T {
    if (!this.#reading && !this.#closed && !this.db.inTransaction) {
      this.#begin.run();
      this.#reading = true;
      setImmediate(() => this.#endRead());
    }
    return fn();
  }

  #endRead(): void {
    if (!this.#reading) return;
    this.#reading = false;
    if (this.db.open && this.db.inTransaction) this.#end.run();
  }

  /**
   * Commit every queued change now.
   * @throws the commit's error when the disk refuses it (the changes stay queued).
   */
  flush(): void {
    this.#scheduled?.cancel();
    this.#scheduled = undefined;
    this.#endRead();
    const started = performance.now();
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, BATCH_MAX);
      try {
        this.db.transaction(() => {
          for (const w of batch) w.fn(this.db);
        })();
      } catch (err) {
        if (TRANSIENT.test(sqliteCode(err))) {
          this.#queue.unshift(...batch);
          throw err;
        }
        // One change is at fault: commit the others one by one, reject the culprits.
        this.#commitEach(batch);
        continue;
      }
      this.#commits++;
      this.#committed += batch.length;
      for (const w of batch) w.resolve();
    }
    this.#lastCommitEnd = performance.now();
    this.#lastCommitMs = this.#lastCommitEnd - started;
  }

  /** The next flush: this turn's end, or later if the last commit was slow and ended a moment ago. */
  #schedule(): { cancel(): void } {
    // An in-memory ledger (library use, tests) has no disk to wait for.
    const gap =
      this.path === ":memory:"
        ? 0
        : Math.min(MAX_COMMIT_GAP_MS, 2 * this.#lastCommitMs) -
          (performance.now() - this.#lastCommitEnd);
    if (gap < 1) {
      const immediate = setImmediate(() => this.#flushQuietly());
      return { cancel: () => clearImmediate(immediate) };
    }
    const timer = setTimeout(() => this.#flushQuietly(), Math.ceil(gap));
    return { cancel: () => clearTimeout(timer) };
  }

  /** Flush what can be flushed, then close the database. Queued changes that could not be committed reject. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    try {
      this.flush();
    } catch {
      // The disk still refuses: what is left is reported to its writers below.
    }
    const left = this.#queue.splice(0);
    for (const w of left)
      w.reject(
        new ClosedError(
          `ledger ${this.path} closed before the change was saved`,
        ),
      );
    this.#endRead();
    this.db.close();
  }

  #commitEach(batch: QueuedWrite[]): void {
    for (let i = 0; i < batch.length; i++) {
      const w = batch[i]!;
      try {
        this.db.transaction(() => w.fn(this.db))();
        this.#commits++;
        this.#committed++;
        w.resolve();
      } catch (err) {
        if (TRANSIENT.test(sqliteCode(err))) {
          this.#queue.unshift(...batch.slice(i));
          throw err;
        }
        w.reject(err);
      }
    }
  }

  #flushQuietly(): void {
    this.#scheduled = undefined;
    this.#retryTimer = undefined;
    if (this.#closed) return;
    try {
      this.flush();
      this.#retryMs = 0;
    } catch (err) {
      this.#writeErrors++;
      this.#retryMs = Math.min(
        RETRY_MAX_MS,
        Math.max(RETRY_MIN_MS, this.#retryMs * 2),
      );
      this.#retryTimer = setTimeout(() => this.#flushQuietly(), this.#retryMs);
      this.#onWriteError?.(
        err instanceof Error ? err : new Error(String(err)),
        this.#queue.length,
      );
    }
  }
}

function migrate(
  db: Database,
  path: string,
  schema: LedgerSchema,
  readonly: boolean,
): void {
  const latest = schema.migrations.length;
  const hasMeta =
    db
      .prepare(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'move_it_meta'",
      )
      .get() !== undefined;
  const version = db.pragma("user_version", { simple: true }) as number;
  if (hasMeta) {
    const row = db
      .prepare("SELECT value FROM move_it_meta WHERE key = 'kind'")
      .get() as { value: string } | undefined;
    if (row !== undefined && row.value !== schema.kind) {
      throw new LedgerError(
        `${path} is a move_it ${row.value} ledger, not a ${schema.kind} ledger: give each daemon its own state directory (--state-dir)`,
        path,
        ErrorCode.LEDGER_KIND,
      );
    }
  } else if (version !== 0 || tableCount(db) > 0) {
    throw new LedgerError(
      `${path} is an SQLite file but not a move_it ledger: move it away or choose another state directory (--state-dir)`,
      path,
      ErrorCode.LEDGER_KIND,
    );
  }
  if (version > latest) {
    throw new LedgerError(
      `${path} has ledger schema version ${version}, but this move_it knows versions up to ${latest}: ` +
        "run the newer move_it that wrote it, or move the file aside to start with an empty ledger",
      path,
      ErrorCode.LEDGER_TOO_NEW,
    );
  }
  if (version === latest) return;
  if (readonly) {
    throw new LedgerError(
      `${path} has ledger schema version ${version}, older than this move_it's ${latest}: start the daemon once to upgrade it`,
      path,
      ErrorCode.LEDGER_UNREADABLE,
    );
  }
  db.transaction(() => {
    db.exec(
      "CREATE TABLE IF NOT EXISTS move_it_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    );
    db.prepare(
      "INSERT OR REPLACE INTO move_it_meta (key, value) VALUES ('kind', ?)",
    ).run(schema.kind);
    for (let v = version; v < latest; v++) db.exec(schema.migrations[v]!);
    db.pragma(`user_version = ${latest}`);
  })();
}

function tableCount(db: Database): number {
  return (
    db
      .prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'")
      .get() as { n: number }
  ).n;
}

function corruptText(path: string, detail: string): string {
  return (
    `ledger ${path} is corrupt (${detail}): stop the daemon and move the file aside ` +
    `(mv ${path} ${path}.corrupt) to start with an empty ledger, or restore it from a backup`
  );
}

function openError(path: string, err: unknown): LedgerError {
  const code = sqliteCode(err);
  const detail = err instanceof Error ? err.message : String(err);
  if (CORRUPT.test(code))
    return new LedgerError(
      corruptText(path, detail),
      path,
      ErrorCode.LEDGER_CORRUPT,
      { cause: err },
    );
  const hint =
    UNREADABLE.test(code) || /EACCES|EPERM|ENOENT|EROFS/.test(detail)
      ? "check that the state directory exists and that this user may read and write it (--state-dir)"
      : "check the file and the state directory (--state-dir)";
  return new LedgerError(
    `cannot open ledger ${path}: ${detail}; ${hint}`,
    path,
    ErrorCode.LEDGER_UNREADABLE,
    { cause: err },
  );
}
