import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ErrorCode, LedgerError } from "../../../src/errors.js";
import {
  Ledger,
  ledgerPath,
  type LedgerSchema,
} from "../../../src/ledger/sqlite.js";
import { tempDir } from "../../helpers/tmp.js";
import { waitFor } from "../../helpers/wait.js";

const V1 =
  "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)";
const V2 = "ALTER TABLE item ADD COLUMN size INTEGER";
const schema = (migrations: string[], kind = "test"): LedgerSchema => ({
  kind,
  migrations,
});

function count(ledger: Ledger): number {
  return (
    ledger.db.prepare("SELECT count(*) AS n FROM item").get() as { n: number }
  ).n;
}

function insert(ledger: Ledger, name: string): Promise<void> {
  return ledger.write((db) =>
    db.prepare("INSERT INTO item (name) VALUES (?)").run(name),
  );
}

function ledgerError(code: string, text: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(
      err instanceof LedgerError,
      `expected a LedgerError, got ${String(err)}`,
    );
    assert.equal(err.code, code);
    assert.match(err.message, text);
    return true;
  };
}

test("ledger/sqlite - creates the file in WAL mode, migrates, and keeps rows across reopen", async (t) => {
  const dir = await tempDir(t);
  const path = ledgerPath(join(dir, "state"), "srv");
  assert.equal(path, join(dir, "state", "srv.ledger.sqlite"));
  let ledger = Ledger.open(path, schema([V1]));
  assert.equal(ledger.db.pragma("journal_mode", { simple: true }), "wal");
  await insert(ledger, "a");
  ledger.close();
  ledger = Ledger.open(path, schema([V1, V2]));
  assert.equal(ledger.db.pragma("user_version", { simple: true }), 2);
  await ledger.write((db) =>
    db.prepare("UPDATE item SET size = 3 WHERE name = 'a'").run(),
  );
  assert.deepEqual(ledger.db.prepare("SELECT name, size FROM item").all(), [
    { name: "a", size: 3 },
  ]);
  ledger.close();
});

test("ledger/sqlite - writes queued in one turn commit together, and all of them resolve", async (t) => {
  const dir = await tempDir(t);
  const ledger = Ledger.open(join(dir, "l.sqlite"), schema([V1]));
  t.after(() => ledger.close());
  const before = ledger.db.pragma("wal_checkpoint(PASSIVE)");
  assert.ok(before);
  const writes = Array.from({ length: 2500 }, (_, i) =>
    insert(ledger, `f${i}`),
  );
  assert.ok(
    ledger.pendingWrites > 0,
    "nothing is committed before the batch runs",
  );
  await Promise.all(writes);
  assert.equal(ledger.pendingWrites, 0);
  assert.equal(count(ledger), 2500);
  // Two full batches of 1000 commit as they fill, the last 500 at the turn's end.
  assert.deepEqual(ledger.counters(), {
    pendingWrites: 0,
    writeErrors: 0,
    commits: 3,
    changesCommitted: 2500,
  });
});

test("ledger/sqlite - a wrong change rejects alone; the rest of its batch commits", async (t) => {
  const dir = await tempDir(t);
  const ledger = Ledger.open(join(dir, "l.sqlite"), schema([V1]));
  t.after(() => ledger.close());
  const results = await Promise.allSettled([
    insert(ledger, "x"),
    insert(ledger, "x"),
    insert(ledger, "y"),
  ]);
  assert.deepEqual(
    results.map((r) => r.status),
    ["fulfilled", "rejected", "fulfilled"],
  );
  assert.equal(count(ledger), 2);
  assert.equal(
    ledger.counters().commits,
    2,
    "the good changes commit one by one",
  );
  assert.equal(ledger.counters().changesCommitted, 2);
});

test("ledger/sqlite - a reader opened read-only sees what the writer committed, while it writes", async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, "l.sqlite");
  const writer = Ledger.open(path, schema([V1]));
  t.after(() => writer.close());
  await insert(writer, "a");
  const reader = Ledger.open(path, schema([V1]), { readonly: true });
  t.after(() => reader.close());
  assert.equal(count(reader), 1);
  await insert(writer, "b");
  assert.equal(count(reader), 2);
  assert.throws(
    () => reader.db.prepare("INSERT INTO item (name) VALUES ('c')").run(),
    /readonly/,
  );
});

test("ledger/sqlite - a file that is not a database is refused, named, with what to do", async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, "l.sqlite");
  writeFileSync(path, "this is not sqlite ".repeat(500));
  assert.throws(
    () => Ledger.open(path, schema([V1])),
    ledgerError(
      ErrorCode.LEDGER_CORRUPT,
      /l\.sqlite is corrupt.*move the file aside/,
    ),
  );
  assert.match(
    readFileSync(path, "utf8"),
    /^this is not sqlite/,
    "the bad file is left as it was",
  );
});

