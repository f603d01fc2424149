import assert from "node:assert/strict";
import { access, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { nullLogger } from "../../../src/log.js";
import { Deleter } from "../../../src/server/deleter.js";
import { tempDir } from "../../helpers/tmp.js";
import { waitFor } from "../../helpers/wait.js";

const exists = (p: string): Promise<boolean> => access(p).then(() => true, () => false);

test("server/deleter - deletes after remove_delay, not before (mock timers)", async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, "a.dat");
  await writeFile(file, "x");
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 });
  const deleter = new Deleter({ log: nullLogger, now: () => Date.now() });
  deleter.schedule(file, 30);
  t.mock.timers.tick(29_999);
  await new Promise((r) => setImmediate(r));
  assert.equal(await exists(file), true, "deleted early");
  t.mock.timers.tick(1);
  t.mock.timers.reset();
  await waitFor(async () => !(await exists(file)), "deletion");
  assert.equal(deleter.pending, 0);
});

test("server/deleter - the schedule survives a restart and keeps its due time", async (t) => {
  const dir = await tempDir(t);
  const state = join(dir, "state", "chain.deletions.json");
  const soon = join(dir, "soon.dat");
  const later = join(dir, "later.dat");
  await writeFile(soon, "x");
  await writeFile(later, "y");
  const first = new Deleter({ stateFile: state, log: nullLogger });
  await first.start();
  first.schedule(soon, 0.3);
  first.schedule(later, 3600);
  await first.close();
  const saved = JSON.parse(await readFile(state, "utf8")) as { path: string; due: number }[];
  assert.deepEqual(saved.map((e) => e.path).sort(), [later, soon].sort());
  assert.equal(await exists(soon), true, "closing must not delete");
  const second = new Deleter({ stateFile: state, log: nullLogger });
  await second.start();
  t.after(() => second.close());
  assert.equal(second.pending, 2);
  await waitFor(async () => !(await exists(soon)), "restored deletion");
  assert.equal(await exists(later), true, "deleted before its time");
  await waitFor(async () => {
    const s = JSON.parse(await readFile(state, "utf8")) as unknown[];
    return s.length === 1;
  }, "schedule rewritten");
});
