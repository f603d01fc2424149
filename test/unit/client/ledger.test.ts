import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { ClientLedger } from "../../../src/client/ledger.js";
import { LedgerError } from "../../../src/errors.js";
import { announce } from "../../helpers/client-fakes.js";
import { tempDir } from "../../helpers/tmp.js";

const A = "10.0.0.1:9201";
const B = "10.0.0.2:9211";

test("client/ledger - a file and its offers survive closing and reopening the file", async (t) => {
  const path = join(await tempDir(t), "client.ledger.sqlite");
  let ledger = ClientLedger.open(path);
  const book = ledger.book("c");
  const fromB = announce("f.dat", B);
  void book.offer("f.dat", announce("f.dat", A), A, "p1:9010");
  void book.offer("f.dat", fromB, B, "p2:9010");
  void book.sent("f.dat", A);
  void book.offer("g.dat", announce("g.dat", A), A, "p1:9010");
  void book.sent("g.dat", A);
  void book.delivered("g.dat", {
    from: A,
    destination: "/out/g.dat",
    checksum: "sha256:00",
  });
  ledger.close();

  ledger = ClientLedger.open(path);
  t.after(() => ledger.close());
  const again = ledger.book("c");
  assert.equal(again.get("f.dat")?.state, "in_flight");
  assert.equal(again.get("f.dat")?.attempts, 1);
  assert.equal(again.get("f.dat")?.deliveredFrom, A);
  assert.equal(again.get("g.dat")?.state, "delivered");
  assert.deepEqual(
    again.offers("f.dat").map((o) => o.address),
    [A, B],
  );
  assert.equal(again.offers("f.dat")[1]!.msg.encode(), fromB.encode());
  assert.equal(
    ledger.book("other").get("f.dat"),
    undefined,
    "chains do not see each other's rows",
  );
  assert.deepEqual(
    again.due(Date.now() + 1, 10, () => false).map((r) => r.key),
    ["f.dat"],
  );
  assert.deepEqual(
    again.servers().map((s) => [s.provider, s.address]),
    [
      ["p1:9010", A],
      ["p2:9010", B],
    ],
  );
});

test("client/ledger - a failed file is due at its retry time; a provider coming back wakes it", async (t) => {
  const ledger = ClientLedger.open(":memory:");
  t.after(() => ledger.close());
  let now = 1_000_000;
  const book = ledger.book("c", () => now);
  void book.offer("f.dat", announce("f.dat", A), A, "p1:9010");
  void book.failed("f.dat", "disk full", now + 60_000);
  await ledger.ledger.write(() => undefined);
  assert.deepEqual(
    book.due(now, 10, () => false),
    [],
  );
  assert.equal(book.nextDue(), now + 60_000);
  assert.deepEqual(
    book.due(now + 60_000, 10, () => false).map((r) => r.key),
    ["f.dat"],
  );
  await book.wake("p2:9010");
  assert.deepEqual(
    book.due(now, 10, () => false),
    [],
    "another provider's return does not wake it",
  );
  await book.wake("p1:9010");
  assert.deepEqual(
    book.due(now, 10, () => false).map((r) => r.key),
    ["f.dat"],
  );
  // a new announcement of a failed file makes it pending again, due now
  void book.failed("f.dat", "disk full", now + 60_000);
  now += 10;
  void book.offer("f.dat", announce("f.dat", A), A, "p1:9010");
  await ledger.ledger.write(() => undefined);
  assert.equal(book.get("f.dat")?.state, "pending");
  assert.deepEqual(
    book.due(now, 10, () => false).map((r) => r.key),
    ["f.dat"],
  );
});

test("client/ledger - delivered and given-up rows are pruned after the retention, others kept", async (t) => {
  const ledger = ClientLedger.open(":memory:");
  t.after(() => ledger.close());
  let now = 1_000_000;
  const book = ledger.book("c", () => now);
  for (const uid of ["d.dat", "g.dat", "p.dat"])
    void book.offer(uid, announce(uid, A), A, "p1:9010");
  void book.delivered("d.dat", { from: A, destination: "/out/d.dat" });
  void book.givenUp("g.dat", "too old");
  now += 10_000;
  assert.equal(await ledger.prune("c", 60_000, now), 0);
  assert.equal(await ledger.prune("c", 5_000, now), 2);
  assert.equal(book.get("d.dat"), undefined);
  assert.equal(book.get("p.dat")?.state, "pending");
  assert.deepEqual(book.offers("d.dat"), []);
});

test("client/ledger - a file that is not a ledger is refused with an error naming it", async (t) => {
  const path = join(await tempDir(t), "client.ledger.sqlite");
  await writeFile(
    path,
    "this is not a database, just some text that is long enough to be read as a header".repeat(
      20,
    ),
  );
  assert.throws(
    () => ClientLedger.open(path),
    (err: unknown) => err instanceof LedgerError && err.message.includes(path),
  );
});