test("ledger/sqlite - a damaged page is found at open", async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, "l.sqlite");
  const ledger = Ledger.open(path, schema([V1]));
  await Promise.all(
    Array.from({ length: 3000 }, (_, i) =>
      insert(ledger, `name-${i}-${"x".repeat(40)}`),
    ),
  );
  ledger.db.pragma("wal_checkpoint(TRUNCATE)");
  ledger.close();
  const bytes = readFileSync(path);
  const pageSize = 4096;
  // Scribble over the middle of the file, leaving the header intact.
  bytes.fill(0x5a, pageSize * 3, pageSize * 6);
  writeFileSync(path, bytes);
  assert.throws(
    () => Ledger.open(path, schema([V1])),
    ledgerError(ErrorCode.LEDGER_CORRUPT, /corrupt/),
  );
});

test("ledger/sqlite - a newer schema, another kind, or a foreign SQLite file is refused", async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, "l.sqlite");
  Ledger.open(path, schema([V1, V2], "server")).close();
  assert.throws(
    () => Ledger.open(path, schema([V1], "server")),
    ledgerError(ErrorCode.LEDGER_TOO_NEW, /schema version 2.*up to 1/),
  );
  assert.throws(
    () => Ledger.open(path, schema([V1, V2], "client")),
    ledgerError(ErrorCode.LEDGER_KIND, /server ledger, not a client ledger/),
  );
  const foreign = join(dir, "foreign.sqlite");
  const other = Ledger.open(foreign, schema([V1]));
  other.db.exec("DROP TABLE move_it_meta");
  other.close();
  assert.throws(
    () => Ledger.open(foreign, schema([V1])),
    ledgerError(ErrorCode.LEDGER_KIND, /not a move_it ledger/),
  );
});

test("ledger/sqlite - a state directory that cannot be created is an error naming the file", async (t) => {
  const dir = await tempDir(t);
  writeFileSync(join(dir, "plain-file"), "");
  const path = join(dir, "plain-file", "state", "l.sqlite");
  assert.throws(
    () => Ledger.open(path, schema([V1])),
    ledgerError(
      ErrorCode.LEDGER_UNREADABLE,
      /cannot open ledger .*plain-file.*--state-dir/,
    ),
  );
  assert.throws(
    () =>
      Ledger.open(join(dir, "missing.sqlite"), schema([V1]), {
        readonly: true,
      }),
    ledgerError(ErrorCode.LEDGER_UNREADABLE, /missing\.sqlite/),
  );
});

test("ledger/sqlite - a full disk keeps the changes queued and commits them once there is room", async (t) => {
  if (process.getuid?.() !== 0) {
    if (process.env["CI"] === "true")
      assert.fail("the full-disk test needs root to mount a tmpfs");
    t.skip("needs root to mount a small tmpfs");
    return;
  }
  // Not under tempDir(): its removal would run before the unmount.
  const mnt = mkdtempSync(join(tmpdir(), "move_it-full-"));
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt]);
  let ledger: Ledger | undefined;
  t.after(() => {
    ledger?.close();
    execFileSync("umount", [mnt]);
    rmSync(mnt, { recursive: true, force: true });
  });
  const errors: number[] = [];
  ledger = Ledger.open(join(mnt, "l.sqlite"), schema([V1]), {
    onWriteError: (_e, pending) => errors.push(pending),
  });
  await insert(ledger, "first");
  // Fill the filesystem to the last byte.
  const filler = join(mnt, "filler");
  try {
    writeFileSync(filler, Buffer.alloc(4 * 1024 * 1024));
  } catch {
    // ENOSPC: what fitted stays.
  }
  const big = "y".repeat(500);
  const open = ledger;
  const pending = Array.from({ length: 300 }, (_, i) =>
    insert(open, `${i}-${big}`),
  );
  await waitFor(() => errors.length > 0, "a failed commit reported");
  assert.ok(open.writeErrors > 0);
  assert.ok(open.pendingWrites > 0, "the changes stay queued");
  rmSync(filler);
  await Promise.all(pending);
  assert.equal(count(open), 301);
});

test("ledger/sqlite - reads of one turn share one read transaction, ended by the turn or by the next commit", async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, "l.sqlite");
  const ledger = Ledger.open(path, schema([V1]));
  t.after(() => ledger.close());
  const other = Ledger.open(path, schema([V1]));
  t.after(() => other.close());
  await insert(ledger, "a");

  assert.equal(
    ledger.read(() => count(ledger)),
    1,
  );
  assert.equal(
    ledger.db.inTransaction,
    true,
    "the read transaction stays open for the rest of the turn",
  );
  assert.equal(
    ledger.read(() => count(ledger)),
    1,
  );
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.equal(ledger.db.inTransaction, false, "and ends with the turn");

  // A write queued after a read of the same turn is committed by the flush, not held in the read transaction.
  assert.equal(
    ledger.read(() => count(ledger)),
    1,
  );
  const written = insert(ledger, "b");
  ledger.flush();
  await written;
  assert.equal(ledger.db.inTransaction, false);
  assert.equal(count(other), 2, "another connection sees the commit at once");
  assert.equal(
    ledger.read(() => count(ledger)),
    2,
    "a read after the commit sees it",
  );
});
