import assert from "node:assert/strict";
import { mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setImmediate as nextMacrotask } from "node:timers/promises";
import { test } from "node:test";
import {
  isLocalDir,
  learnDir,
  linkAs,
  lstatOf,
  realpathOf,
  renameTo,
  statBig,
  statOf,
  unlinkOf,
} from "../../../src/util/local-fs.js";
import { tempDir, tmpfs } from "../../helpers/tmp.js";

/** "now" when `p` settled before the next macrotask (no thread-pool round trip), else "pool". */
async function howSettled(p: Promise<unknown>): Promise<"now" | "pool"> {
  let settled = false;
  void p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await Promise.resolve();
  await Promise.resolve();
  const now = settled;
  await p.catch(() => undefined);
  await nextMacrotask();
  return now ? "now" : "pool";
}

test("util/local-fs - an ext4/tmpfs directory is local once learnt; /proc is not, and unknown directories go through the pool", async (t) => {
  const dir = await tempDir(t);
  const fresh = join(dir, "fresh");
  await mkdir(fresh);
  await writeFile(join(fresh, "a"), "x");
  assert.equal(
    isLocalDir(fresh),
    false,
    "unknown at first: asked in the background, the pool meanwhile",
  );
  assert.equal(await howSettled(statOf(join(fresh, "a"))), "pool");
  assert.equal(await learnDir(fresh), true);
  assert.equal(isLocalDir(fresh), true);
  assert.equal(await howSettled(statOf(join(fresh, "a"))), "now");
  const shm = await tmpfs(t, "1m");
  assert.equal(await learnDir(shm), true, "tmpfs");
  assert.equal(
    await learnDir("/proc/self"),
    false,
    "procfs is not in the local list",
  );
  assert.equal(isLocalDir("/proc/self"), false);
});

test("util/local-fs - calls made on the spot behave as fs.promises: results, links, renames, errors as rejections with their code", async (t) => {
  const dir = await tempDir(t);
  await learnDir(dir);
  const a = join(dir, "a");
  await writeFile(a, "hello");
  assert.equal((await statOf(a)).size, 5);
  assert.equal((await statBig(a)).size, 5n);
  await linkAs(a, join(dir, "b"));
  assert.equal((await statOf(join(dir, "b"))).nlink, 2);
  await assert.rejects(linkAs(a, join(dir, "b")), { code: "EEXIST" });
  await symlink(a, join(dir, "s"));
  assert.equal(await realpathOf(join(dir, "s")), a);
  assert.equal((await lstatOf(join(dir, "s"))).isSymbolicLink(), true);
  await renameTo(join(dir, "b"), join(dir, "c"));
  assert.equal(await readFile(join(dir, "c"), "utf8"), "hello");
  await unlinkOf(join(dir, "c"));
  await assert.rejects(statOf(join(dir, "c")), { code: "ENOENT" });
  await assert.rejects(realpathOf(join(dir, "missing")), { code: "ENOENT" });
  await assert.rejects(unlinkOf(join(dir, "missing")), { code: "ENOENT" });
});
