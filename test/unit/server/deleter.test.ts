import assert from "node:assert/strict";
import { access, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { nullLogger } from "../../../src/log.js";
import { Deleter } from "../../../src/server/deleter.js";
import { ServerLedger } from "../../../src/server/ledger.js";
import { tempDir } from "../../helpers/tmp.js";
import { waitFor } from "../../helpers/wait.js";

const exists = (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );

test("server/deleter - deletes after remove_delay, not before (mock timers)", async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, "a.dat");
  await writeFile(file, "x");
  const ledger = ServerLedger.open(undefined, nullLogger);
  t.after(() => ledger.close());
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 });
  const deleter = new Deleter({
    chain: "c",
    ledger,
    log: nullLogger,
    now: () => Date.now(),
  });
  await deleter.start();
  void deleter.schedule(file, 30);
  t.mock.timers.tick(29_999);
  await new Promise((r) => setImmediate(r));
  assert.equal(await exists(file), true, "deleted early");
  t.mock.timers.tick(1);
  t.mock.timers.reset();
  await waitFor(async () => !(await exists(file)), "deletion");
  await waitFor(() => deleter.pending === 0, "schedule emptied");
  await deleter.close();
});

test("server/deleter - a file being served is not deleted; postpone moves a due deletion", async (t) => {
  const dir = await tempDir(t);
  const [busy, kept] = [join(dir, "busy.dat"), join(dir, "kept.dat")];
  await writeFile(busy, "x");
  await writeFile(kept, "y");
  const ledger = ServerLedger.open(undefined, nullLogger);
  t.after(() => ledger.close());
  let serving = true;
  const deleter = new Deleter({
    chain: "c",
    ledger,
    log: nullLogger,
    busy: (p) => serving && p === busy,
  });
  await deleter.start();
  t.after(() => deleter.close());
  void deleter.schedule(busy, 0);
  void deleter.schedule(kept, 0.2);
  deleter.postpone(kept, 3600);
  ledger.flush();
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(await exists(busy), true, "deleted while being served");
  assert.equal(await exists(kept), true, "postponed deletion ran");
  serving = false;
  await waitFor(
    async () => !(await exists(busy)),
    "deletion once the push ended",
    5000,
  );
  assert.equal(await exists(kept), true);
});

test("server/deleter - the schedule survives a restart in the ledger; an old JSON schedule is migrated", async (t) => {
  const dir = await tempDir(t);
  const state = join(dir, "state");
  await mkdir(state);
  const [soon, later, legacy] = [
    join(dir, "soon.dat"),
    join(dir, "later.dat"),
    join(dir, "legacy.dat"),
  ];
  for (const f of [soon, later, legacy]) await writeFile(f, "x");
  const first = ServerLedger.open(state, nullLogger);
  const d1 = new Deleter({ chain: "c", ledger: first, log: nullLogger });
  await d1.start();
  void d1.schedule(soon, 0.5);
  void d1.schedule(later, 3600);
  await d1.close();
  first.close();
  assert.equal(await exists(soon), true, "closing must not delete");
  const json = join(state, "c.deletions.json");
  await writeFile(
    json,
    JSON.stringify([{ path: legacy, due: Date.now() - 1000 }]),
  );
  const second = ServerLedger.open(state, nullLogger);
  t.after(() => second.close());
  const d2 = new Deleter({
    chain: "c",
    ledger: second,
    log: nullLogger,
    legacyStateFile: json,
  });
  await d2.start();
  t.after(() => d2.close());
  assert.equal(await exists(json), false, "old schedule file left behind");
  await waitFor(
    async () => !(await exists(legacy)),
    "migrated overdue deletion",
  );
  await waitFor(async () => !(await exists(soon)), "restored deletion");
  assert.equal(await exists(later), true, "deleted before its time");
  await waitFor(() => d2.pending === 1, "schedule holds only the later one");
});
